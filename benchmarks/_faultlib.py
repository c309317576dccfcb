"""Helpers of benchmarks/faults.py and tests/faults: an isolated PostgreSQL + RabbitMQ profile, its daemon, finding the
processes of that profile (by the AIIDA_PATH in their environment, never by name), and integrity checks.

Everything runs on a profile of its own in its own AiiDA config folder (``AIIDA_PATH``), on a PostgreSQL cluster and a
RabbitMQ node of its own (``benchmarks/_isolated_services.sh``), so that stopping PostgreSQL or RabbitMQ never touches
the shared services other engineers' runs use.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
SERVICES = ROOT / 'benchmarks' / '_isolated_services.sh'
TERMINAL = ('finished', 'excepted', 'killed')


def isolated_env(base: str, profile: str, rmq_port: int = 5673) -> dict:
    """Set (in os.environ) the variables that put AiiDA on the isolated config folder and services."""
    env = {
        'AIIDA_PATH': f'{base}/aiida',
        'POLYINF_CONFIG': f'{base}/config',
        'AIIDA_BROKER_PORT': str(rmq_port),
        'FAULTS_BASE': base,
        'PATH': f'{BIN}{os.pathsep}{os.environ.get("PATH", "")}',
        'AIIDA_PROFILE': profile,
    }
    os.environ.update(env)
    return env


def sh(command: list[str] | str, timeout: float = 600, check: bool = False) -> subprocess.CompletedProcess:
    result = subprocess.run(command, shell=isinstance(command, str), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode:
        raise RuntimeError(f'{command} failed ({result.returncode}): {result.stdout[-2000:]} {result.stderr[-2000:]}')
    return result


def services(action: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return sh(['bash', str(SERVICES), action], timeout=timeout)


def verdi(profile: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return sh([str(BIN / 'verdi'), '-p', profile, *args], timeout=timeout)


def polyinf(profile: str, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return sh([str(BIN / 'polyinf'), '-p', profile, *args], timeout=timeout)


def ensure_profile(profile: str) -> str:
    """``polyinf setup --postgres --profile-name PROFILE`` on the isolated services; return its output."""
    result = polyinf(profile, 'setup', '--postgres', '--profile-name', profile)
    if result.returncode:
        # `polyinf -p X` needs X to exist: call setup without -p the first time
        result = sh([str(BIN / 'polyinf'), 'setup', '--postgres', '--profile-name', profile], timeout=900)
    if result.returncode:
        raise RuntimeError(f'polyinf setup --postgres failed: {result.stdout[-2000:]} {result.stderr[-2000:]}')
    return result.stdout


def configure(profile: str, options: dict) -> None:
    from aiida.manage.configuration import get_config

    config = get_config()
    for key, value in options.items():
        config.set_option(key, value, scope=profile)
    config.store()


# ------------------------------------------------------------------------------------------------ our processes
def _ours(pid: int, aiida_path: str) -> bool:
    try:
        environ = pathlib.Path(f'/proc/{pid}/environ').read_bytes().split(b'\0')
    except OSError:
        return False
    # the daemon sets AIIDA_PATH to the .aiida folder itself for its workers and their jobs
    return any(entry in environ for entry in (f'AIIDA_PATH={aiida_path}'.encode(),
                                              f'AIIDA_PATH={aiida_path}/.aiida'.encode()))


def _cmdline(pid: int) -> list[str]:
    try:
        return [part.decode(errors='replace') for part in pathlib.Path(f'/proc/{pid}/cmdline').read_bytes().split(b'\0')
                if part]
    except OSError:
        return []


def find_pids(kind: str, aiida_path: str | None = None) -> list[int]:
    """PIDs of this profile's ``worker`` (daemon workers), ``pyscf`` (driver.py) or ``lmp`` processes."""
    aiida_path = aiida_path or os.environ['AIIDA_PATH']
    found = []
    for entry in pathlib.Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid == os.getpid() or not _ours(pid, aiida_path):
            continue
        cmd = _cmdline(pid)
        if not cmd:
            continue
        if kind == 'worker' and 'daemon' in cmd and 'worker' in cmd:
            found.append(pid)
        elif kind == 'pyscf' and any(part.endswith('driver.py') for part in cmd):
            found.append(pid)
        elif kind == 'lmp' and pathlib.Path(cmd[0]).name.startswith('lmp'):
            found.append(pid)
    return sorted(found)


def wait_for_pid(kind: str, timeout: float, poll: float = 2.0) -> int | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        pids = find_pids(kind)
        if pids:
            return pids[0]
        time.sleep(poll)
    return None


