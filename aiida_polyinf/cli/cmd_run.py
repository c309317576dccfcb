"""``polyinf run``: the main job."""

import pathlib

import click
from aiida.cmdline.utils import decorators, echo

from .root import cmd_root


@cmd_root.command('run')
@click.argument('source')
@click.option(
    '--protocol', type=click.Choice(['fast', 'moderate', 'precise']), default='moderate', show_default=True
)
@click.option('--trials', type=int, default=None, help='Independent MD trials per polymer (default: the protocol).')
@click.option('--wait', is_flag=True, help='Block, with a progress bar, until every process is done.')
@click.option('--timeout', type=float, default=None, help='With --wait: give up after this many seconds.')
@decorators.with_dbenv()
def cmd_run(source, protocol, trials, wait, timeout):
    """Run the pipeline for every polymer of SOURCE, a CSV file (imported first) or a group label."""
    from tqdm import tqdm

    from ..campaign import ensure_daemon, group_polymers, pipeline_codes, submit_campaign, unavailable_stages
    from ..campaign import wait as wait_for
    from ..intake import import_file, write_rejected

    path = pathlib.Path(source)
    if path.is_file():
        report = import_file(path)
        write_rejected(report.rejected, pathlib.Path('rejected.csv'))
        for item in report.rejected:
            click.echo(f'rejected: {item.line()}', err=True)
        echo.echo_report(f'import: {report.summary()}')
        group_label = report.group
    else:
        group_label = source
    polymers = group_polymers(group_label)
    if not polymers:
        echo.echo_critical(f'no polymers in group `{group_label}` (and no file `{source}`)')

    ensure_daemon()

    codes = pipeline_codes()
    for label, code in codes.items():
        if code is None:
            echo.echo_warning(f'no code {label}@localhost: its stages are skipped (run `polyinf setup`)')
    overrides = {'md': {'trials': trials}} if trials else None
    nodes, new = submit_campaign(polymers, protocol, codes, overrides)
    echo.echo_report(
        f'{len(polymers)} polymer(s) in `{group_label}`, protocol {protocol}: {new} submitted, '
        f'{len(nodes) - new} already submitted'
    )
    for stage in unavailable_stages():
        echo.echo_warning(f'stage {stage}: unavailable in this version, skipped')
    if not wait:
        return
    with tqdm(total=len(nodes), desc='polymers', unit='polymer') as progress:
        wait_for(nodes, progress, timeout=timeout)
    failed = [node for node in nodes if not node.is_finished_ok]
    echo.echo_report(f'{len(nodes) - len(failed)} finished ok, {len(failed)} failed')
    for node in failed:
        echo.echo_warning(f'pk {node.pk}: {node.process_state.value} exit {node.exit_status} {node.exit_message or ""}')
