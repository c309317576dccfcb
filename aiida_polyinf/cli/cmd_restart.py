"""``polyinf restart-failed``: relaunch the failed polymers of a campaign, from their checkpoints."""

import click
from aiida.cmdline.utils import decorators, echo

from ..common.stages import NAMES
from .root import cmd_root


@cmd_root.command('restart-failed')
@click.option('--group', 'group_label', help='The polymer group of the campaign (default: every campaign).')
@click.option('--stage', type=click.Choice(NAMES[1:]), default=None, help='Only the polymers that failed in this stage.')
@click.option('--protocol', default=None, help='Only the runs of this protocol.')
@click.option('--dry-run', is_flag=True, help='List what would be relaunched, and from which checkpoint; submit nothing.')
@decorators.with_dbenv()
def cmd_restart_failed(group_label, stage, protocol, dry_run):
    """Relaunch the failed PolymerPropertiesWorkChain of a campaign; what succeeded is never relaunched.

    Each failed polymer's chain is submitted again with the same inputs; the failed stage starts from its checkpoint
    where it has one (QM: the last geometry and the PySCF chkfile of the failed job). Stages that had succeeded are
    cache hits when caching is on (`polyinf setup`). The new chain takes over the polymer's campaign key and records
    `polyinf_restarted_from`.
    """
    from aiida import orm

    from ..campaign.submit import ensure_daemon
    from ..campaign.controller import runs_group_label
    from ..campaign.relaunch import failed_runs, relaunch, restart_builder

    runs = failed_runs(group_label, stage, protocol)
    if not runs:
        echo.echo_report('no failed run to relaunch')
        return
    if not dry_run:
        ensure_daemon()
    group = orm.Group.collection.get_or_create(label=runs_group_label(group_label))[0] if group_label else None
    for run in runs:
        polymer = run.node.inputs.polymer
        head = f'{run.node.process_label}<{run.node.pk}> ({polymer.smiles}), stage {run.stage or "?"}: {run.reason}'
        if dry_run:
            restart_builder(run)
        else:
            new = relaunch(run, runs_group=group)
            head += f' -> relaunched as <{new.pk}>'
        source = ', '.join(f'{path} = {type(node).__name__}<{node.pk}>' for path, node in run.restart_inputs.items())
        echo.echo(f'{head}; from {source or "the start of the stage"}')
    verb = 'would relaunch' if dry_run else 'relaunched'
    echo.echo_report(f'{verb} {len(runs)} failed run(s)')
