"""``polyinf restart-failed``: relaunch the failed polymers of a campaign, from their checkpoint where there is one.

Design: the unit of relaunch is the polymer's top-level ``PolymerPropertiesWorkChain``. A failed chain (finished
with a non-zero exit code, excepted or killed) is relaunched with the same inputs (``node.get_builder_restart()``),
so the stages that had succeeded are not recomputed when caching is on (``polyinf setup`` enables it for
``build_oligomer``, ``PyscfCalculation``, ``qm_descriptors`` and ``ff_descriptors``: they are cache hits); a chain
that finished ok is never touched. The failed stage gets a restart input where the stage supports one:

- ``qm``: the last ``PyscfCalculation`` of the failed chain gives its last geometry (``output_structure`` ->
  ``qm.restart_structure``) and, when its remote folder holds ``pyscf.chk``, that folder (``RemoteData`` ->
  ``qm.pyscf.pyscf.parent_folder``; the driver takes the checkpoint as its SCF guess);
- ``intake``, ``ff``, ``md``, ``nemd``, ``ions``: relaunched from the start of the stage (the MD stages' LAMMPS
  restart files are used within a run by ``LammpsBaseWorkChain``, not yet across relaunches).

Provenance and bookkeeping: the restart inputs are outputs of the failed job, so the new chain is linked to it in
the graph; the new chain carries ``polyinf_restarted_from`` = the failed chain's uuid and takes over the campaign
key ``polyinf_campaign`` (so ``polyinf run`` and ``polyinf status`` count it as that polymer's submission); the
failed chain keeps the key as ``polyinf_campaign_superseded`` and names its successor in ``polyinf_restarted_as``.
"""

from __future__ import annotations

import dataclasses

from aiida import orm

from .submit import EXTRA_CAMPAIGN
from .status import campaign_chains, classify, failed_stage_of_exit_codes, stage_processes

EXTRA_RESTARTED_FROM = 'polyinf_restarted_from'
EXTRA_RESTARTED_AS = 'polyinf_restarted_as'
EXTRA_SUPERSEDED = 'polyinf_campaign_superseded'
CHECKPOINT = 'pyscf.chk'


@dataclasses.dataclass
class FailedRun:
    node: orm.WorkflowNode
    stage: str | None  # the stage that failed (None: the chain failed outside a stage)
    reason: str
    restart_inputs: dict = dataclasses.field(default_factory=dict)  # dotted input path -> node


def failed_runs(group_label: str | None = None, stage: str | None = None, protocol: str | None = None) -> list[FailedRun]:
    """The campaign's current top-level chains that failed, with the stage that failed (``stage`` filters)."""
    chains = [chain for chain in campaign_chains(group_label, protocol) if classify(chain['state'], chain['exit_status'])[0] == 'failed']
    subs = stage_processes([chain['pk'] for chain in chains])
    named = failed_stage_of_exit_codes()
    found = []
    for chain in chains:
        failed_stage = named.get(chain['exit_status']) if chain['state'] == 'finished' else None
        if failed_stage is None:  # excepted, killed, or a code that names no stage: the last stage that did not finish
            unfinished = [
                name for name, (_, state, exit_status) in subs[chain['pk']].items()
                if classify(state, exit_status)[0] != 'finished'
            ]
            failed_stage = unfinished[-1] if unfinished else None
        if stage is not None and failed_stage != stage:
            continue
        node = orm.load_node(chain['pk'])
        reason = f'{node.process_state.value}' + (f' {node.exit_status}: {node.exit_message}' if node.exit_status else '')
        found.append(FailedRun(node=node, stage=failed_stage, reason=reason))
    return found


def _has_checkpoint(remote: orm.RemoteData) -> bool:
    try:
        return CHECKPOINT in remote.listdir()
    except Exception:  # noqa: BLE001 - an unreachable or cleaned folder is no checkpoint
        return False


def qm_checkpoint(node: orm.WorkflowNode) -> dict:
    """Restart inputs of the QM stage from the last ``PyscfCalculation`` under ``node`` (may be empty)."""
    calcs = sorted(
        (d for d in node.called_descendants if d.process_label == 'PyscfCalculation'), key=lambda calc: calc.pk
    )
    if not calcs:
        return {}
    last = calcs[-1]
    inputs = {}
    if 'output_structure' in last.outputs:
        inputs['qm.restart_structure'] = last.outputs.output_structure
    if 'remote_folder' in last.outputs and _has_checkpoint(last.outputs.remote_folder):
        inputs['qm.pyscf.pyscf.parent_folder'] = last.outputs.remote_folder
    return inputs


CHECKPOINTS = {'qm': qm_checkpoint}


def restart_builder(run: FailedRun):
    """The builder of the relaunch: the failed chain's inputs plus the failed stage's restart inputs."""
    builder = run.node.get_builder_restart()
    finder = CHECKPOINTS.get(run.stage)
    run.restart_inputs = finder(run.node) if finder else {}
    for path, value in run.restart_inputs.items():
        *namespaces, name = path.split('.')
        target = builder
        for namespace in namespaces:
            target = target[namespace]
        target[name] = value
    return builder


def relaunch(run: FailedRun, submit=None, runs_group: orm.Group | None = None) -> orm.ProcessNode:
    """Submit the relaunch of ``run`` and move the campaign key onto it."""
    if submit is None:
        from aiida.engine import submit
    builder = restart_builder(run)
    old = run.node
    key = old.base.extras.get(EXTRA_CAMPAIGN)
    new = submit(builder)
    extras = {EXTRA_RESTARTED_FROM: old.uuid, EXTRA_CAMPAIGN: key}
    protocol = old.base.extras.get('polyinf_protocol', None)
    if protocol is not None:
        extras['polyinf_protocol'] = protocol
    new.base.extras.set_many(extras)  # the new run holds the key before the old one lets it go: never unclaimed
    old.base.extras.set_many({EXTRA_SUPERSEDED: key, EXTRA_RESTARTED_AS: new.uuid})
    old.base.extras.delete(EXTRA_CAMPAIGN)
    if runs_group is not None:
        runs_group.add_nodes([new])
    return new
