"""``polyinf bench run`` and ``polyinf bench recommend``: the benchmarks of a group, recorded in the graph.

:func:`run_group` stores the group's dataset (and per-trial dataset for tasks e/f on real trials), finds or builds
the descriptor cache, runs one ``ml_benchmark_task`` calcfunction per task, and writes ``OUT/results.json`` (the
tasks' results, with the processes that made them), the PNGs and the frozen splits from the stored outputs.
:func:`run_csv` runs on a CSV outside the graph and records nothing in it; its results say so.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import platform
import time

from aiida import orm

from ..ml import tasks as T
from ..ml.descriptors import SMILES_SETS
from .graph import dataset_nodes, max_trials, read_table
from .processes import descriptor_cache, ml_allocation_recommend, ml_benchmark_task

VARIETY_TASKS = ('variety', 'allocation')
CSV_NOTE = 'data outside the provenance graph (a CSV file): nothing of this run is recorded in the graph'


class NoTrials(ValueError):
    """Tasks (e)/(f) were asked for on a group without real per-trial values, and without --simulate-trials."""


def _tasks(task):
    return list(T.TASKS) if task == 'all' else [task]


def _specs(config, tasks, descriptor_sets):
    from ..ml.bench import _default_sets

    specs = set()
    for name in tasks:
        if name in VARIETY_TASKS:
            specs.add(config['tasks']['variety']['descriptors'])
        else:
            specs.update(descriptor_sets or _default_sets(config, name))
    return specs


def _smiles_sets(config, tasks, descriptor_sets) -> list[str]:
    needed = {part for spec in _specs(config, tasks, descriptor_sets) for part in spec.split('+')}
    if any(name in ('similarity', 'scaling') for name in tasks):
        needed.add('ecfp')  # the similarity partition
    return sorted(needed & set(SMILES_SETS))


def _write(out_dir: pathlib.Path, node: orm.Node, label: str, subdir: str = ''):
    folder = node.outputs[label] if label in node.outputs else None
    if folder is None:
        return
    target = (out_dir / subdir).resolve()
    target.mkdir(parents=True, exist_ok=True)
    folder.base.repository.copy_tree(target)


def run_group(task, group, out_dir, targets=None, descriptor_sets=None, models=None, config=None,
              simulate_trials=False, n_jobs=None, plots=True, echo=print) -> dict:
    """Run ``task`` ('all' or one of a-f by name) on ``group``, recorded in the graph; return the results."""
    start, cpu0 = time.perf_counter(), time.process_time()
    load_before = os.getloadavg()
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = T.load_config(config)
    tasks = _tasks(task)
    timing: dict = {}

    t0 = time.perf_counter()
    dataset, manifest = dataset_nodes(group)
    trials = None
    if any(name in VARIETY_TASKS for name in tasks) and not simulate_trials:
        trials, _ = dataset_nodes(group, trials=True)
        wanted = [targets] if isinstance(targets, str) else (targets or cfg['tasks']['variety']['targets'])
        k = max_trials(read_table(trials), wanted)
        if k < 2:
            raise NoTrials(
                f'group {group!r} has at most {k} MD trial(s) per polymer of {", ".join(wanted)}: variety vs volume '
                f'(e) and the allocation check (f) need real per-trial values (K >= 2), or --simulate-trials to '
                f'simulate the runs from the aggregates\' spread (labelled so in the results)'
            )
    timing['dataset_seconds'] = time.perf_counter() - t0
    echo(f'dataset {dataset.uuid} ({manifest["rows"]} polymers, sha256 {manifest["files"]["dataset.csv"]["sha256"][:12]})'
         + (f', per-trial dataset {trials.uuid}' if trials is not None else ''))

    t0 = time.perf_counter()
    sets = _smiles_sets(cfg, tasks, descriptor_sets)
    descriptors = descriptor_cache(dataset, sets, processes=n_jobs, echo=echo) if sets else None
    timing['descriptor_cache_seconds'] = time.perf_counter() - t0

    parts, processes, variety_results = [], [], None
    for name in tasks:
        conf = {'task': name, 'targets': targets, 'descriptor_sets': descriptor_sets, 'models': models,
                'benchmark': cfg, 'n_jobs': n_jobs or os.cpu_count(), 'plots': plots,
                'simulate_trials': bool(simulate_trials or trials is None)}
        inputs = {'dataset': dataset, 'manifest': manifest, 'config': orm.Dict(conf)}
        if descriptors is not None:
            inputs['descriptors'] = descriptors
        if trials is not None and name in VARIETY_TASKS:
            inputs['trials'] = trials
        if name == 'allocation' and variety_results is not None:
            inputs['variety'] = variety_results
        t0 = time.perf_counter()
        outputs, node = ml_benchmark_task.run_get_node(**inputs)
        if not node.is_finished_ok:
            raise RuntimeError(f'benchmark task {name} failed: process {node.pk} ({node.exit_message or node.process_state})')
        timing[f'{name}_seconds'] = time.perf_counter() - t0
        with outputs['results'].open(mode='r') as handle:
            part = json.load(handle)
        if name == 'variety':
            variety_results = outputs['results']
        _write(out_dir, node, 'plots')
        _write(out_dir, node, 'splits', 'splits')
        part['process'] = {'uuid': node.uuid, 'pk': node.pk, 'label': node.process_label}
        echo(f'{name}: process {node.pk} ({node.uuid}) in {timing[f"{name}_seconds"]:.0f} s')
        parts.append(part)
        processes.append(part['process'])

    results = parts[0] if len(parts) == 1 else {'task': 'all', 'parts': parts}
    results['provenance'] = parts[0]['provenance']
    results['processes'] = processes
    results['run_timing'] = dict(timing, wall_seconds=time.perf_counter() - start,
                                 cpu_seconds_main=time.process_time() - cpu0, load_before=load_before,
                                 load_after=os.getloadavg(), cpus=os.cpu_count(), machine=platform.machine())
    (out_dir / 'results.json').write_text(json.dumps(results))
    return results


def run_csv(task, source, out_dir, targets=None, descriptor_sets=None, models=None, config=None, cache=None,
            n_jobs=None, plots=True, splits_dir=None, echo=print) -> dict:
    """Run on a PI1070-style CSV, outside the graph: nothing is recorded, and the results say so."""
    from ..ml.bench import run_task

    source = pathlib.Path(source)
    results = run_task(task, source=source, out_dir=out_dir, targets=targets, descriptor_sets=descriptor_sets,
                       models=models, config=config, cache=cache, n_jobs=n_jobs, plots=plots, splits_dir=splits_dir,
                       echo=echo)
    results['provenance'] = {'source': 'csv', 'path': source.name,
                             'sha256': hashlib.sha256(source.read_bytes()).hexdigest(), 'note': CSV_NOTE}
    results['source'] = f'csv: {source.name} ({CSV_NOTE})'
    (pathlib.Path(out_dir) / 'results.json').write_text(json.dumps(results))
    return results


def recommend_group(group, budget, targets=None, descriptors=None, pilot_size=120, pilot_runs=None, sizes=None,
                    choices_runs=(1, 3, 9), config=None, echo=print) -> tuple[dict, orm.Node]:
    """The allocation recommender on a group's real MD trials, recorded as ``ml_allocation_recommend``."""
    cfg = T.load_config(config)
    dataset, manifest = dataset_nodes(group)
    trials, _ = dataset_nodes(group, trials=True)
    targets = list(targets or cfg['tasks']['variety']['targets'])
    k = max_trials(read_table(trials), targets)
    if k < 2:
        raise NoTrials(f'group {group!r} has at most {k} MD trial(s) per polymer of {", ".join(targets)}: the '
                       f'recommender estimates the run-to-run noise from a pilot with at least 2 trials per polymer')
    spec = descriptors or cfg['tasks']['variety']['descriptors']
    sets = sorted({p for p in spec.split('+')} & set(SMILES_SETS))
    cache = descriptor_cache(dataset, sets, echo=echo) if sets else None
    conf = {'targets': targets, 'budget': int(budget), 'descriptors': spec, 'pilot_size': int(pilot_size),
            'pilot_runs': pilot_runs, 'sizes': list(sizes) if sizes else None, 'choices_runs': list(choices_runs),
            'grid': cfg['grids']['krr'], 'seed': cfg['seed']}
    inputs = {'dataset': dataset, 'manifest': manifest, 'trials': trials, 'config': orm.Dict(conf)}
    if cache is not None:
        inputs['descriptors'] = cache
    result, node = ml_allocation_recommend.run_get_node(**inputs)
    return result.get_dict(), node

