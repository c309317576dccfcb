"""``polyinf status``: a per-stage table of a campaign."""

import click
from aiida.cmdline.utils import decorators, echo

from .root import cmd_root


@cmd_root.command('status')
@click.option('--group', 'group_label', help='The polymer group of the campaign (default: every campaign).')
@click.option('--protocol', default=None, help='Only the runs of this protocol.')
@decorators.with_dbenv()
def cmd_status(group_label, protocol):
    """Per stage, how many polymers are queued, running, finished, failed (with exit codes) or skipped.

    Failed counts name the exit codes, e.g. `2 (402×1, 404×1)`; for a stage it is the code of the stage's own
    process (`excepted` or `killed` when it has none), for the `polymers` row that of the top-level chain.
    `skipped`: a stage given to a chain that ended before reaching it.
    """
    from tabulate import tabulate

    from ..campaign.status import COLUMNS, campaign_status

    status = campaign_status(group_label, protocol)
    where = f'group `{group_label}`' if group_label else 'all groups'
    if not status.chains:
        echo.echo_report(f'{where}: {status.polymers} polymer(s), no campaign run yet')
        return
    click.echo(tabulate(status.rows(), headers=['stage', *COLUMNS], tablefmt='simple'))
    echo.echo_report(
        f'{where}: {status.polymers} polymer(s), {len(status.chains)} run(s), {status.unsubmitted} not submitted'
    )
