"""Orchestration of one benchmark run: load the dataset, run a task, write ``results.json`` and the plots."""

from __future__ import annotations

import json
import os
import pathlib
import platform
import time

import numpy as np

from . import tasks as T

DEFAULT_SOURCE = pathlib.Path(__file__).resolve().parents[2].parent / 'shared' / 'data' / 'radonpy' / 'PI1070.csv'
EXTRAPOLATION_TASKS = ('interpolation', 'range', 'similarity', 'scaling')


def _default_sets(config, task):
    if task == 'interpolation' and config['tasks']['interpolation'].get('descriptor_sets'):
        return list(config['tasks']['interpolation']['descriptor_sets'])
    return list(config['descriptor_sets']['physics']) + list(config['descriptor_sets']['structure'])


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def run_task(task, source=None, out_dir='bench-out', targets=None, descriptor_sets=None, models=None, splits_dir=None,
             config=None, cache=None, n_jobs=None, plots=True, echo=print, bench=None, variety=None) -> dict:
    """Run ``task`` (a name of ``tasks.TASKS`` or 'all') and write ``out_dir/results.json`` (+ PNGs).

    ``n_jobs``: worker processes (default: every core). ``variety``: the results of an earlier (e) run, which
    task (f) checks its recommendations against instead of running (e) again.
    """
    from .data import load

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits_dir = pathlib.Path(splits_dir) if splits_dir else out_dir / 'splits'
    start = time.perf_counter()
    cpu0 = time.process_time()
    if bench is None:
        frame = load(DEFAULT_SOURCE if source is None else source)
        bench = T.Bench(frame, T.load_config(config), cache=cache, n_jobs=n_jobs or os.cpu_count())
    config = bench.config
    tasks = list(T.TASKS) if task == 'all' else [task]
    parts = []
    for name in tasks:
        if name in EXTRAPOLATION_TASKS:
            sets = descriptor_sets or _default_sets(config, name)
            parts.append(bench.run(name, targets or config['targets'], sets, models or config['models'], splits_dir))
        elif name == 'variety':
            parts.append(T.run_variety(bench, targets, with_allocation=False))
        elif name == 'allocation':
            done = next((p for p in parts if p['task'] == 'variety'), variety)
            res = T.run_variety(bench, targets, with_allocation=True) if done is None else None
            if res is None:  # (e) already ran: reuse its results for the check
                from . import variety as V
                from threadpoolctl import threadpool_limits

                acfg = config['tasks']['allocation']
                x, _ = bench.desc.matrix(config['tasks']['variety']['descriptors'])
                t0 = time.perf_counter()
                with threadpool_limits(limits=1):
                    recs = [V.allocation_check(bench.frame, x, r['target'], config['grids']['krr'], r,
                                               acfg['pilot_polymers'], acfg['pilot_runs'], acfg['pilot_sizes'],
                                               acfg['budget'], acfg['choices_runs'], bench.seed)
                            for r in done['records']]
                bench.timing['allocation:fits'] = time.perf_counter() - t0
                res = {'task': 'allocation', 'note': V.SIMULATED_NOTE, 'records': recs}
            else:
                res = {'task': 'allocation', 'note': res['note'],
                       'records': [r['allocation'] for r in res['records']], 'variety': res}
            parts.append(res)
        else:
            raise ValueError(f'unknown task {name!r}')
    results = parts[0] if len(parts) == 1 else {'task': 'all', 'parts': parts}
    results['timing'] = dict(bench.timing, wall_seconds=time.perf_counter() - start,
                             cpu_seconds_main=time.process_time() - cpu0, ff_failures=len(bench.desc.ff_failures),
                             load_average=os.getloadavg(), cpus=os.cpu_count(), machine=platform.machine())
    results['source'] = str(bench.frame.attrs.get('source', '' if source is None else source))
    results['splits_dir'] = str(splits_dir)
    results['ff_failures'] = bench.desc.ff_failures
    results = _jsonable(results)
    (out_dir / 'results.json').write_text(json.dumps(results))
    if plots:
        from .plots import plot_results

        for part in (results['parts'] if results['task'] == 'all' else [results]):
            if part['task'] != 'allocation':
                plot_results(part, out_dir)
    return results


def format_summary(results) -> str:
    """One line per record: the headline metric of each task."""
    lines = []
    for part in results['parts'] if results['task'] == 'all' else [results]:
        for rec in part['records']:
            if part['task'] == 'variety':
                cells = ' '.join(f"{k}:{v['rmse_sigma']['mean']:.3f}" for k, v in sorted(rec['summary'].items()))
                lines.append(f"variety {rec['target']}: RMSE/σ {cells}; best at equal compute "
                             f"{rec['best_at_equal_compute']} ({rec['note']})")
            elif part['task'] == 'allocation':
                lines.append(f"allocation {rec['target']}: recommended {rec['recommended']}, measured best "
                             f"{rec['measured_best']}, beta={rec['scaling_exponent']:.2f}, "
                             f"noise/signal={rec['noise_to_signal']:.3f} ({rec['note']})")
            elif rec['task'].startswith('extrapolation'):
                s = rec['summary']['test']
                lines.append(f"{rec['task']} {rec['target']} {rec['descriptors']} {rec['model']}: "
                             f"R2 {s['r2']['mean']:.3f}±{s['r2']['std']:.3f} "
                             f"RMSE/σ {s['rmse_sigma']['mean']:.3f}±{s['rmse_sigma']['std']:.3f}")
            else:
                metric = 'r2' if rec['task'] == 'interpolation' else 'rmse_sigma'
                cells = ' '.join(f"{k}:{v[metric]['mean']:.3f}±{v[metric]['std']:.3f}"
                                 for k, v in rec['summary'].items())
                lines.append(f"{rec['task']} {rec['target']} {rec['descriptors']} {rec['model']} {metric}: {cells}")
    return '\n'.join(lines)
