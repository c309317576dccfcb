"""``polyinf bench run TASK``: the ML benchmarks (aiida_polyinf.ml, through aiida_polyinf.benchmarking) on a dataset."""

import pathlib

import click
from aiida.cmdline.utils import decorators, echo

from .root import cmd_root

TASK_ALIASES = {
    'a': 'interpolation', 'b': 'range', 'c': 'similarity', 'd': 'scaling', 'e': 'variety', 'f': 'allocation',
}


@cmd_root.group('bench')
def cmd_bench():
    """ML benchmarks: physics vs structure descriptors, nested CV, extrapolation, variety vs volume."""


def _csv(value):
    return [v.strip() for v in value.split(',') if v.strip()] if value else None


@cmd_bench.command('run')
@click.argument('task', type=click.Choice(sorted(set(TASK_ALIASES) | set(TASK_ALIASES.values()) | {'all'})))
@click.option('--group', help='The group of polymers to benchmark, read from the provenance graph (e.g. radonpy/PI1070).')
@click.option('--source', type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
              help='Instead of --group: a PI1070-style CSV outside the graph (nothing is recorded; the results say so).')
@click.option('--target', 'targets', help='Target properties, comma-separated (default: from benchmark.yaml).')
@click.option('--descriptors', help='Descriptor sets, comma-separated, `+` joins sets: qm, radonpy_qm, ff, '
              'ff_gasteiger, md, ecfp, 2dfp, graph (default: from benchmark.yaml, the PI1070 sets).')
@click.option('--models', help='Models, comma-separated: pls,krr,gcn,gin (the graph networks need `graph`).')
@click.option('--simulate-trials', is_flag=True,
              help='Tasks e/f: simulate K-run labels from the aggregates\' spread (PI1070 has no per-trial values); '
              'without it they read the group\'s real MD trials and refuse a group with fewer than 2.')
@click.option('--out', 'out_dir', required=True, type=click.Path(file_okay=False, path_type=pathlib.Path))
@click.option('--splits', 'splits_dir', type=click.Path(file_okay=False, path_type=pathlib.Path),
              help='With --source: directory of frozen splits, read when present, written when not (default OUT/splits).')
@click.option('--config', type=click.Path(exists=True, dir_okay=False), help='Grids and task settings (YAML).')
@click.option('--cache', type=click.Path(file_okay=False), help='On-disk descriptor cache (default $POLYINF_CACHE_DIR).')
@click.option('--jobs', type=int, default=None, help='Worker processes (default: every core).')
@click.option('--no-plots', is_flag=True, help='Write results.json only.')
@decorators.with_dbenv()
def cmd_bench_run(task, group, source, targets, descriptors, models, simulate_trials, out_dir, splits_dir, config,
                  cache, jobs, no_plots):
    """Run benchmark TASK (a-f or its name, or `all` for a-f) on --group and write OUT/results.json and PNG plots.

    With --group every task is a process of the graph (`verdi process list -a` shows `ml_benchmark_task`), whose
    inputs are the stored dataset and the configuration and whose outputs are the results, plots and splits.
    """
    import json
    import os
    import time

    from ..benchmarking import format_summary
    from ..benchmarking.run import run_csv, run_group
    from ..benchmarking import MixedSources

    if (group is None) == (source is None):
        echo.echo_critical('give --group GROUP (the provenance graph) or --source CSV (a file outside it)')
    if cache:
        os.environ['POLYINF_CACHE_DIR'] = str(cache)
    task = TASK_ALIASES.get(task, task)
    start = time.perf_counter()
    args = {'targets': _csv(targets), 'descriptor_sets': _csv(descriptors), 'models': _csv(models), 'config': config,
            'n_jobs': jobs, 'plots': not no_plots, 'echo': click.echo}
    try:
        if group is not None:
            results = run_group(task, group, out_dir, simulate_trials=simulate_trials, **args)
        else:
            results = run_csv(task, source, out_dir, cache=cache, splits_dir=splits_dir, **args)
    except (MixedSources, ValueError) as exception:
        echo.echo_critical(str(exception))
    click.echo(format_summary(results))
    click.echo(f'wrote {out_dir / "results.json"} in {time.perf_counter() - start:.0f} s; timing: '
               f'{json.dumps(results.get("run_timing", results.get("timing")), default=str)}')


