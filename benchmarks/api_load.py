"""Latency of the read-only web API under a bounded load: writes benchmarks/api_load.json.

    python benchmarks/api_load.py [--clients 20] [--seconds 120] [--json benchmarks/api_load.json]

Set-up, in a throw-away AiiDA config folder (the user's profiles are never touched):

1. a PostgreSQL profile made by ``polyinf setup --postgres`` (the services of ``setup/services.sh`` must run), with
   its read-only role, which the server connects as;
2. PI1070 imported (``polyinf import-dataset radonpy``) and a real ``fast`` campaign beside it (the six polymers ×
   two MD trials of ``tests/fixtures/ml/fast_trials.aiida``, imported with ``verdi archive import``);
3. ``polyinf serve`` on a free loopback port: one server process, requests in its thread pool.

Load: ``--clients`` concurrent clients in ONE async client process (httpx) on the same machine, for ``--seconds``,
each sending requests in a fixed, seeded mix: property-range search 40 %, polymer detail 30 %, substructure search
20 %, dataset download 10 %. Reported per kind: count, errors, p50/p95/p99 latency; the server's CPU seconds; load
averages before and after. Targets: p95 <= 200 ms for detail and range search, p95 <= 1 s for a substructure search
over PI1070, no errors. Every key of the JSON is written here. Run it with nothing else of ours running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
ARCHIVE = ROOT / 'tests' / 'fixtures' / 'ml' / 'fast_trials.aiida'
MIX = (('range', 0.4), ('detail', 0.3), ('substructure', 0.2), ('download', 0.1))
TARGETS_P95 = {'range': 0.2, 'detail': 0.2, 'substructure': 1.0}
SMARTS = ('c1ccccc1', 'C(=O)O', 'C(F)(F)F', '[#7]', 'C=C', 'S', 'c1ccncc1', 'C(=O)N')
RANGES = ('density:1.0:1.2', 'density:1.2:', 'Cp:1500:2000', 'thermal_conductivity:0.2:', 'bulk_modulus::3e9',
          'Rg:10:15')


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec='seconds')


def run(args, env, **kwargs):
    return subprocess.run([str(a) for a in args], env=env, check=True, capture_output=True, text=True, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


async def load(base: str, uuids: list[str], clients: int, seconds: float, seed: int) -> dict:
    import httpx

    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    latencies = {k: [] for k in kinds}
    errors = {k: [] for k in kinds}
    deadline = time.perf_counter() + seconds

    async def client(index: int):
        rng = random.Random(seed * 1000 + index)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while time.perf_counter() < deadline:
                kind = rng.choices(kinds, weights)[0]
                if kind == 'range':
                    request = ('/api/v1/polymers', {'range': rng.choice(RANGES), 'page_size': 50, 'sort': 'density'})
                elif kind == 'detail':
                    request = (f'/api/v1/polymers/{rng.choice(uuids)}', {})
                elif kind == 'substructure':
                    request = ('/api/v1/polymers', {'smarts': rng.choice(SMARTS), 'page_size': 50})
                else:
                    request = ('/api/v1/dataset', {'group': 'radonpy/PI1070', 'range': rng.choice(RANGES)})
                start = time.perf_counter()
                try:
                    response = await http.get(request[0], params=request[1])
                    ok = response.status_code == 200
                    detail = f'{response.status_code}'
                except httpx.HTTPError as error:
                    ok, detail = False, type(error).__name__
                latencies[kind].append(time.perf_counter() - start)
                if not ok:
                    errors[kind].append(detail)

    await asyncio.gather(*(client(i) for i in range(clients)))
    return {k: {'requests': len(latencies[k]), 'errors': len(errors[k]), 'error_kinds': sorted(set(errors[k])),
                'p50_s': percentile(latencies[k], 50), 'p95_s': percentile(latencies[k], 95),
                'p99_s': percentile(latencies[k], 99), 'max_s': max(latencies[k]) if latencies[k] else None}
            for k in kinds}


def main():
    import psutil

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--clients', type=int, default=20)
    parser.add_argument('--seconds', type=float, default=120.0)
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--json', type=pathlib.Path, default=ROOT / 'benchmarks' / 'api_load.json')
    args = parser.parse_args()
    record = {'started_utc': now(), 'machine': platform.machine(), 'cpus': os.cpu_count(),
              'load_start': list(os.getloadavg()), 'clients': args.clients, 'seconds': args.seconds,
              'client_processes': 1, 'server_processes': 1, 'mix': dict(MIX), 'targets_p95_s': TARGETS_P95}
    name = f'api-load-{secrets.token_hex(3)}'
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, AIIDA_PATH=tmp, PATH=f'{BIN}{os.pathsep}{os.environ["PATH"]}')
        server = None
        try:
            t0 = time.perf_counter()
            run([BIN / 'polyinf', 'setup', '--postgres', '--profile-name', name], env, timeout=900)
            run([BIN / 'verdi', 'profile', 'set-default', name], env)
            run([BIN / 'polyinf', 'import-dataset', 'radonpy'], env, timeout=900)
            run([BIN / 'verdi', 'archive', 'import', ARCHIVE], env, timeout=900)
            record['setup_seconds'] = round(time.perf_counter() - t0, 1)
            port = free_port()
            server = subprocess.Popen([str(BIN / 'polyinf'), '-p', name, 'serve', '--port', str(port)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            base = f'http://127.0.0.1:{port}'
            import httpx

            for _ in range(120):
                try:
                    if httpx.get(f'{base}/api/v1/groups', timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            uuids = [item['uuid'] for page in (1, 2) for item in httpx.get(
                f'{base}/api/v1/polymers', params={'page_size': 500, 'page': page}, timeout=60).json()['items']]
            record['polymers'] = len(uuids)
            proc = psutil.Process(server.pid)
            cpu0 = sum(proc.cpu_times()[:2])
            record['load_before'] = list(os.getloadavg())
            wall = time.perf_counter()
            record['results'] = asyncio.run(load(base, uuids, args.clients, args.seconds, args.seed))
            record['wall_seconds'] = round(time.perf_counter() - wall, 1)
            record['server_cpu_seconds'] = round(sum(proc.cpu_times()[:2]) - cpu0, 1)
            record['load_after'] = list(os.getloadavg())
        finally:
            if server is not None:
                server.terminate()
                server.wait(30)
            from aiida_polyinf.profiles.setup import postgres_superuser, readonly_env_path

            su = postgres_superuser()  # AiiDA drops the database through libpq's PG* variables
            delete_env = dict(env, PGHOST=su['host'], PGPORT=str(su['port']), PGUSER=su['user'],
                              PGPASSWORD=su['password'])
            subprocess.run([str(BIN / 'verdi'), 'profile', 'delete', '--force', '--delete-data', name], env=delete_env,
                           capture_output=True)

            try:
                import psycopg
                from psycopg import sql

                with psycopg.connect(host=su['host'], port=su['port'], user=su['user'], password=su['password'],
                                     dbname='postgres', autocommit=True) as connection:
                    for role in (f'aiida-{name}-ro', f'aiida-{name}'):
                        connection.execute(sql.SQL('DROP ROLE IF EXISTS {}').format(sql.Identifier(role)))
            except Exception as error:  # noqa: BLE001  (reported, not fatal)
                record['cleanup_error'] = str(error)
            readonly_env_path(name).unlink(missing_ok=True)
    results = record['results']
    record['total_errors'] = sum(r['errors'] for r in results.values())
    record['meets_targets'] = record['total_errors'] == 0 and all(
        results[k]['p95_s'] is not None and results[k]['p95_s'] <= limit for k, limit in TARGETS_P95.items())
    record['finished_utc'] = now()
    args.json.write_text(json.dumps(record, indent=1) + '\n')
    for kind, r in results.items():
        print(f"{kind:<13} n={r['requests']:>5} errors={r['errors']} p50={r['p50_s']:.3f} p95={r['p95_s']:.3f} "
              f"p99={r['p99_s']:.3f} s")
    print(f"targets {'met' if record['meets_targets'] else 'MISSED'}; wrote {args.json}")


if __name__ == '__main__':
    main()
