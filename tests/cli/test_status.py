"""`polyinf status`: the per-stage table, on a hand-made provenance graph of a campaign in every state."""

import pytest
from aiida import orm
from aiida.common.links import LinkType
from click.testing import CliRunner
from plumpy import ProcessState

from aiida_polyinf.campaign import EXTRA_CAMPAIGN, group_polymers
from aiida_polyinf.campaign.status import campaign_status, failed_stage_of_exit_codes
from aiida_polyinf.cli import cmd_root
from aiida_polyinf.campaign.intake import import_file

CSV = 'id,smiles\nP1,*CC*\nP2,*CC(*)C\nP3,*CC(*)c1ccccc1\nP4,*CC(*)Cl\nP5,*CCO*\nP6,*CC(*)O\nP7,*CC(*)C#N\n'
FULL = ('intake', 'qm', 'ff', 'md')


def process(node, label, state, exit_status=None):
    node.set_process_label(label)
    node.set_process_state(state)
    if exit_status is not None:
        node.set_exit_status(exit_status)
    return node


def chain(polymer, state, exit_status=None, stages=FULL, calls=(), campaign=True):
    """A top-level chain given ``stages``, which called ``calls`` = [(stage, state, exit_status), ...]."""
    top = process(orm.WorkflowNode(), 'PolymerPropertiesWorkChain', state, exit_status)
    top.base.links.add_incoming(polymer, LinkType.INPUT_WORK, 'polymer')
    top.base.links.add_incoming(orm.Int(2).store(), LinkType.INPUT_WORK, 'intake__n')
    if 'qm' in stages:
        top.base.links.add_incoming(orm.Str('fast').store(), LinkType.INPUT_WORK, 'qm__protocol')
    if 'ff' in stages:
        top.base.links.add_incoming(orm.Dict({}).store(), LinkType.INPUT_WORK, 'ff_parameters')
    if 'md' in stages:
        top.base.links.add_incoming(orm.Dict({}).store(), LinkType.INPUT_WORK, 'md__parameters')
    top.store()
    if campaign:
        top.base.extras.set_many({EXTRA_CAMPAIGN: f'{polymer.uuid}|fast|1', 'polyinf_protocol': 'fast'})
    for stage, sub_state, sub_exit in calls:
        if stage == 'ff':
            sub = process(orm.CalcFunctionNode(), 'ff_descriptors', sub_state, sub_exit)
            sub.base.links.add_incoming(top, LinkType.CALL_CALC, 'CALL')
        else:
            sub = process(orm.WorkflowNode(), f'{stage.capitalize()}WorkChain', sub_state, sub_exit)
            sub.base.links.add_incoming(top, LinkType.CALL_WORK, stage)
        sub.store()
    if state in (ProcessState.FINISHED, ProcessState.EXCEPTED, ProcessState.KILLED):
        top.seal()
    return top


F, R, C, X = ProcessState.FINISHED, ProcessState.RUNNING, ProcessState.CREATED, ProcessState.EXCEPTED


@pytest.fixture
def campaign(tmp_path):
    path = tmp_path / 'seven.csv'
    path.write_text(CSV)
    group = import_file(path).group
    p1, p2, p3, p4, p5, p6, _ = group_polymers(group)  # P7 is never submitted
    chain(p1, F, 0, calls=[('intake', F, 0), ('qm', F, 0), ('ff', F, 0), ('md', F, 0)])
    chain(p2, F, 402, calls=[('intake', F, 0), ('qm', F, 401)])
    chain(p2, F, 402, calls=[('intake', F, 0), ('qm', F, 401)], campaign=False)  # superseded by a restart
    chain(p3, F, 404, calls=[('intake', F, 0), ('qm', F, 0), ('ff', F, 0), ('md', F, 404)])
    chain(p4, R, calls=[('intake', F, 0), ('qm', R, None)])
    chain(p5, C)
    chain(p6, F, 403, calls=[('intake', F, 0), ('qm', F, 0), ('ff', X, None)])
    return group


def table(status):
    return {row[0]: row[1:] for row in status.rows()}


@pytest.mark.usefixtures('aiida_profile_clean')
def test_stage_table(campaign):
    status = campaign_status(campaign)
    rows = table(status)
    #                  queued running finished failed skipped
    assert rows['intake'] == ['1', '0', '5', '0', '0']
    assert rows['qm'] == ['1', '1', '3', '1 (401×1)', '0']
    assert rows['ff'] == ['2', '0', '2', '1 (excepted×1)', '1']
    assert rows['md'] == ['2', '0', '1', '1 (404×1)', '2']
    assert rows['nemd'] == rows['ions'] == ['0', '0', '0', '0', '0']
    assert rows['polymers'] == ['1', '1', '1', '3 (402×1, 403×1, 404×1)', '0']
    assert len(status.chains) == 6 and status.polymers == 7 and status.unsubmitted == 1
    assert campaign_status(campaign, protocol='moderate').chains == []


@pytest.mark.usefixtures('aiida_profile_clean')
def test_failed_exit_codes_name_their_stage(campaign):
    codes = failed_stage_of_exit_codes()
    assert codes[401] == 'intake' and codes[402] == 'qm' and codes[403] == 'ff' and codes[404] == 'md'


@pytest.mark.usefixtures('aiida_profile_clean')
def test_cli_status(campaign):
    result = CliRunner().invoke(cmd_root, ['status', '--group', campaign])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split()[1:] for line in result.output.splitlines() if line.strip()}
    assert lines['qm'][:3] == ['1', '1', '3'] and '(401×1)' in lines['qm']
    assert 'polymers' in lines and '(402×1,' in lines['polymers']
    assert '7 polymer(s), 6 run(s), 1 not submitted' in result.output
    empty = CliRunner().invoke(cmd_root, ['status', '--group', campaign, '--protocol', 'precise'])
    assert 'no campaign run yet' in empty.output
