"""Throttled campaigns: at most M ``PolymerPropertiesWorkChain`` active at once, resumable, never twice per key.

Built on ``aiida-submission-controller`` (``BaseSubmissionController``): the campaign's processes are kept in the
process group ``<polymer group>/runs``; a process is identified by its extra ``polyinf_campaign``
(``<polymer uuid>|<protocol>|<seed>``). A key is "submitted" as soon as any work chain carries it, in the group or not
(campaigns submitted before the throttle existed), whatever its state: failed runs are relaunched only by
``polyinf restart-failed``, which moves the key onto the new run.

One call of :meth:`CampaignController.submit_new_batch` fills the free slots (M minus the unsealed processes of the
group) and returns; :func:`run_campaign` with ``wait=True`` keeps topping up until every polymer is done.
"""

from __future__ import annotations

import dataclasses
import time
import typing as t

from aiida import orm
from aiida_submission_controller import BaseSubmissionController
from pydantic import PrivateAttr

from ..data.polymer import PolymerData
from .status import chunks
from .submit import EXTRA_CAMPAIGN, CampaignItem, build_inputs

TERMINATED = ('finished', 'excepted', 'killed')
sleep = time.sleep  # module-level, so that tests can replace the wait between top-ups


def runs_group_label(polymer_group: str) -> str:
    """The process group of a campaign over the polymer group ``polymer_group``."""
    return f'{polymer_group}/runs'


def polymer_key(polymer: PolymerData, protocol: str) -> str:
    return CampaignItem.of(polymer, protocol).key


def submitted_keys(keys: t.Iterable[str]) -> dict[str, tuple[int, str | None]]:
    """``{key: (pk, process_state)}`` of the work chains that carry these campaign keys, whatever their state."""
    found = {}
    for chunk in chunks(list(keys)):
        query = orm.QueryBuilder().append(
            orm.WorkflowNode,
            filters={f'extras.{EXTRA_CAMPAIGN}': {'in': chunk}},
            project=[f'extras.{EXTRA_CAMPAIGN}', 'id', 'attributes.process_state'],
        )
        found.update({key: (pk, state) for key, pk, state in query.iterall()})
    return found


class CampaignController(BaseSubmissionController):
    """One ``PolymerPropertiesWorkChain`` per polymer of a list, at most ``max_concurrent`` unsealed at a time."""

    protocol: str
    overrides: t.Optional[dict] = None
    _items: dict = PrivateAttr(default_factory=dict)  # campaign key -> CampaignItem
    _codes: dict = PrivateAttr(default_factory=dict)

    @classmethod
    def for_polymers(
        cls, polymer_group: str, polymers: list[PolymerData], protocol: str, codes: dict, max_active: int,
        overrides: dict | None = None,
    ) -> 'CampaignController':
        label = runs_group_label(polymer_group)
        orm.Group.collection.get_or_create(label=label)
        controller = cls(
            group_label=label, max_concurrent=max_active, unique_extra_keys=(EXTRA_CAMPAIGN,), protocol=protocol,
            overrides=overrides,
        )
        items = [CampaignItem.of(polymer, protocol) for polymer in polymers]
        controller._items = {item.key: item for item in items}
        controller._codes = codes
        return controller

    @property
    def keys(self) -> list[str]:
        return list(self._items)

    def get_all_extras_to_submit(self):
        return {(key,) for key in self._items}

    def _check_submitted_extras(self):
        """Keys carried by a process of the group, or by any work chain of the profile (older campaigns)."""
        return super()._check_submitted_extras() | {(key,) for key in submitted_keys(self.keys)}

    def get_inputs_and_processclass_from_extras(self, extras_values):
        return build_inputs(self._items[extras_values[0]], self._codes, self.overrides)

    def submit_new_batch(self, dry_run=False, sort=True, verbose=False, sleep=0):
        """Fill the free slots (keys in sorted order, so deterministic); returns ``{(key,): node}`` of the new runs."""
        submitted = super().submit_new_batch(dry_run=dry_run, sort=sort, verbose=verbose, sleep=sleep)
        for node in submitted.values():
            if node is not None:
                node.base.extras.set('polyinf_protocol', self.protocol)
        return submitted

    def progress(self) -> 'CampaignProgress':
        states = submitted_keys(self.keys)
        done = sum(1 for _, state in states.values() if state in TERMINATED)
        active = sum(1 for _, state in states.values() if state not in TERMINATED)
        return CampaignProgress(total=len(self.keys), submitted=len(states), active=active, done=done)


@dataclasses.dataclass
class CampaignProgress:
    total: int
    submitted: int
    active: int
    done: int

    @property
    def unsubmitted(self) -> int:
        return self.total - self.submitted


@dataclasses.dataclass
class CampaignRun:
    already: int  # keys already submitted before this call
    new: int  # submitted by this call
    progress: CampaignProgress


def run_campaign(
    controller: CampaignController, wait: bool = False, progress_bar=None, interval: float = 2.0,
    timeout: float | None = None, on_round=None, round_every: float = 30.0,
) -> CampaignRun:
    """Submit a batch; with ``wait``, keep topping up the slots until every polymer's run has terminated.

    ``progress_bar`` (a tqdm bar with ``total`` = number of polymers) counts terminated runs. ``on_round()`` is called
    every ``round_every`` seconds while waiting (``polyinf run --wait``: resume the jobs paused by an unreachable
    computer, as ``polyinf watch`` does).
    """
    before = controller.progress()
    new = len(controller.submit_new_batch())
    state = controller.progress()
    start = time.monotonic()
    last_round = start
    shown = 0
    while True:
        if progress_bar is not None and state.done > shown:
            progress_bar.update(state.done - shown)
            shown = state.done
        if not wait or state.done == state.total:
            break
        if timeout is not None and time.monotonic() - start > timeout:
            raise TimeoutError(f'{state.total - state.done} polymer(s) not done after {timeout} s')
        sleep(interval)
        if on_round is not None and time.monotonic() - last_round >= round_every:
            on_round()
            last_round = time.monotonic()
        if state.unsubmitted:
            new += len(controller.submit_new_batch())
        state = controller.progress()
    return CampaignRun(already=before.submitted, new=new, progress=state)
