"""Orchestration of one benchmark run on a dataset: run a task, write ``results.json`` and the plots.

Pure (no AiiDA): the dataset is given, as a frame in the contract of :mod:`.data` or a PI1070-style CSV. Runs that
read the provenance graph and record themselves in it go through :mod:`aiida_polyinf.benchmarking`.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import time

import numpy as np

from . import tasks as T

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

    The data: ``bench`` (a :class:`.tasks.Bench`, with its descriptor tables and trials) or ``source`` (a frame or a
    CSV path); one of them is required. ``n_jobs``: worker processes (default: every core). ``variety``: the
    results of an earlier (e) run, which task (f) checks its recommendations against instead of running (e) again.
    """
    from .data import load

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits_dir = pathlib.Path(splits_dir) if splits_dir else out_dir / 'splits'
    start = time.perf_counter()
    cpu0 = time.process_time()
    if bench is None:
        if source is None:
            raise ValueError('no dataset: give a Bench or a source (a dataset frame or a CSV file)')
        frame = load(source)
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
                trials = bench.trials or {}
                with threadpool_limits(limits=1):
                    recs = [V.allocation_check(bench.frame, x, r['target'], config['grids']['krr'], r,
                                               acfg['pilot_polymers'], acfg['pilot_runs'], acfg['pilot_sizes'],
                                               acfg['budget'], acfg['choices_runs'], bench.seed,
                                               runs=trials.get(r['target']) if bench.trials is not None else None)
                            for r in done['records']]
                bench.timing['allocation:fits'] = time.perf_counter() - t0
                res = {'task': 'allocation', 'note': V.note(bench.trials), 'records': recs}
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
    inside = splits_dir.resolve().is_relative_to(out_dir.resolve())
    results['splits_dir'] = str(splits_dir.resolve().relative_to(out_dir.resolve())) if inside else str(splits_dir)
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


#: Keys of results.json that describe a run rather than its results: never compared.
RUN_KEYS = frozenset({'timing', 'provenance', 'process', 'processes', 'run_timing', 'source', 'splits_dir'})
GNN_MODELS = ('gcn', 'gin')


def _leaves(obj, path=()):
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key not in RUN_KEYS:
                yield from _leaves(value, path + (str(key),))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _leaves(value, path + (str(i),))
    else:
        yield path, obj


def _record_key(rec):
    return (rec.get('task'), rec.get('target'), rec.get('descriptors'), rec.get('model'))


def compare(new: dict, reference: dict, rtol: float = 1e-9, gnn_tolerance: float = 0.05) -> dict:
    """Compare two results.json: every result value of the PLS/KRR records within ``rtol`` (relative), the graph
    networks' RMSE/σ within ``gnn_tolerance``; run descriptions (timing, provenance) are ignored.

    Returns ``{'same': bool, 'compared': n, 'max_relative_difference': x, 'differences': [...], 'missing': [...]}``.
    """
    def records(results):
        out = {}
        for part in results['parts'] if results.get('task') == 'all' else [results]:
            for i, rec in enumerate(part.get('records', [])):
                key = _record_key(rec) if 'model' in rec else (part['task'], rec.get('target'), i)
                out[key] = rec
        return out

    ours, theirs = records(new), records(reference)
    report = {'compared': 0, 'max_relative_difference': 0.0, 'differences': [],
              'missing': [str(k) for k in theirs if k not in ours], 'extra': [str(k) for k in ours if k not in theirs]}
    for key, ref in theirs.items():
        if key not in ours:
            continue
        gnn = len(key) == 4 and key[3] in GNN_MODELS
        got = dict(_leaves(ours[key]))
        for path, value in _leaves(ref):
            if gnn and not (path and path[-1] == 'mean' and 'rmse_sigma' in path):
                continue
            other = got.get(path)
            report['compared'] += 1
            if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(other, (int, float)):
                diff = abs(other - value)
                if gnn:
                    if diff > gnn_tolerance:
                        report['differences'].append(f'{key} {"/".join(path)}: {other} vs {value} (GNN tolerance)')
                    continue
                rel = diff / max(1.0, abs(value))
                report['max_relative_difference'] = max(report['max_relative_difference'], rel)
                if rel > rtol:
                    report['differences'].append(f'{key} {"/".join(path)}: {other} vs {value}')
            elif other != value:
                report['differences'].append(f'{key} {"/".join(path)}: {other!r} vs {value!r}')
    report['same'] = not report['differences'] and not report['missing']
    return report
