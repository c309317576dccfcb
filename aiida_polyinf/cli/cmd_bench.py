"""``polyinf bench run TASK``: the ML benchmarks (aiida_polyinf.ml, through aiida_polyinf.benchmarking) on a dataset."""

import pathlib

import click

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
@click.option('--target', 'targets', help='Target properties, comma-separated (default: from benchmark.yaml).')
@click.option('--descriptors', help='Descriptor sets, comma-separated, `+` joins sets: qm,ff,md,qm+ff,ecfp,2dfp,graph.')
@click.option('--models', help='Models, comma-separated: pls,krr,gcn,gin (the graph networks need `graph`).')
@click.option('--source', default=None, help='A PI1070-style CSV or a group label (default: ../shared PI1070).')
@click.option('--out', 'out_dir', required=True, type=click.Path(file_okay=False, path_type=pathlib.Path))
@click.option('--splits', 'splits_dir', type=click.Path(file_okay=False, path_type=pathlib.Path),
              help='Directory of frozen splits: read when present, written when not (default: OUT/splits).')
@click.option('--config', type=click.Path(exists=True, dir_okay=False), help='Grids and task settings (YAML).')
@click.option('--cache', type=click.Path(file_okay=False), help='Descriptor cache (default $POLYINF_CACHE_DIR).')
@click.option('--jobs', type=int, default=None, help='Worker processes (default: every core).')
@click.option('--no-plots', is_flag=True, help='Write results.json only.')
def cmd_bench_run(task, targets, descriptors, models, source, out_dir, splits_dir, config, cache, jobs, no_plots):
    """Run benchmark TASK (a-f or its name, or `all` for a-f) and write OUT/results.json and PNG plots."""
    import json
    import time

    from ..benchmarking import format_summary, load, run_task

    task = TASK_ALIASES.get(task, task)
    start = time.perf_counter()
    results = run_task(
        task, source=load(source) if source else None, out_dir=out_dir, targets=_csv(targets), descriptor_sets=_csv(descriptors),
        models=_csv(models), splits_dir=splits_dir, config=config, cache=cache, n_jobs=jobs, plots=not no_plots,
        echo=click.echo,
    )
    click.echo(format_summary(results))
    click.echo(f'wrote {out_dir / "results.json"} in {time.perf_counter() - start:.0f} s; timing: '
               f'{json.dumps(results["timing"], default=str)}')
