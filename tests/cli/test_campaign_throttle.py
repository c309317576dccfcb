"""Throttled campaigns: at most M active, resumable, never twice per key (`polyinf run --max-active`)."""

import pytest
from aiida import orm
from aiida.common.links import LinkType
from plumpy import ProcessState
from click.testing import CliRunner

from aiida_polyinf.campaign import EXTRA_CAMPAIGN, group_polymers
from aiida_polyinf.cli import cmd_root
from aiida_polyinf.campaign.controller import CampaignController, run_campaign, runs_group_label
from aiida_polyinf.campaign.intake import import_file

CSV = 'id,smiles\nPE,*CC*\nPP,*CC(*)C\nPS,*CC(*)c1ccccc1\nPVC,*CC(*)Cl\nPEO,*CCO*\n'


@pytest.fixture
def campaign_group(tmp_path):
    path = tmp_path / 'five.csv'
    path.write_text(CSV)
    return import_file(path).group


@pytest.fixture
def fake_submit(monkeypatch):
    """Replace the daemon submission by a stored, unsealed WorkflowNode linked to the polymer (state `created`)."""
    submitted = []

    def submit(builder):
        node = orm.WorkflowNode()
        node.set_process_type('aiida.workflows:polyinf.polymer_properties')
        node.set_process_label('PolymerPropertiesWorkChain')
        node.set_process_state(ProcessState.CREATED)
        node.base.links.add_incoming(builder.polymer, LinkType.INPUT_WORK, 'polymer')
        node.store()
        submitted.append(node)
        return node

    monkeypatch.setattr('aiida_submission_controller.base.engine.submit', submit)
    return submitted


def finish(node, exit_status=0):
    node.set_process_state(ProcessState.FINISHED)
    node.set_exit_status(exit_status)
    node.seal()


@pytest.mark.usefixtures('aiida_profile_clean')
def test_at_most_max_active_and_resume(campaign_group, fake_submit):
    polymers = group_polymers(campaign_group)
    controller = CampaignController.for_polymers(campaign_group, polymers, 'fast', {}, max_active=2)

    first = run_campaign(controller)
    assert (first.new, first.already, first.progress.unsubmitted, first.progress.active) == (2, 0, 3, 2)
    again = run_campaign(controller)  # nothing finished: no free slot
    assert again.new == 0 and again.already == 2 and len(fake_submit) == 2

    finish(fake_submit[0])
    finish(fake_submit[1], exit_status=402)  # a failed run is not resubmitted: `restart-failed` does that
    third = run_campaign(controller)
    assert third.new == 2 and third.progress.done == 2 and third.progress.unsubmitted == 1

    # A fresh controller (a re-run of the command) resumes: nothing is submitted twice.
    for node in fake_submit[2:]:
        finish(node)
    fresh = CampaignController.for_polymers(campaign_group, polymers, 'fast', {}, max_active=2)
    last = run_campaign(fresh)
    assert last.new == 1 and last.progress.unsubmitted == 0
    keys = [node.base.extras.get(EXTRA_CAMPAIGN) for node in fake_submit]
    assert len(keys) == 5 and len(set(keys)) == 5
    assert {node.inputs.polymer.uuid for node in fake_submit} == {polymer.uuid for polymer in polymers}
    assert all(node.base.extras.get('polyinf_protocol') == 'fast' for node in fake_submit)
    runs = orm.load_group(runs_group_label(campaign_group))
    assert {node.pk for node in runs.nodes} == {node.pk for node in fake_submit}

    # Another protocol is another key: a separate campaign over the same polymers.
    other = CampaignController.for_polymers(campaign_group, polymers, 'moderate', {}, max_active=10)
    assert run_campaign(other).new == 5


@pytest.mark.usefixtures('aiida_profile_clean')
def test_wait_tops_up_until_done(campaign_group, fake_submit, monkeypatch):
    """With --wait the loop keeps filling the free slots; never more than M unsealed at a time."""
    import aiida_polyinf.campaign.controller as module

    polymers = group_polymers(campaign_group)
    controller = CampaignController.for_polymers(campaign_group, polymers, 'fast', {}, max_active=2)
    peak = []

    def tick(_):  # the "daemon": finish what runs, one per tick
        active = [node for node in fake_submit if not node.is_sealed]
        peak.append(len(active))
        if active:
            finish(active[0])

    monkeypatch.setattr(module, 'sleep', tick)
    outcome = run_campaign(controller, wait=True, interval=0)
    assert outcome.progress.done == 5 and outcome.new == 5 and len(fake_submit) == 5
    assert max(peak) == 2


@pytest.mark.daemon
@pytest.mark.usefixtures('aiida_profile_clean')
def test_cli_run_throttled_through_the_daemon(tmp_path, monkeypatch, daemon_client):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / 'three.csv'
    path.write_text('id,smiles\nPE,*CC*\nPP,*CC(*)C\nPVC,*CC(*)Cl\n')
    runner = CliRunner()
    result = runner.invoke(cmd_root, ['run', str(path), '--protocol', 'fast', '--max-active', '1'])
    assert result.exit_code == 0, result.output
    assert '1 submitted, 0 already submitted, 2 not yet submitted (at most 1 active)' in result.output
    assert 'again later' in result.output

    waited = runner.invoke(
        cmd_root, ['run', 'polyinf/three', '--protocol', 'fast', '--max-active', '1', '--wait', '--timeout', '150']
    )
    assert waited.exit_code == 0, waited.output
    assert '2 submitted, 1 already submitted, 0 not yet submitted' in waited.output
    assert '3 finished ok, 0 failed' in waited.output
    query = orm.QueryBuilder().append(orm.WorkflowNode, filters={'attributes.process_label': 'IntakeWorkChain'})
    assert query.count() == 3
    again = runner.invoke(cmd_root, ['run', 'polyinf/three', '--protocol', 'fast'])
    assert '0 submitted, 3 already submitted' in again.output
    daemon_client.stop_daemon(wait=True)
