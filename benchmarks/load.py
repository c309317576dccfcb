"""Daemon throughput: N tiny work chains on PostgreSQL + RabbitMQ vs SQLite + ZeroMQ, 2 daemon workers each.

    .venv/bin/python benchmarks/load.py [--n 1000] [--backends pg,sqlite] [--base /tmp/polyinf-load] [--keep]

Each process is a ``TinyWorkChain`` (benchmarks/_load_chain.py) that calls one calcfunction: 2 process nodes per
submission, no external program. Both profiles are throwaway profiles in their own AiiDA config folder
(``AIIDA_PATH=<base>/aiida``): ``polyinf setup --postgres --profile-name load-pg`` (on the services of
``setup/services.sh``) and ``polyinf setup --profile-name load-sqlite``; both are deleted at the end (the PostgreSQL
one with its database) unless ``--keep``. Per backend: the submission time, the time until every chain is terminal,
the throughput (terminated chains per minute, from the first submission), whether all finished ok, and the load
averages before and after. Writes ``benchmarks/load.json`` after every backend.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / 'load.json'
BIN = pathlib.Path(sys.executable).parent


def loadavg() -> list[float]:
    return [float(x) for x in pathlib.Path('/proc/loadavg').read_text().split()[:3]]


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime('%H:%M:%S')


def run(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)


def one_backend(backend: str, n: int, timeout: float, batch_poll: float = 5.0) -> dict:
    """Runs in a child process (one profile per process): create the profile, daemon 2 workers, submit n, wait."""
    profile = f'load-{backend}'
    setup = ['setup', '--profile-name', profile] + (['--postgres'] if backend == 'pg' else [])
    t = time.monotonic()
    result = run(BIN / 'polyinf', *setup, timeout=1200)
    if result.returncode:
        return {'backend': backend, 'error': f'setup failed: {result.stdout[-500:]} {result.stderr[-500:]}'}
    setup_s = time.monotonic() - t
    from aiida import load_profile, orm
    from aiida.engine import submit

    load_profile(profile, allow_switch=True)
    from _load_chain import TinyWorkChain

    import aiida.brokers.zeromq.broker as zeromq_broker

    zeromq_broker.BROKER_READY_TIMEOUT = 300.0  # the daemon's ZeroMQ broker takes more than 10 s to start under load

    run(BIN / 'verdi', '-p', profile, 'daemon', 'stop', timeout=300)
    started = run(BIN / 'verdi', '-p', profile, 'daemon', 'start', '2', timeout=300)
    record = {'backend': backend, 'profile': profile, 'n': n, 'workers': 2, 'setup_s': round(setup_s, 1),
              'daemon_start_rc': started.returncode, 'loadavg_before': loadavg(), 'start': now()}
    t0 = time.monotonic()
    pks = []
    for i in range(n):
        pks.append(submit(TinyWorkChain, x=orm.Int(i)).pk)
    record['submit_s'] = round(time.monotonic() - t0, 1)
    record['submit_per_min'] = round(n / (time.monotonic() - t0) * 60, 1)
    terminal = ('finished', 'excepted', 'killed')
    progress = []
    states = {}
    while time.monotonic() - t0 < timeout:
        qb = orm.QueryBuilder().append(orm.WorkflowNode, filters={'id': {'in': pks}},
                                       project=['attributes.process_state', 'attributes.exit_status'])
        states = {}
        for state, status in qb.iterall():
            key = f'{state}:{status}' if state in terminal else str(state)
            states[key] = states.get(key, 0) + 1
        done = sum(v for k, v in states.items() if k.split(':')[0] in terminal)
        progress.append((round(time.monotonic() - t0, 1), done))
        if done == n:
            break
        time.sleep(batch_poll)
    elapsed = time.monotonic() - t0
    done = progress[-1][1] if progress else 0
    record.update({
        'elapsed_s': round(elapsed, 1), 'terminal': done, 'all_terminal': done == n, 'states': states,
        'all_finished_ok': states.get('finished:0', 0) == n,
        'throughput_per_min': round(done / elapsed * 60, 1),
        'loadavg_after': loadavg(), 'end': now(), 'progress': progress[:: max(1, len(progress) // 40)],
    })
    run(BIN / 'verdi', '-p', profile, 'daemon', 'stop', timeout=300)
    return record


def delete_profile(profile: str) -> str:
    env = dict(os.environ)
    if profile.endswith('-pg'):
        from aiida_polyinf.profiles.setup import postgres_env_path

        path = postgres_env_path()
        if path.is_file():
            for line in path.read_text().splitlines():
                key, _, value = line.partition('=')
                env[key.strip()] = value.strip()
    result = subprocess.run([str(BIN / 'verdi'), 'profile', 'delete', '--force', '--delete-data', profile],
                            capture_output=True, text=True, env=env, timeout=900)
    # only the verdict: verdi echoes the profile's storage config, database password included
    lines = [line for line in (result.stdout + result.stderr).splitlines() if 'Success' in line or 'Deleted' in line]
    return f'rc {result.returncode}: {"; ".join(lines)}'


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--n', type=int, default=1000)
    parser.add_argument('--backends', default='pg,sqlite')
    parser.add_argument('--base', default='/tmp/polyinf-load')
    parser.add_argument('--timeout', type=float, default=3600, help='Seconds to wait per backend.')
    parser.add_argument('--keep', action='store_true')
    parser.add_argument('--shared-services', action='store_true',
                        help='Use the services of setup/services.sh instead of a PostgreSQL cluster and RabbitMQ node '
                             'of its own (benchmarks/_isolated_services.sh, ports 5434 and 5674).')
    parser.add_argument('--child', default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ['AIIDA_PATH'] = f'{args.base}/aiida'
    os.environ['PYTHONPATH'] = f'{HERE}{os.pathsep}{os.environ.get("PYTHONPATH", "")}'
    os.environ['PATH'] = f'{BIN}{os.pathsep}{os.environ.get("PATH", "")}'
    sys.path.insert(0, str(HERE))
    pathlib.Path(args.base, 'aiida').mkdir(parents=True, exist_ok=True)
    if not args.shared_services and 'pg' in args.backends.split(','):
        # Other runs stop and start the shared services (tests); a cluster and a broker of its own are not disturbed.
        os.environ.update(FAULTS_BASE=args.base, FAULTS_PGCLUSTER='polyinf_load', FAULTS_PGPORT='5434',
                          FAULTS_RMQNODE='polyinf-load@localhost', FAULTS_RMQPORT='5674',
                          POLYINF_CONFIG=f'{args.base}/config', AIIDA_BROKER_PORT='5674')
        if not args.child:
            started = run('bash', HERE / '_isolated_services.sh', 'start', timeout=900)
            print(f'isolated services: rc {started.returncode} {started.stdout.strip()[-200:]}', flush=True)
    if args.child:
        print(json.dumps(one_backend(args.child, args.n, args.timeout)))
        return
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    results.setdefault('runs', [])
    results['default_n'] = 1000
    results['services'] = 'setup/services.sh' if args.shared_services else 'isolated (benchmarks/_isolated_services.sh)'
    for backend in args.backends.split(','):
        child = subprocess.run([sys.executable, __file__, '--child', backend, '--n', str(args.n), '--base', args.base,
                                '--timeout', str(args.timeout)], capture_output=True, text=True)
        try:
            record = json.loads(child.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            record = {'backend': backend, 'error': (child.stdout + child.stderr)[-1500:]}
        record['machine'] = '2 cores, shared with other engineers'
        if not args.keep:
            record['profile_deleted'] = delete_profile(f'load-{backend}')
        results['runs'].append(record)
        OUT.write_text(json.dumps(results, indent=1) + '\n')
        print(f'{backend:7s} n={record.get("n")} submit {record.get("submit_s")} s, all terminal '
              f'{record.get("all_terminal")} in {record.get("elapsed_s")} s: {record.get("throughput_per_min")} '
              f'processes/min; load {record.get("loadavg_before")} -> {record.get("loadavg_after")} '
              f'{record.get("error", "")}', flush=True)
    if not args.shared_services and not args.keep and 'pg' in args.backends.split(','):
        run('bash', HERE / '_isolated_services.sh', 'delete', timeout=900)


if __name__ == '__main__':
    main()