@cmd_bench.command('recommend')
@click.option('--group', required=True, help='A group of polymers with at least 2 MD trials each (the pilot).')
@click.option('--budget', type=click.IntRange(min=1), required=True, help='MD runs to allocate (N polymers x K runs).')
@click.option('--target', 'targets', help='Target properties, comma-separated (default: the variety targets).')
@click.option('--descriptors', help='Descriptor set of the learning curve, e.g. qm+ff (default: benchmark.yaml\'s).')
@click.option('--pilot-size', type=click.IntRange(min=4), default=120, show_default=True,
              help='Polymers of the pilot, drawn from those with enough trials.')
@click.option('--pilot-runs', type=click.IntRange(min=2), default=None, help='Trials per pilot polymer (default: all).')
@click.option('--sizes', help='Pilot subset sizes of the learning curve, comma-separated (default: 1/2, 3/4, all).')
@click.option('--runs', 'choices_runs', default='1,3,9', show_default=True, help='Choices of K, comma-separated.')
@click.option('--config', type=click.Path(exists=True, dir_okay=False), help='Grids (YAML).')
@decorators.with_dbenv()
def cmd_bench_recommend(group, budget, targets, descriptors, pilot_size, pilot_runs, sizes, choices_runs, config):
    """Recommend N polymers x K MD runs for a budget from a pilot of the group's real trials (task f)."""
    from ..benchmarking.run import recommend_group
    from ..benchmarking import MixedSources

    try:
        result, node = recommend_group(
            group, budget, _csv(targets), descriptors, pilot_size, pilot_runs,
            [int(v) for v in _csv(sizes)] if sizes else None, [int(v) for v in _csv(choices_runs)], config,
            echo=click.echo)
    except (MixedSources, ValueError) as exception:
        echo.echo_critical(str(exception))
    for target, rec in result['targets'].items():
        if 'error' in rec:
            click.echo(f'{target}: no recommendation: {rec["error"]}')
            continue
        options = ', '.join(f"{o['n_polymers']}x{o['n_runs']}: RMSE/σ {o['predicted_rmse_sigma']:.3f}"
                            if o['predicted_rmse_sigma'] is not None else f"{o['n_polymers']}x{o['n_runs']}"
                            for o in rec['options'])
        click.echo(f"{target}: recommended {rec['recommended']} (pilot {rec['pilot']['n_polymers']} polymers x "
                   f"{rec['pilot']['n_runs']} trials; noise/signal {rec['noise_to_signal']}, "
                   f"beta {rec['scaling_exponent']:.2f}); {options}")
    click.echo(f'recorded as process {node.pk} ({node.uuid}), {result["note"]}')


@cmd_bench.command('compare')
@click.argument('new', type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.argument('reference', type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.option('--gnn-tolerance', type=float, default=0.05, show_default=True,
              help='Allowed difference of the graph networks\' RMSE/σ.')
def cmd_bench_compare(new, reference, gnn_tolerance):
    """Check that results NEW reproduce REFERENCE: PLS/KRR values equal (to 1e-9 relative), GNNs within tolerance."""
    import json

    from ..benchmarking import compare

    report = compare(json.loads(new.read_text()), json.loads(reference.read_text()), gnn_tolerance=gnn_tolerance)
    for line in report['missing']:
        click.echo(f'missing: {line}')
    for line in report['differences'][:50]:
        click.echo(f'differs: {line}')
    click.echo(f"{report['compared']} values compared, largest relative difference "
               f"{report['max_relative_difference']:.3g}, {len(report['differences'])} differ, "
               f"{len(report['missing'])} record(s) missing")
    if not report['same']:
        raise SystemExit(1)
    click.echo('same results')
