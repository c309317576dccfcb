"""Run time of the ML benchmark suite on PI1070, read from the provenance graph: writes benchmarks/ml_speed.json.

    python benchmarks/ml_speed.py --out /tmp/ml-run [--jobs N] [--json benchmarks/ml_speed.json]

What it does, in a throw-away embedded profile (``_embedded.use_temporary_profile``; the user's profiles are never
touched) and an empty on-disk descriptor cache (``POLYINF_CACHE_DIR`` under ``--out``):

1. ``polyinf import-dataset radonpy`` (the PI1070 copy shipped in the package), timed;
2. the one-off descriptor cache of the dataset (``ml_descriptor_cache``: FF with Gasteiger charges, ECFP, RDKit 2D),
   timed and reported apart: the cache is a node of the graph, an input of every benchmark process;
3. the suite ``polyinf bench run all --group radonpy/PI1070 --simulate-trials --out OUT`` (tasks a-f), timed as a
   whole: building the dataset from the graph is inside this time. Its target is 600 s wall.

Every number of the JSON is written here: wall and CPU seconds (this process, its children and live descendants:
the joblib workers), the load averages before and after each step, the processes' uuids. Run it with nothing else
of ours running on the machine. ``OUT/results.json`` is the report's input (``benchmarks/ml_pi1070.py``).
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
sys.path.insert(0, str(HERE))
TARGET_SECONDS = 600


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


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec='seconds')


def step(record: dict, name: str, function):
    """Run ``function`` and record its wall and CPU seconds and the load before and after under ``record[name]``."""
    entry = {'started_utc': now(), 'load_before': list(os.getloadavg())}
    wall, cpu = time.perf_counter(), cpu_seconds()
    out = function()
    entry.update(wall_seconds=round(time.perf_counter() - wall, 1), cpu_seconds=round(cpu_seconds() - cpu, 1),
                 load_after=list(os.getloadavg()))
    record[name] = entry
    print(f'{name}: {entry["wall_seconds"]:.0f} s wall, {entry["cpu_seconds"]:.0f} CPU-s, load {entry["load_after"]}',
          flush=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, type=pathlib.Path)
    parser.add_argument('--jobs', type=int, default=os.cpu_count())
    parser.add_argument('--json', type=pathlib.Path, default=HERE / 'ml_speed.json')
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ['POLYINF_CACHE_DIR'] = str(out / 'smiles-cache')

    import _embedded

    record = {'started_utc': now(), 'machine': platform.machine(), 'cpus': os.cpu_count(), 'jobs': args.jobs,
              'load_start': list(os.getloadavg()), 'target_seconds': TARGET_SECONDS,
              'command': 'polyinf bench run all --group radonpy/PI1070 --simulate-trials',
              'python': platform.python_version()}
    _embedded.use_temporary_profile(str(out / 'aiida'), name='ml-speed')

    from aiida_polyinf.benchmarking.graph import dataset_nodes
    from aiida_polyinf.benchmarking.processes import descriptor_cache
    from aiida_polyinf.benchmarking.run import _smiles_sets, run_group
    from aiida_polyinf.datasets import PI1070
    from aiida_polyinf.export.radonpy import import_radonpy
    from aiida_polyinf.ml.tasks import TASKS, load_config

    steps: dict = {}
    report = step(steps, 'import', lambda: import_radonpy(PI1070, 'radonpy/PI1070'))
    record['import'] = {'imported_rows': report.imported, 'new_polymers': report.new_polymers,
                        'rejected_rows': len(report.rejected), 'table_sha256': report.sha256}

    def cache():
        dataset, _ = dataset_nodes('radonpy/PI1070')
        return descriptor_cache(dataset, _smiles_sets(load_config(), list(TASKS), None), processes=args.jobs)

    folder = step(steps, 'descriptor_cache_one_off', cache)
    record['descriptor_cache_uuid'] = folder.uuid
    with folder.base.repository.open('info.json') as handle:
        record['descriptor_cache_info'] = json.load(handle)

    results = step(steps, 'suite_a_to_f', lambda: run_group('all', 'radonpy/PI1070', out / 'run', simulate_trials=True,
                                                            n_jobs=args.jobs))
    record['steps'] = steps
    record['suite_run_timing'] = results['run_timing']
    record['processes'] = results['processes']
    record['tasks'] = {p['task']: {'wall_seconds': round(p['timing']['wall_seconds'], 1),
                                   'timing': p['timing']} for p in results['parts']}
    suite = steps['suite_a_to_f']['wall_seconds']
    record['suite_wall_seconds'] = suite
    record['meets_target'] = suite <= TARGET_SECONDS
    record['finished_utc'] = now()
    record['load_end'] = list(os.getloadavg())
    record['results'] = 'OUT/run/results.json'
    args.json.write_text(json.dumps(record, indent=1, default=str) + '\n')
    print(f'suite {suite:.0f} s wall (target {TARGET_SECONDS} s: {"met" if suite <= TARGET_SECONDS else "MISSED"}); '
          f'wrote {args.json}')


if __name__ == '__main__':
    main()
