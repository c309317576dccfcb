"""The shared `fast` campaign on the SSH + Slurm computer `mdx-test` (this machine: setup/services.sh starts sshd on
127.0.0.1:2222 and a one-node Slurm cluster), session-scoped: every end-to-end test that needs finished stages reads it.

What it does, as a user would (each step through the `polyinf`/`verdi` command line, in a fresh AIIDA_PATH):
`polyinf setup`; `polyinf setup --computer mdx-test` (the mdx-slurm files); the two-factor routine: the ssh master
connection is opened with the key (the daemon's ssh has no key, BatchMode, ControlMaster no: it gets in only through
the master socket); `polyinf doctor`; `polyinf run --computer mdx-test --protocol fast --wait` on one polymer in the
background. While it runs, two faults, each observed before it counts:
1. the master connection is closed: jobs retry their transport tasks and pause; the master is opened again, and
   `polyinf run --wait` (the `polyinf watch` loop) plays them, with no manual step;
2. sshd itself is stopped (and every session with it, the master too) and started again, the master reopened: the same.
The profile's transport retries are shortened (2 s, 3 attempts) so that a pause comes within seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
SERVICES = ['bash', str(ROOT / 'setup' / 'services.sh')]

STATES = """
import json
from aiida import load_profile, orm
load_profile('polyinf')
rows = []
for node in orm.QueryBuilder().append(orm.CalcJobNode).all(flat=True):
    rows.append({'pk': node.pk, 'label': node.process_label, 'state': node.process_state.value if node.process_state
                 else None, 'paused': node.paused, 'status': node.process_status, 'job_id': node.get_job_id(),
                 'computer': node.computer.label if node.computer else None, 'exit_status': node.exit_status})
print('STATES', json.dumps(rows))
"""


def services(*args, check=True, timeout=300):
    result = subprocess.run(SERVICES + list(args), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f'services.sh {" ".join(args)} failed:\n{result.stdout}\n{result.stderr}')
    return result


@pytest.fixture(scope='session', name='services')
def services_fixture():
    """``services(*args, check=True, timeout=300)``: run setup/services.sh."""
    return services


class Campaign:
    """The campaign's environment, commands and the record of what happened."""

    def __init__(self, base: pathlib.Path):
        self.base = base
        self.env = dict(os.environ, AIIDA_PATH=str(base / 'aiida'), PATH=f'{BIN}{os.pathsep}{os.environ["PATH"]}')
        self.events: list[dict] = []
        self.t0 = time.monotonic()

    def run(self, *args, check=True, timeout=900):
        result = subprocess.run(list(args), env=self.env, cwd=self.base, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f'{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}')
        return result

    def polyinf(self, *args, **kwargs):
        return self.run(str(BIN / 'polyinf'), *args, **kwargs)

    def verdi(self, *args, **kwargs):
        return self.run(str(BIN / 'verdi'), '-p', 'polyinf', *args, **kwargs)

    def calcjobs(self) -> list[dict]:
        out = self.run(sys.executable, '-c', STATES).stdout
        return json.loads(out.split('STATES', 1)[1])

    def event(self, what: str, **data):
        self.events.append({'t': round(time.monotonic() - self.t0, 1), 'what': what, **data})

    def wait_for(self, condition, timeout: float, what: str, interval: float = 3.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            rows = self.calcjobs()
            found = condition(rows)
            if found:
                return found
            time.sleep(interval)
        raise AssertionError(f'timed out after {timeout} s waiting for {what}; jobs: {self.calcjobs()}')


def _transport_paused(rows):
    return [row['pk'] for row in rows if row['paused'] and 'failed transport task' in (row['status'] or '')]


def _inject(campaign: Campaign, name: str, break_it, repair_it, wait_running):
    """Break the login while a job is with the scheduler, wait until AiiDA pauses jobs, repair it, wait until the
    same jobs run on (played by `polyinf run --wait`)."""
    campaign.wait_for(wait_running, 1500, f'a job with Slurm before fault {name}')
    break_it()
    campaign.event(f'{name}: broken')
    paused = campaign.wait_for(_transport_paused, 300, f'jobs paused after fault {name}')
    campaign.event(f'{name}: paused', pks=paused)
    repair_it()
    campaign.event(f'{name}: repaired')
    campaign.wait_for(lambda rows: not set(_transport_paused(rows)) & set(paused) or None, 300,
                      f'the paused jobs of fault {name} to be played')
    campaign.event(f'{name}: resumed', pks=paused)


@pytest.fixture(scope='session')
def mdx_campaign(tmp_path_factory):
    """The shared fast campaign on mdx-test (see the module docstring); skipped where the services cannot run."""
    for service in ('ssh', 'slurm'):
        if services('status', service, check=False).returncode != 0:
            started = services('start', service, check=False, timeout=600)
            if started.returncode != 0:
                pytest.skip(f'setup/services.sh cannot start {service} here: {started.stderr.strip()[-300:]}')
    base = tmp_path_factory.mktemp('mdx_campaign')
    campaign = Campaign(base)
    campaign.polyinf('setup')
    for option, value in (('transport.task_retry_initial_interval', '2'), ('transport.task_maximum_attempts', '3')):
        campaign.verdi('config', 'set', option, value)
    campaign.setup_output = campaign.polyinf('setup', '--computer', 'mdx-test').stdout
    services('master', 'open')
    campaign.event('master opened')
    campaign.doctor_output = campaign.polyinf('doctor', '--computer', 'mdx-test').stdout
    table = base / 'tiny.csv'
    table.write_text('id,smiles\nPE,*CC*\n')
    log = open(base / 'run.log', 'w')
    process = subprocess.Popen(
        [str(BIN / 'polyinf'), 'run', str(table), '--computer', 'mdx-test', '--protocol', 'fast', '--wait',
         '--timeout', '3000'],
        env=campaign.env, cwd=base, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    campaign.event('campaign submitted')
    try:
        # `verdi computer test` once the daemon runs (the embedded profile's broker lives in the daemon).
        campaign.wait_for(lambda rows: rows or None, 600, 'the first job')
        campaign.computer_test = campaign.verdi('computer', 'test', 'mdx-test', check=False)
        def with_slurm(label):
            return lambda rows: [r['pk'] for r in rows if r['label'] == label and r['job_id'] and r['state'] == 'waiting']

        _inject(campaign, 'master closed', lambda: services('master', 'close'), lambda: services('master', 'open'),
                with_slurm('PyscfCalculation'))

        def restart_sshd():
            services('start', 'ssh')
            services('master', 'open')

        _inject(campaign, 'sshd stopped', lambda: services('stop', 'ssh'), restart_sshd, with_slurm('LammpsCalculation'))
        process.wait(timeout=3300)
        campaign.event('campaign ended', returncode=process.returncode)
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
        campaign.run_output = (base / 'run.log').read_text()
        campaign.final_jobs = campaign.calcjobs()
    yield campaign
    campaign.verdi('daemon', 'stop', check=False)
    services('master', 'close', check=False)
    shutil.rmtree(base / 'aiida', ignore_errors=True)
