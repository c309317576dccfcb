"""A campaign: one submission per polymer of a group, through the daemon, never twice for the same inputs."""

from __future__ import annotations

import time
import typing as t

from aiida import orm

from .data.polymer import PolymerData
from .seeds import derive_seed
from .stages import STAGES

#: Stages that have a work chain today; the others are reported as unavailable.
AVAILABLE_STAGES = ('intake', 'qm', 'ff', 'md', 'nemd', 'ions')
EXTRA_CAMPAIGN = 'polyinf_campaign'


def group_polymers(group_label: str) -> list[PolymerData]:
    query = orm.QueryBuilder()
    query.append(orm.Group, filters={'label': group_label}, tag='group')
    query.append(PolymerData, with_group='group', project='*', tag='polymer')
    query.order_by({'polymer': {'id': 'asc'}})
    return [row[0] for row in query.all()]


def unavailable_stages() -> list[str]:
    return [stage for stage in STAGES if stage not in AVAILABLE_STAGES]


def campaign_key(polymer: PolymerData, protocol: str, seed: int) -> str:
    return f'{polymer.uuid}|{protocol}|{seed}'


def existing_submissions(keys: t.Iterable[str]) -> dict[str, orm.ProcessNode]:
    """Processes already submitted for these campaign keys, unless they failed or were killed."""
    query = orm.QueryBuilder().append(
        orm.WorkflowNode, filters={f'extras.{EXTRA_CAMPAIGN}': {'in': list(keys)}}, project='*'
    )
    found = {}
    for (node,) in query.all():
        if node.is_excepted or node.is_killed or (node.is_finished and not node.is_finished_ok):
            continue
        found[node.base.extras.get(EXTRA_CAMPAIGN)] = node
    return found


def ensure_daemon(number_workers: int = 1, echo=print) -> None:
    """Start the profile's daemon unless it runs; ``verdi`` is looked up beside this Python first."""
    import os
    import pathlib
    import sys

    from aiida.engine.daemon import client as daemon_module

    client = daemon_module.get_daemon_client()
    if client.is_daemon_running:
        return
    bindir = pathlib.Path(sys.executable).parent
    if str(bindir) not in os.environ.get('PATH', '').split(os.pathsep):
        os.environ['PATH'] = str(bindir) + os.pathsep + os.environ.get('PATH', '')
    if daemon_module.VERDI_BIN is None and (bindir / 'verdi').exists():
        daemon_module.VERDI_BIN = str(bindir / 'verdi')  # found at import time only, from the PATH of that moment
    echo(f'starting the daemon of profile {client.profile.name} with {number_workers} worker(s)')
    client.start_daemon(number_workers=number_workers)


def pipeline_codes(computer: str = 'localhost') -> dict:
    """The codes of the pipeline on ``computer``, as `polyinf setup` names them (missing ones are None)."""
    from aiida.common.exceptions import NotExistent

    codes = {}
    for label in ('pyscf', 'lmp'):
        try:
            codes[label] = orm.load_code(f'{label}@{computer}')
        except NotExistent:
            codes[label] = None
    return codes


def build_inputs(
    polymer: PolymerData, protocol: str, codes: dict, overrides: dict | None = None
) -> tuple[type, object, int]:
    from .workchains.polymer import PolymerPropertiesWorkChain

    seed = derive_seed(polymer.smiles, protocol, 0, 'conformer')
    builder = PolymerPropertiesWorkChain.get_builder_from_protocol(codes, polymer, protocol, overrides, seed=seed)
    return PolymerPropertiesWorkChain, builder, seed


def submit_campaign(
    polymers: list[PolymerData], protocol: str, codes: dict | None = None, overrides: dict | None = None
) -> tuple[list[orm.ProcessNode], int]:
    """Submit what is not yet submitted; return all the campaign's processes and how many were new."""
    from aiida.engine import submit

    codes = pipeline_codes() if codes is None else codes
    plans = []
    for polymer in polymers:
        process, inputs, seed = build_inputs(polymer, protocol, codes, overrides)
        plans.append((campaign_key(polymer, protocol, seed), process, inputs))
    done = existing_submissions([key for key, _, _ in plans])
    nodes, new = [], 0
    for key, process, inputs in plans:
        if key in done:
            nodes.append(done[key])
            continue
        node = submit(inputs)
        node.base.extras.set_many({EXTRA_CAMPAIGN: key, 'polyinf_protocol': protocol})
        nodes.append(node)
        new += 1
    return nodes, new


def wait(nodes: list[orm.ProcessNode], progress=None, interval: float = 1.0, timeout: float | None = None) -> None:
    """Block until every process is terminated, updating ``progress`` (a tqdm bar) as they finish."""
    start = time.monotonic()
    done = 0
    while True:
        finished = sum(1 for node in nodes if orm.load_node(node.pk).is_terminated)
        if progress is not None and finished > done:
            progress.update(finished - done)
        done = finished
        if done == len(nodes):
            return
        if timeout is not None and time.monotonic() - start > timeout:
            raise TimeoutError(f'{len(nodes) - done} process(es) still running after {timeout} s')
        time.sleep(interval)
