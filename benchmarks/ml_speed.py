"""Run time of the ML benchmark tasks (a)-(e) on PI1070, then (f): writes benchmarks/ml_speed.json.

    python benchmarks/ml_speed.py --out /tmp/ml-run [--gnn DIR ...] [--jobs N]

Every task runs through ``aiida_polyinf.ml.bench.run_task`` (results.json and PNGs under ``OUT/<letter>``, frozen
splits under ``OUT/splits``), all on one ``Bench`` so the descriptor matrices are read from the on-disk cache once;
that load, (f) and the graph networks (``--gnn``: directories of ``polyinf bench run scaling --descriptors graph``)
are reported apart from the (a)-(e) total. Per task: wall seconds, CPU seconds of this process and its worker
processes, and the load averages before and after; the machine is shared, so wall time depends on the load and the
CPU seconds are the load-independent measure of the work. ``OUT`` then feeds ``benchmarks/ml_pi1070.py --results``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import time
from datetime import datetime, timezone

HERE = pathlib.Path(__file__).resolve().parent
TASKS = {'a': 'interpolation', 'b': 'range', 'c': 'similarity', 'd': 'scaling', 'e': 'variety', 'f': 'allocation'}


def cpu_seconds() -> float:
    """CPU time of this process, its finished children and its live descendants (the joblib workers)."""
    import psutil

    me = psutil.Process()
    t = me.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in me.children(recursive=True):
        try:
            c = child.cpu_times()
            total += c.user + c.system
        except psutil.Error:
            pass
    return total


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', type=pathlib.Path, required=True, help='directory for the runs (not the repository)')
    parser.add_argument('--jobs', type=int, default=os.cpu_count(), help='worker processes (default: all cores)')
    parser.add_argument('--tasks', default='abcdef')
    parser.add_argument('--gnn', type=pathlib.Path, nargs='*', default=[])
    parser.add_argument('--json', type=pathlib.Path, default=HERE / 'ml_speed.json')
    args = parser.parse_args(argv)

    from aiida_polyinf.ml import tasks as T
    from aiida_polyinf.ml.bench import DEFAULT_SOURCE, run_task
    from aiida_polyinf.ml.data import load as load_data

    report = {'started_utc': datetime.now(timezone.utc).isoformat(timespec='seconds'), 'machine': platform.machine(),
              'cpus': os.cpu_count(), 'jobs': args.jobs, 'source': str(DEFAULT_SOURCE), 'load_start': load(),
              'tasks': {}}
    t0, c0 = time.perf_counter(), cpu_seconds()
    frame = load_data(DEFAULT_SOURCE)
    bench = T.Bench(frame, T.load_config(), n_jobs=args.jobs, progress=False)
    config = bench.config
    for spec in set(config['descriptor_sets']['physics'] + config['descriptor_sets']['structure']):
        for target in config['targets']:
            bench.desc.matrix(spec, target)
    bench.similarity()
    report['descriptor_cache_load'] = {'wall_seconds': time.perf_counter() - t0, 'cpu_seconds': cpu_seconds() - c0,
                                       'note': 'descriptor matrices from the on-disk cache; computing the FF cache '
                                               'the first time is separate (see ml_pi1070.md)'}
    print(f"descriptors: {report['descriptor_cache_load']['wall_seconds']:.1f} s", flush=True)
    total_wall = total_cpu = 0.0
    for letter in args.tasks:
        name = TASKS[letter]
        before = load()
        t, c = time.perf_counter(), cpu_seconds()
        bench.timing = {}
        done = None
        if letter == 'f' and (args.out / 'e' / 'results.json').exists():  # (f) checks against the (e) just run
            done = json.loads((args.out / 'e' / 'results.json').read_text())
        run_task(name, out_dir=args.out / letter, splits_dir=args.out / 'splits', bench=bench, n_jobs=args.jobs,
                 variety=done)
        wall, cpu = time.perf_counter() - t, cpu_seconds() - c
        report['tasks'][letter] = {'task': name, 'wall_seconds': round(wall, 1), 'cpu_seconds': round(cpu, 1),
                                   'load_before': before, 'load_after': load(),
                                   'timing': {k: v for k, v in bench.timing.items()}}
        if letter in 'abcde':
            total_wall += wall
            total_cpu += cpu
        print(f'({letter}) {name}: {wall:.0f} s wall, {cpu:.0f} CPU-s, load {before} -> {load()}', flush=True)
        report['total_a_to_e'] = {'wall_seconds': round(total_wall, 1), 'cpu_seconds': round(total_cpu, 1),
                                  'target_seconds': 600, 'tasks': [x for x in args.tasks if x in 'abcde']}
        args.json.write_text(json.dumps(report, indent=1) + '\n')  # as it goes
    gnn = {}
    for d in args.gnn:
        res = json.loads((d / 'results.json').read_text())
        tm = res.get('timing', {})
        models = sorted({r['model'] for r in res.get('records', [])})
        gnn[','.join(models) or d.name] = {'wall_seconds': tm.get('wall_seconds'), 'gnn_seconds': tm.get('gnn_seconds'),
                                           'load_average': tm.get('load_average'), 'dir': d.name}
    if gnn:
        report['gnn'] = gnn
    report['finished_utc'] = datetime.now(timezone.utc).isoformat(timespec='seconds')
    report['load_end'] = load()
    args.json.write_text(json.dumps(report, indent=1) + '\n')
    print(f"(a)-(e): {total_wall:.0f} s wall, {total_cpu:.0f} CPU-s; wrote {args.json}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