def kill9(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


# ------------------------------------------------------------------------------------------------ checks
def _retry_db(function, attempts: int = 30, delay: float = 2.0):
    """Run a query; after a PostgreSQL restart the first calls may hit dead connections."""
    from aiida.manage import get_manager

    for attempt in range(attempts):
        try:
            return function()
        except Exception:  # noqa: BLE001 - OperationalError of a dropped connection
            if attempt == attempts - 1:
                raise
            try:
                get_manager().get_profile_storage().get_session().rollback()
            except Exception:  # noqa: BLE001
                pass
            time.sleep(delay)


def node_count() -> int:
    from aiida import orm

    return _retry_db(lambda: orm.QueryBuilder().append(orm.Node).count())


def process_states(pks: list[int]) -> dict[int, tuple[str, int | None]]:
    from aiida import orm

    def query():
        qb = orm.QueryBuilder().append(
            orm.ProcessNode, filters={'id': {'in': pks}},
            project=['id', 'attributes.process_state', 'attributes.exit_status'],
        )
        return {pk: (state, status) for pk, state, status in qb.all()}

    return _retry_db(query)


def wait_terminal(pks: list[int], timeout: float, poll: float = 5.0, on_poll=None) -> bool:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        states = process_states(pks)
        if on_poll:
            on_poll(states)
        if all(state in TERMINAL for state, _ in states.values()) and len(states) == len(pks):
            return True
        time.sleep(poll)
    return False


def integrity(top_labels: tuple[str, ...], since_pk: int = 0) -> dict:
    """No process left non-terminal; every CalcJob has its code and inputs; no called process without a caller
    (orphan) unless it is a top-level process (``top_labels``; a label ending in ``<`` is a prefix, e.g. ``ShellJob<``
    for the code checks of ``polyinf setup``); no terminated caller with a non-terminal child."""
    from aiida import orm

    def query():
        qb = orm.QueryBuilder().append(
            orm.ProcessNode, filters={'id': {'>': since_pk}},
            project=['id', 'attributes.process_state', 'attributes.process_label', 'attributes.exit_status'],
        )
        rows = qb.all()
        calls = orm.QueryBuilder().append(orm.ProcessNode, tag='caller', project='id').append(
            orm.ProcessNode, with_incoming='caller', filters={'id': {'>': since_pk}}, project='id'
        ).all()
        calcjobs = orm.QueryBuilder().append(orm.CalcJobNode, filters={'id': {'>': since_pk}}, tag='c', project='id')
        calcjobs = [pk for (pk,) in calcjobs.all()]
        with_code = orm.QueryBuilder().append(orm.AbstractCode, tag='code').append(
            orm.CalcJobNode, with_incoming='code', filters={'id': {'>': since_pk}}, project='id').all()
        return rows, calls, calcjobs, {pk for (pk,) in with_code}

    rows, calls, calcjobs, with_code = _retry_db(query)
    caller_of = {child: caller for caller, child in calls}
    state = {pk: st for pk, st, _, _ in rows}
    non_terminal = [pk for pk, st, _, _ in rows if st not in TERMINAL]
    prefixes = tuple(label for label in top_labels if label.endswith('<'))
    orphans = [pk for pk, _, label, _ in rows
               if pk not in caller_of and label not in top_labels and not (prefixes and label.startswith(prefixes))]
    dangling = [child for child, caller in caller_of.items()
                if state.get(caller) in TERMINAL and state.get(child) not in TERMINAL and child in state]
    no_code = [pk for pk in calcjobs if pk not in with_code]
    unnamed = [pk for pk, st, label, status in rows if st == 'finished' and status and label == top_labels[0]
               and not orm.load_node(pk).exit_message]
    excepted = [pk for pk, st, _, _ in rows if st == 'excepted']
    return {
        'processes': len(rows), 'calcjobs': len(calcjobs), 'non_terminal': non_terminal, 'orphans': orphans,
        'terminated_caller_live_child': dangling, 'calcjobs_without_code': no_code,
        'failed_without_message': unnamed, 'excepted': excepted,
        'ok': not (non_terminal or orphans or dangling or no_code),
    }


def storage_maintain_dry_run(profile: str) -> dict:
    result = verdi(profile, 'storage', 'maintain', '--dry-run', timeout=600)
    return {'rc': result.returncode, 'tail': (result.stdout + result.stderr).strip().splitlines()[-3:]}


def uptime() -> str:
    return pathlib.Path('/proc/loadavg').read_text().split(' ')[:3].__str__()


def loadavg() -> list[float]:
    return [float(x) for x in pathlib.Path('/proc/loadavg').read_text().split()[:3]]
