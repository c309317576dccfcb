"""``polyinf doctor --computer NAME``: check a configured computer before the first campaign.

Checks, in order, each with a clear message when it fails (the later ones need the login):
1. login: the transport opens and runs ``echo``;
2. scheduler: it answers (``squeue`` / ``qstat``: the scheduler plugin's job list);
3. work directory: it can be created and written;
4. each code runs: ``lmp -h`` (version and the MOLECULE and KSPACE packages), the code's Python imports pyscf,
   geometric and numpy.
:func:`preflight` is the part ``polyinf run --computer`` does before it submits anything (login and codes), plus,
on Slurm, ``sbatch --test-only`` of every stage's request, so that a queue Slurm refuses is named before a job goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shlex
import uuid

from ..profiles.codecheck import ARGUMENTS, missing_parts, parse_lammps_help, parse_python_versions


@dataclasses.dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f'{"ok  " if self.ok else "FAIL"}  {self.name:<12} {self.detail}'


@contextlib.contextmanager
def open_transport(computer):
    """The computer's transport, open, for blocking calls from a command-line process. aiida-core runs the blocking
    calls of an asynchronous transport (``core.ssh_async``) on its runner's loop, whose creation waits for the broker
    (for the embedded profile: a running daemon); here they run on a loop of their own, so that ``doctor`` and
    ``watch`` work whether the daemon runs or not."""
    from aiida.transports.transport import AsyncTransport

    transport = computer.get_transport()
    loop = None
    if isinstance(transport, AsyncTransport):
        loop = asyncio.new_event_loop()
        transport.run_command_blocking = lambda func, *args, **kwargs: loop.run_until_complete(func(*args, **kwargs))
    try:
        transport.open()
        try:
            yield transport
        finally:
            transport.close()
    finally:
        if loop is not None:
            loop.close()


def _code_check(transport, code, label: str) -> Check:
    executable = str(code.filepath_executable)
    command = ' '.join([shlex.quote(executable)] + [shlex.quote(arg) for arg in ARGUMENTS[label]])
    if code.prepend_text:
        command = f'{code.prepend_text}\n{command}'
    retval, stdout, stderr = transport.exec_command_wait(command)
    if retval != 0:
        text = (stderr or stdout).strip().splitlines()
        return Check(f'code {label}', False, f'{code.full_label}: `{executable}` exited {retval}: '
                                             f'{text[-1] if text else "no output"}')
    info = parse_lammps_help(stdout) if label == 'lmp' else parse_python_versions(stdout)
    missing = missing_parts(label, info)
    if missing:
        return Check(f'code {label}', False, f'{code.full_label}: {info.get("version", "?")} lacks {", ".join(missing)}')
    return Check(f'code {label}', True, f'{code.full_label}: {info.get("version", "?")}')


def _slurm_test_only(transport, profile) -> list[Check]:
    """``sbatch --test-only`` of every stage's request: Slurm says whether it would accept it, and submits nothing."""
    checks = []
    for stage, spec in profile.stages.items():
        seconds = int(round(float(spec['walltime_hours']) * 3600))
        minutes = max(1, -(-seconds // 60))
        args = ['sbatch', '--test-only', f'--nodes={int(spec["nodes"])}', f'--ntasks-per-node={int(spec["mpi_ranks"])}',
                f'--cpus-per-task={int(spec["threads"])}', f'--time={minutes}']
        if spec.get('queue'):
            args.append(f'--partition={spec["queue"]}')
        if profile.account:
            args.append(f'--account={profile.account}')
        args += ['--wrap', 'true']
        retval, stdout, stderr = transport.exec_command_wait(' '.join(shlex.quote(a) for a in args))
        text = (stderr or stdout).strip().splitlines()
        if retval != 0:
            checks.append(Check(f'queue {stage}', False, f'Slurm refuses the {stage} request '
                                                          f'({" ".join(args[2:-2])}): {text[-1] if text else retval}'))
        else:
            checks.append(Check(f'queue {stage}', True, f'{spec.get("queue") or "default"} accepts it'))
    return checks


def run_checks(computer_label: str, codes: bool = True, workdir: bool = True, scheduler: bool = True,
               queues: bool = False) -> list[Check]:
    """The checks of a configured computer (see the module docstring); stops after a failed login."""
    from .configure import get_computer

    computer = get_computer(computer_label)
    with contextlib.ExitStack() as stack:
        try:
            transport = stack.enter_context(open_transport(computer))
        except Exception as exception:  # noqa: BLE001 - every way a login can fail is reported the same way
            host = computer.get_configuration().get('host', computer.hostname)
            return [Check('login', False, f'{computer.label} ({computer.transport_type}): cannot connect: '
                                          f'{type(exception).__name__}: {str(exception).strip()[:300]} '
                                          f'(is the ssh master connection open? `ssh -O check {host}`)')]
        return _checks(computer, transport, codes, workdir, scheduler, queues)


def _checks(computer, transport, codes, workdir, scheduler, queues) -> list[Check]:
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    from .configure import run_profile

    checks = []
    retval, stdout, stderr = transport.exec_command_wait('echo polyinf-login-ok')
    if retval != 0 or 'polyinf-login-ok' not in stdout:
        return [Check('login', False, f'{computer.label}: `echo` returned {retval}: {stderr.strip()[:300]}')]
    checks.append(Check('login', True, f'{computer.label}: {computer.get_configuration().get("host", "")} answers'))
    if scheduler:
        sched = computer.get_scheduler()
        sched.set_transport(transport)
        try:
            jobs = sched.get_jobs(as_dict=True)
            checks.append(Check('scheduler', True, f'{computer.scheduler_type}: {len(jobs)} job(s) listed'))
        except Exception as exception:  # noqa: BLE001
            checks.append(Check('scheduler', False, f'{computer.scheduler_type} does not answer: {exception}'))
    if workdir:
        directory = computer.get_workdir().format(username=transport.whoami())
        probe = f'{directory.rstrip("/")}/.polyinf-doctor-{uuid.uuid4().hex[:8]}'
        try:
            transport.makedirs(directory, ignore_existing=True)
            retval, _, stderr = transport.exec_command_wait(f'echo ok > {shlex.quote(probe)} && rm {shlex.quote(probe)}')
            if retval != 0:
                raise OSError(stderr.strip())
            checks.append(Check('work dir', True, f'{directory} is writable'))
        except Exception as exception:  # noqa: BLE001
            checks.append(Check('work dir', False, f'{directory} is not writable: {exception}'))
    if codes:
        for label in ('lmp', 'pyscf'):
            try:
                code = orm.load_code(f'{label}@{computer.label}')
            except NotExistent:
                checks.append(Check(f'code {label}', False, f'no code {label}@{computer.label} in this profile'))
                continue
            checks.append(_code_check(transport, code, label))
    if queues and computer.scheduler_type == 'core.slurm':
        checks += _slurm_test_only(transport, run_profile(computer.label))
    return checks


def preflight(computer_label: str) -> list[Check]:
    """What ``polyinf run --computer`` checks before it submits: the login, the codes, and Slurm's verdict on every
    stage's request."""
    return run_checks(computer_label, codes=True, workdir=False, scheduler=False, queues=True)
