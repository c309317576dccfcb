"""The "remote" test computer of setup/services.sh for real: this machine reached as `polyinf-mdx-test` through its own
sshd (127.0.0.1, public keys only) and a one-node Slurm cluster, as a user reaches an mdx VM with Slurm.

- Without the ControlMaster connection (`services.sh master open`), a plain `ssh polyinf-mdx-test` is refused at once
  (BatchMode, no identity file: the SQUID two-factor routine); with it, ssh, scp, sftp and aiida-core's
  `core.ssh_async` transport (backend `openssh`, which runs plain `ssh`/`scp` with no `-F`) get in.
- A batch job runs to completion, also submitted over ssh as AiiDA's `core.slurm` does; `srun` works; a wall time
  above the `short` partition's 10 min is refused at submission.

Runs `setup/services.sh start ssh|slurm` first (idempotent, about a second) where it may (root or passwordless sudo);
otherwise uses the services if `status` says they run, and is skipped, with the reason, if not. The master connection
is left as it was found.
"""

import asyncio
import os
import pathlib
import shutil
import socket
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVICES = ROOT / 'setup' / 'services.sh'
ALIAS = 'polyinf-mdx-test'


def sh(args, timeout=60, **kwargs):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs)


def services(*args, timeout=120):
    return sh(['bash', SERVICES, *args], timeout=timeout, cwd=ROOT)


def can_start_services() -> bool:
    if os.geteuid() == 0:
        return True
    return shutil.which('sudo') is not None and sh(['sudo', '-n', 'true']).returncode == 0


def ensure_running(service):
    """Start the service (idempotent: a drained node is resumed, a dead daemon restarted) or skip without root."""
    if not can_start_services():
        status = services('status', service)
        if f'{service}: running' in status.stdout:
            return
        pytest.skip(f'`setup/services.sh status {service}` says {status.stdout.strip()!r} and starting it needs root '
                    'or passwordless sudo')
    started = services('start', service, timeout=900)  # a first start installs the Debian packages
    assert started.returncode == 0 and f'{service}: running' in started.stdout, (
        f'setup/services.sh start {service} failed ({started.returncode}):\n{started.stdout}\n{started.stderr}')


def master(action):
    return services('master', action)


def ssh(*command, timeout=30):
    """A plain `ssh polyinf-mdx-test ...`, as AiiDA runs it: no -F, the alias comes from ~/.ssh/config's Include."""
    return sh(['ssh', ALIAS, *command], timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope='module')
def test_computer():
    ensure_running('ssh')
    was_open = master('check').returncode == 0
    yield
    master('open' if was_open else 'close')


@pytest.fixture(scope='module')
def slurm():
    ensure_running('slurm')


def assert_refused(result, elapsed):
    assert result.returncode == 255, (result.returncode, result.stdout, result.stderr)
    assert 'Permission denied' in result.stderr, result.stderr
    assert elapsed < 10, f'a refused login took {elapsed:.1f} s: BatchMode should fail at once'


def test_plain_ssh_only_through_the_master(test_computer, tmp_path):
    assert master('close').returncode == 0
    assert master('check').returncode == 1
    start = time.monotonic()
    assert_refused(ssh('true'), time.monotonic() - start)

    opened = master('open')
    assert opened.returncode == 0, opened.stderr
    assert master('check').stdout.startswith('master: open')
    assert 'master open' in services('status', 'ssh').stdout
    result = ssh('echo $((6 * 7)) $(hostname)')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['42', socket.gethostname().split('.')[0]]

    # scp (SFTP mode since OpenSSH 9) and sftp, both ways
    sent = tmp_path / 'sent.txt'
    sent.write_text('polyinf\n')
    remote = tmp_path / 'remote.txt'
    assert sh(['scp', '-q', sent, f'{ALIAS}:{remote}']).returncode == 0
    assert sh(['scp', '-q', f'{ALIAS}:{remote}', tmp_path / 'back.txt']).returncode == 0
    assert (tmp_path / 'back.txt').read_text() == 'polyinf\n'
    listing = sh(['sftp', '-b', '-', ALIAS], input=f'ls {tmp_path}\n')
    assert listing.returncode == 0 and 'remote.txt' in listing.stdout, listing.stderr

    assert master('close').returncode == 0
    start = time.monotonic()
    assert_refused(ssh('true'), time.monotonic() - start)
    assert master('open').returncode == 0
    assert ssh('true').returncode == 0


