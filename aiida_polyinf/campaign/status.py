"""Where a campaign stands: per stage, how many polymers are queued, running, finished or failed (with exit codes).

Everything comes from three QueryBuilder queries, whatever the size of the campaign:

1. the campaign's top-level ``PolymerPropertiesWorkChain`` (input ``polymer`` in the group, extra ``polyinf_campaign``;
   a run superseded by ``polyinf restart-failed`` has lost that extra and is not counted);
2. the processes they called: the stage sub-processes, found by the call-link labels of the stage registry
   (:mod:`aiida_polyinf.common.stages`: ``intake``, ``qm``, ``ff_descriptors``, ``md``, ``nemd``, ``ions``, ``tg``);
3. the labels of their input links, which say which stages a chain was given (``qm__...``, ``ff_parameters``, ...).

A stage that never started counts as ``queued`` while its chain runs; when the chain has terminated it is ``failed``
if the chain's exit code ``ERROR_SUB_PROCESS_FAILED_<STAGE>`` names it, and ``skipped`` otherwise (an earlier stage
failed, or the chain was killed).
"""

from __future__ import annotations

import collections
import dataclasses

from aiida import orm

from .submit import EXTRA_CAMPAIGN
from ..data.polymer import PolymerData
from ..common import stages as registry

COLUMNS = ('queued', 'running', 'finished', 'failed', 'skipped')
TOP_LABEL = 'PolymerPropertiesWorkChain'
FAILED_PREFIX = 'ERROR_SUB_PROCESS_FAILED_'
CHUNK = 5000  # ids per `in` filter: SQLite caps the number of bound parameters of one statement


def chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def failed_stage_of_exit_codes() -> dict[int, str]:
    """``{exit status: stage}`` of the top-level chain's ``ERROR_SUB_PROCESS_FAILED_<STAGE>`` codes (registry)."""
    return {stage.exit_status: stage.name for stage in registry.STAGE_LIST}


def classify(state: str | None, exit_status: int | None) -> tuple[str, str | None]:
    """(column, failure label) of a process from its state and exit status."""
    if state in (None, 'created'):
        return 'queued', None
    if state in ('waiting', 'running'):
        return 'running', None
    if state == 'finished' and exit_status == 0:
        return 'finished', None
    if state == 'finished':
        return 'failed', str(exit_status)
    return 'failed', state  # excepted, killed


@dataclasses.dataclass
class Cell:
    count: int = 0
    codes: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    def add(self, code: str | None = None) -> None:
        self.count += 1
        if code is not None:
            self.codes[code] += 1

    def __str__(self) -> str:
        if not self.codes:
            return str(self.count)
        detail = ', '.join(f'{code}×{n}' for code, n in sorted(self.codes.items()))
        return f'{self.count} ({detail})'


@dataclasses.dataclass
class CampaignStatus:
    polymers: int
    chains: list[dict]
    stages: dict[str, dict[str, Cell]]
    totals: dict[str, Cell]

    @property
    def unsubmitted(self) -> int:
        return self.polymers - len({chain['polymer'] for chain in self.chains})

    def rows(self) -> list[list[str]]:
        rows = [[stage] + [str(self.stages[stage][column]) for column in COLUMNS] for stage in registry.NAMES]
        rows.append(['polymers'] + [str(self.totals[column]) for column in COLUMNS])
        return rows


def campaign_chains(group_label: str | None = None, protocol: str | None = None) -> list[dict]:
    """The campaign's current top-level chains: ``{pk, polymer, state, exit_status}`` each."""
    query = orm.QueryBuilder()
    if group_label is not None:
        query.append(orm.Group, filters={'label': group_label}, tag='group')
        query.append(PolymerData, with_group='group', tag='polymer', project='id')
    else:
        query.append(PolymerData, tag='polymer', project='id')
    filters = {'attributes.process_label': TOP_LABEL, 'extras': {'has_key': EXTRA_CAMPAIGN}}
    if protocol is not None:
        filters['extras.polyinf_protocol'] = protocol
    query.append(
        orm.WorkflowNode, with_incoming='polymer', edge_filters={'label': 'polymer'}, filters=filters, tag='top',
        project=['id', 'attributes.process_state', 'attributes.exit_status'],
    )
    query.order_by({'top': {'id': 'asc'}})
    return [
        {'polymer': polymer, 'pk': pk, 'state': state, 'exit_status': exit_status}
        for polymer, pk, state, exit_status in query.iterall()
    ]


