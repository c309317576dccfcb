"""`polyinf restart-failed`: a campaign polymer whose QM failed is relaunched from the failed job's checkpoint.

Real PySCF on the PE repeat unit: the geometry optimisation is allowed one step and must converge, so the job fails
(420) with its last geometry and chkfile; the restart chain may try once, so the top-level chain ends with 402.
The relaunch is run here, without the daemon (``submit`` is replaced by a local run).
"""

import json

import pytest
from aiida import orm
from aiida.engine import run_get_node
from click.testing import CliRunner

from aiida_polyinf.campaign import EXTRA_CAMPAIGN, group_polymers
from aiida_polyinf.campaign.status import campaign_status
from aiida_polyinf.cli import cmd_root
from aiida_polyinf.campaign.controller import polymer_key
from aiida_polyinf.campaign.intake import import_file
from aiida_polyinf.campaign.relaunch import EXTRA_RESTARTED_AS, EXTRA_RESTARTED_FROM, EXTRA_SUPERSEDED
from aiida_polyinf.workchains.polymer import PolymerPropertiesWorkChain

SHORT = {'qm': {'parameters': {'optimization': {'max_steps': 1, 'require_convergence': True}}, 'max_iterations': 1}}


def campaign_run(polymer, codes, overrides=None):
    builder = PolymerPropertiesWorkChain.get_builder_from_protocol(codes, polymer, 'fast', overrides, seed=7)
    _, node = run_get_node(builder)
    node.base.extras.set_many({EXTRA_CAMPAIGN: polymer_key(polymer, 'fast'), 'polyinf_protocol': 'fast'})
    return node


def pyscf_calcs(node):
    return sorted((d for d in node.called_descendants if d.process_label == 'PyscfCalculation'), key=lambda n: n.pk)


@pytest.mark.slow
@pytest.mark.usefixtures('aiida_profile_clean')
def test_restart_failed_qm_from_checkpoint(polyinf_codes, tmp_path, monkeypatch):
    path = tmp_path / 'two.csv'
    path.write_text('id,smiles\nPE,*CC*\nPP,*CC(*)C\n')
    group = import_file(path).group
    pe, pp = group_polymers(group)
    ok = campaign_run(pp, {})  # intake only: finishes ok, must never be relaunched
    failed = campaign_run(pe, {'pyscf': polyinf_codes['pyscf']}, SHORT)
    assert ok.is_finished_ok
    assert failed.exit_status == PolymerPropertiesWorkChain.exit_codes.ERROR_SUB_PROCESS_FAILED_QM.status
    (calc,) = pyscf_calcs(failed)
    assert calc.exit_status == 420 and 'output_structure' in calc.outputs

    runner = CliRunner()
    dry = runner.invoke(cmd_root, ['restart-failed', '--group', group, '--dry-run'])
    assert dry.exit_code == 0, dry.output
    assert f'<{failed.pk}> (*CC*), stage qm: finished 402' in dry.output
    assert f'qm.restart_structure = StructureData<{calc.outputs.output_structure.pk}>' in dry.output
    assert f'qm.pyscf.pyscf.parent_folder = RemoteData<{calc.outputs.remote_folder.pk}>' in dry.output
    assert 'would relaunch 1 failed run(s)' in dry.output and str(ok.pk) not in dry.output
    assert runner.invoke(cmd_root, ['restart-failed', '--group', group, '--stage', 'md', '--dry-run']).output.count(
        'no failed run'
    ) == 1
    assert failed.base.extras.get(EXTRA_CAMPAIGN)  # a dry run changes nothing

    relaunched = []

    def run_here(builder):
        relaunched.append(run_get_node(builder)[1])
        return relaunched[-1]

    monkeypatch.setattr('aiida.engine.submit', run_here)
    monkeypatch.setattr('aiida_polyinf.campaign.submit.ensure_daemon', lambda *a, **k: None)
    result = runner.invoke(cmd_root, ['restart-failed', '--group', group])
    assert result.exit_code == 0, result.output
    assert 'relaunched 1 failed run(s)' in result.output
    (new,) = relaunched
    assert new.inputs.polymer.uuid == pe.uuid and new.inputs.intake.seed.value == 7

    # The new run starts the failed stage from the failed job's last geometry and checkpoint: linked in provenance.
    (new_calc,) = pyscf_calcs(new)
    assert new_calc.inputs.structure.uuid == calc.outputs.output_structure.uuid
    assert new_calc.inputs.parent_folder.uuid == calc.outputs.remote_folder.uuid
    with new_calc.base.repository.open('input.json') as handle:
        assert json.load(handle)['restart']['init_from_chk'] is True
    assert 'initial guess read from pyscf.chk' in new_calc.outputs.retrieved.base.repository.get_object_content(
        'pyscf.log'
    )

    # Bookkeeping: the key moved to the new run; the old one names its successor.
    key = polymer_key(pe, 'fast')
    assert new.base.extras.get(EXTRA_RESTARTED_FROM) == failed.uuid and new.base.extras.get(EXTRA_CAMPAIGN) == key
    assert EXTRA_CAMPAIGN not in failed.base.extras.keys()
    assert failed.base.extras.get(EXTRA_SUPERSEDED) == key and failed.base.extras.get(EXTRA_RESTARTED_AS) == new.uuid
    assert {chain['pk'] for chain in campaign_status(group).chains} == {ok.pk, new.pk}
    assert new.pk in {node.pk for node in orm.load_group(f'{group}/runs').nodes}
