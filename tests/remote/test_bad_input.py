"""Bad input on the way to a remote computer: each gets a clear error before anything is submitted.

- an unknown computer name (setup and run);
- placeholders left in the user's file (setup; nothing is created);
- a code missing on the remote (doctor and the preflight of `polyinf run --computer`);
- a queue request Slurm refuses (`sbatch --test-only` of the preflight);
- resources above a queue's limits (the run profile; tests/computers/test_config.py).
The remote checks use the real mdx-test computer (setup/services.sh: sshd + Slurm on this machine).
"""

import subprocess

import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_polyinf.cli import cmd_root
from aiida_polyinf.computers import FOLDER, RunProfile, load
from aiida_polyinf.computers.configure import ensure_codes, ensure_computer
from aiida_polyinf.computers.doctor import _slurm_test_only, run_checks



def test_unknown_computer_is_refused_by_setup_and_run(aiida_profile, tmp_path):
    result = CliRunner().invoke(cmd_root, ['setup', '--computer', 'fugaku'])
    assert result.exit_code != 0 and "unknown computer 'fugaku'; the shipped computers are squid" in result.output
    csv = tmp_path / 'one.csv'
    csv.write_text('id,smiles\nPE,*CC*\n')
    result = CliRunner().invoke(cmd_root, ['run', str(csv), '--computer', 'fugaku', '--protocol', 'fast'])
    assert result.exit_code != 0 and "no computer 'fugaku' in this profile" in result.output
    assert not orm.QueryBuilder().append(orm.WorkflowNode, filters={'attributes.process_label':
                                                                    'PolymerPropertiesWorkChain'}).count()


def test_placeholders_are_refused_and_nothing_is_created(aiida_profile, tmp_path):
    example = tmp_path / 'squid.yaml'
    example.write_text((FOLDER / 'squid' / 'user.example.yaml').read_text())
    before = orm.QueryBuilder().append(orm.Computer).count()
    result = CliRunner().invoke(cmd_root, ['setup', '--computer', 'squid', '--config', str(example)])
    assert result.exit_code != 0
    assert 'placeholders left in group, username, venv, work_dir' in result.output
    assert orm.QueryBuilder().append(orm.Computer).count() == before


@pytest.fixture(scope='module')
def live(aiida_profile, services):
    """mdx-test (and a twin whose codes point nowhere) in the test profile, with the ssh master open."""
    for service in ('ssh', 'slurm'):
        if services('status', service, check=False).returncode != 0:
            if services('start', service, check=False, timeout=600).returncode != 0:
                pytest.skip(f'setup/services.sh cannot start {service} here')
    was_open = services('master', 'check', check=False).returncode == 0
    services('master', 'open')
    spec = load('mdx-test')
    computer = ensure_computer(spec, echo=lambda _: None)
    ensure_codes(spec, computer, echo=lambda _: None)
    broken = load('mdx-test', user={'venv': '/nonexistent/polyinf-venv'})
    broken.computer['label'] = 'mdx-test-nocode'
    ensure_codes(broken, ensure_computer(broken, echo=lambda _: None), echo=lambda _: None)
    yield computer
    if not was_open:
        services('master', 'close', check=False)


def test_doctor_passes_on_mdx_test(live):
    checks = run_checks('mdx-test', queues=True)
    assert all(check.ok for check in checks), [check.line() for check in checks]
    assert {'login', 'scheduler', 'work dir', 'code lmp', 'code pyscf', 'queue qm', 'queue tg'} <= {c.name for c in checks}


def test_a_code_missing_on_the_remote_is_named(live, tmp_path):
    checks = {check.name: check for check in run_checks('mdx-test-nocode')}
    assert checks['login'].ok and not checks['code lmp'].ok and not checks['code pyscf'].ok
    assert '/nonexistent/polyinf-venv/bin/lmp' in checks['code lmp'].detail and 'exited 127' in checks['code lmp'].detail
    csv = tmp_path / 'one.csv'
    csv.write_text('id,smiles\nPE,*CC*\n')
    result = CliRunner().invoke(cmd_root, ['run', str(csv), '--computer', 'mdx-test-nocode', '--protocol', 'fast'])
    assert result.exit_code != 0 and 'mdx-test-nocode is not ready: nothing was submitted' in result.output
    assert not orm.QueryBuilder().append(orm.WorkflowNode, filters={'attributes.process_label':
                                                                    'PolymerPropertiesWorkChain'}).count()


def test_a_queue_slurm_refuses_is_named_before_submission(live):
    """Our table of mdx-test's queues left aside: Slurm itself refuses 2 h in the 10-minute `short` partition."""
    profile = load('mdx-test').run
    profile = RunProfile.from_dict({**profile.as_dict(), 'queues': {}})
    profile.stages['md'] = {**profile.stages['md'], 'queue': 'short', 'walltime_hours': 2}
    with live.get_transport() as transport:
        checks = {check.name: check for check in _slurm_test_only(transport, profile)}
    assert checks['queue qm'].ok and not checks['queue md'].ok
    assert 'Slurm refuses the md request' in checks['queue md'].detail and '--partition=short' in checks['queue md'].detail
    queued = subprocess.run(['squeue', '-h'], capture_output=True, text=True).stdout
    assert 'wrap' not in queued  # --test-only submitted nothing
