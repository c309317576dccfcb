"""End-to-end: a `fast` campaign through SSH and Slurm on `mdx-test`, with the two-factor routine and two login
faults (tests/remote/conftest.py: the shared session campaign). Its stage times are printed beside localhost's."""

import csv
import re

import pytest

from aiida_polyinf.common.stages import NAMES, STAGE_LIST

pytestmark = [pytest.mark.slow, pytest.mark.daemon, pytest.mark.timeout(3600)]


def test_setup_and_doctor(mdx_campaign):
    out = mdx_campaign.setup_output
    assert 'computer  mdx-test: created (core.ssh_async, core.slurm)' in out
    assert 'code      lmp@mdx-test: created' in out and 'code      pyscf@mdx-test: created' in out
    again = mdx_campaign.polyinf('setup', '--computer', 'mdx-test').stdout
    assert 'created' not in again and 'exists' in again  # running it again changes nothing
    doctor = mdx_campaign.doctor_output
    for check in ('login', 'scheduler', 'work dir', 'code lmp', 'code pyscf', 'queue qm', 'queue md'):
        assert re.search(rf'^ok\s+{check}\b', doctor, re.M), (check, doctor)
    assert 'all' in doctor and 'checks passed' in doctor
    test = mdx_campaign.computer_test
    assert test.returncode == 0 and 'Success' in test.stdout, test.stdout + test.stderr  # `verdi computer test`


def test_every_stage_ran_through_ssh_and_slurm(mdx_campaign):
    assert 'campaign ended' in [e['what'] for e in mdx_campaign.events], mdx_campaign.events
    output = mdx_campaign.run_output
    assert '1 finished ok, 0 failed' in output, output
    jobs = [job for job in mdx_campaign.final_jobs if not job['label'].startswith('ShellJob')]  # not setup's checks
    assert jobs and {job['computer'] for job in jobs} == {'mdx-test'}
    assert all(job['job_id'] and job['job_id'].isdigit() for job in jobs), jobs  # Slurm job ids from sbatch
    assert {'PyscfCalculation', 'LammpsCalculation'} <= {job['label'] for job in jobs}
    status = mdx_campaign.polyinf('status', '--group', 'polyinf/tiny').stdout
    lines = {line.split()[0]: line for line in status.splitlines() if line.split()}
    for stage in NAMES:
        assert lines[stage].split()[3] == '1' or re.search(r' 1 \(5\d\d×1\) ', lines[stage]), (stage, status)
    out = mdx_campaign.base / 'export'
    mdx_campaign.polyinf('export', '--group', 'polyinf/tiny', '--out', str(out))
    row = next(csv.DictReader(open(out / 'dataset.csv')))
    assert 0.3 < float(row['density']) < 1.5 and float(row['qmex.homo_eV']) < 0  # stored as on localhost
    for stage in STAGE_LIST:
        for name in stage.value_names:
            assert row.get(name) or f'{name}:' in row.get('missing.values', ''), (stage.name, name)


@pytest.mark.parametrize('fault', ['master closed', 'sshd stopped'])
def test_login_fault_paused_and_resumed_without_a_manual_step(mdx_campaign, fault):
    events = {e['what']: e for e in mdx_campaign.events}
    assert f'{fault}: paused' in events and events[f'{fault}: paused']['pks'], mdx_campaign.events
    assert f'{fault}: resumed' in events, mdx_campaign.events
    assert events[f'{fault}: resumed']['t'] >= events[f'{fault}: repaired']['t']
    # The resume was `polyinf run --wait`'s watch round, logged; no `verdi process play` was run by anyone.
    assert re.search(r'mdx-test: resumed \d+ job\(s\)', mdx_campaign.run_output), mdx_campaign.run_output
    paused = set(events[f'{fault}: paused']['pks'])
    final = {job['pk']: job for job in mdx_campaign.final_jobs}
    assert all(final[pk]['state'] == 'finished' for pk in paused), [final[pk] for pk in paused]


def test_stage_times_through_slurm(mdx_campaign):
    """The wall time of each stage (creation to end of its process), printed for the closing note."""
    script = """
from aiida import load_profile, orm
from aiida.common.links import LinkType
from aiida_polyinf.common import stages
load_profile('polyinf')
chain = orm.QueryBuilder().append(orm.WorkChainNode, filters={'attributes.process_label': 'PolymerPropertiesWorkChain'}).first()[0]
by_label, by_process = stages.by_call_label(), stages.process_stages()
times = {}
for link in chain.base.links.get_outgoing(link_type=(LinkType.CALL_WORK, LinkType.CALL_CALC)).all():
    name = by_label.get(link.link_label) or by_process.get(link.node.process_label)
    times[name] = round((link.node.mtime - link.node.ctime).total_seconds())
times['total'] = round((chain.mtime - chain.ctime).total_seconds())
print('TIMES', times)
"""
    import sys

    out = mdx_campaign.run(sys.executable, '-c', script).stdout
    print(out.strip(), 'events', mdx_campaign.events)
    assert 'TIMES' in out