def test_aiida_openssh_transport(test_computer, tmp_path):
    """aiida-core's core.ssh_async transport, backend openssh, with the alias as its host: the path of real jobs."""
    from aiida.transports.plugins.ssh_async import AsyncSshTransport

    (tmp_path / 'in.txt').write_text('input\n')
    work = tmp_path / 'work'

    async def session():
        transport = AsyncSshTransport(machine=ALIAS, backend='openssh')
        await transport.open_async()
        try:
            retval, stdout, stderr = await transport.exec_command_wait_async('echo $((6 * 7))')
            await transport.makedirs_async(str(work), ignore_existing=True)
            await transport.putfile_async(str(tmp_path / 'in.txt'), str(work / 'in.txt'))
            listing = await transport.listdir_async(str(work))
            await transport.getfile_async(str(work / 'in.txt'), str(tmp_path / 'out.txt'))
        finally:
            await transport.close_async()
        return retval, stdout, stderr, listing

    assert master('open').returncode == 0
    retval, stdout, stderr, listing = asyncio.run(session())
    assert (retval, stdout.strip()) == (0, '42'), stderr
    assert listing == ['in.txt']
    assert (tmp_path / 'out.txt').read_text() == 'input\n'

    assert master('close').returncode == 0
    closed = AsyncSshTransport(machine=ALIAS, backend='openssh')
    retval, _, stderr = asyncio.run(closed.exec_command_wait_async('true'))
    assert retval != 0 and 'Permission denied' in stderr, (retval, stderr)
    assert master('open').returncode == 0


def wait_for_job(job_id, timeout=40):
    deadline = time.monotonic() + timeout
    state = ''
    while time.monotonic() < deadline:
        shown = sh(['scontrol', '-o', 'show', 'job', job_id]).stdout
        state = next((field.split('=', 1)[1] for field in shown.split() if field.startswith('JobState=')), '')
        if state in ('COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY'):
            return state
        time.sleep(0.5)
    raise AssertionError(f'job {job_id} not finished after {timeout} s (state {state or "unknown"})')


def test_sbatch_job_runs(slurm, tmp_path):
    submitted = sh(['sbatch', '--parsable', '-J', 'polyinf-test', f'--chdir={tmp_path}', '-o', 'job-%j.out',
                    '--wrap', 'hostname; echo done'])
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().split(';')[0]
    assert wait_for_job(job_id) == 'COMPLETED'
    assert (tmp_path / f'job-{job_id}.out').read_text().split() == [socket.gethostname().split('.')[0], 'done']


def test_sbatch_over_ssh(test_computer, slurm, tmp_path):
    """As AiiDA's core.slurm on the test computer: sbatch run through `ssh polyinf-mdx-test`."""
    assert master('open').returncode == 0
    script = tmp_path / '_aiidasubmit.sh'
    script.write_text('#!/bin/bash\n#SBATCH --job-name=aiida-test\n#SBATCH --time=00:01:00\necho remote-ok\n')
    submitted = ssh(f'cd {tmp_path} && sbatch --parsable -o out.txt {script.name}')
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().split(';')[0]
    assert wait_for_job(job_id) == 'COMPLETED'
    assert (tmp_path / 'out.txt').read_text() == 'remote-ok\n'


def test_srun(slurm):
    result = sh(['srun', '-n1', 'true'], timeout=60)
    assert result.returncode == 0, result.stderr


def test_short_partition_refuses_a_long_wall_time(slurm):
    refused = sh(['sbatch', '--test-only', '-p', 'short', '-t', '00:30:00', '--wrap', 'true'])
    assert refused.returncode != 0 and 'time limit' in refused.stderr.lower(), (refused.returncode, refused.stderr)
    accepted = sh(['sbatch', '--test-only', '-p', 'short', '-t', '00:05:00', '--wrap', 'true'])
    assert accepted.returncode == 0, accepted.stderr