def stage_processes(chain_pks: list[int]) -> dict[int, dict[str, tuple[int, str | None, int | None]]]:
    """``{chain pk: {stage: (pk, state, exit_status)}}`` of the stage sub-processes of these chains."""
    found: dict[int, dict] = collections.defaultdict(dict)
    by_label = registry.by_call_label()
    by_process = registry.process_stages()  # calls labelled `CALL`: ff of chains made before the registry
    if not chain_pks:
        return found
    for chunk in chunks(chain_pks):
        query = orm.QueryBuilder()
        query.append(orm.WorkflowNode, filters={'id': {'in': chunk}}, tag='top', project='id')
        query.append(
            orm.ProcessNode, with_incoming='top', edge_project='label', tag='sub',
            edge_filters={'type': {'in': ['call_work', 'call_calc']}},
            project=['id', 'attributes.process_label', 'attributes.process_state', 'attributes.exit_status'],
        )
        query.order_by({'sub': {'id': 'asc'}})  # a stage called twice (not today): the newest wins
        for top, pk, process_label, state, exit_status, label in query.iterall():  # edge projections come last
            stage = by_label.get(label) or by_process.get(process_label)
            if stage is not None:
                found[top][stage] = (pk, state, exit_status)
    return found


def planned_stages(chain_pks: list[int]) -> dict[int, set[str]]:
    """``{chain pk: stages it was given}``, from its input link labels (``intake`` always runs)."""
    planned: dict[int, set] = collections.defaultdict(lambda: {'intake'})
    by_port = registry.by_input_port()
    if not chain_pks:
        return planned
    for chunk in chunks(chain_pks):
        query = orm.QueryBuilder()
        query.append(orm.WorkflowNode, filters={'id': {'in': chunk}}, tag='top', project='id')
        query.append(orm.Node, with_outgoing='top', edge_project='label')
        for top, label in query.iterall():
            stage = by_port.get(label.split('__', 1)[0])
            if stage is not None:
                planned[top].add(stage)
    return planned


def campaign_status(group_label: str | None = None, protocol: str | None = None) -> CampaignStatus:
    if group_label is not None:
        polymers = orm.QueryBuilder().append(orm.Group, filters={'label': group_label}, tag='group').append(
            PolymerData, with_group='group'
        ).count()
    else:
        polymers = orm.QueryBuilder().append(PolymerData).count()
    chains = campaign_chains(group_label, protocol)
    pks = [chain['pk'] for chain in chains]
    subs = stage_processes(pks)
    planned = planned_stages(pks)
    failed_stage = failed_stage_of_exit_codes()

    stages = {stage: {column: Cell() for column in COLUMNS} for stage in registry.NAMES}
    totals = {column: Cell() for column in COLUMNS}
    for chain in chains:
        top_column, top_code = classify(chain['state'], chain['exit_status'])
        totals[top_column].add(top_code)
        chain_done = chain['state'] in ('finished', 'excepted', 'killed')
        for stage in registry.NAMES:
            if stage in subs[chain['pk']]:
                _, state, exit_status = subs[chain['pk']][stage]
                column, code = classify(state, exit_status)
                if column == 'running' and chain_done:  # the chain ended (killed) while this one was running
                    column, code = 'failed', chain['state']
                stages[stage][column].add(code)
            elif failed_stage.get(chain['exit_status']) == stage and chain['state'] == 'finished':
                stages[stage]['failed'].add(str(chain['exit_status']))
            elif stage in planned[chain['pk']]:
                stages[stage]['skipped' if chain_done else 'queued'].add()
    return CampaignStatus(polymers=polymers, chains=chains, stages=stages, totals=totals)
