"""``polyinf doctor`` and ``polyinf watch``: remote computers before and during a campaign."""

import click
from aiida.cmdline.utils import decorators, echo

from .root import cmd_root


@cmd_root.command('doctor')
@click.option('--computer', required=True, help='A computer made by `polyinf setup --computer NAME`.')
@decorators.with_dbenv()
def cmd_doctor(computer):
    """Check a configured computer before the first campaign: the login works, the scheduler answers, the work
    directory is writable, each code runs (`lmp -h`, the Python imports pyscf and geometric) and, on Slurm, every
    stage's request is accepted (`sbatch --test-only`)."""
    from ..computers import ComputerConfigError
    from ..computers.doctor import run_checks

    try:
        checks = run_checks(computer, queues=True)
    except ComputerConfigError as error:
        echo.echo_critical(str(error))
    for check in checks:
        click.echo(check.line())
    failed = [check for check in checks if not check.ok]
    if failed:
        raise click.ClickException(f'{len(failed)} check(s) failed on {computer}')
    click.echo(f'{computer}: all {len(checks)} checks passed')


@cmd_root.command('watch')
@click.option('--interval', type=click.FloatRange(min=1), default=30.0, show_default=True,
              help='Seconds between two rounds.')
@click.option('--once', is_flag=True, help='One round, then exit.')
@decorators.with_dbenv()
def cmd_watch(interval, once):
    """Resume the jobs AiiDA paused because their computer could not be reached (the ssh master connection of a
    two-factor login closed, the computer down): every INTERVAL seconds, for each computer with such jobs, try the
    login and, when it works, play them. Leave it running beside a campaign; every action is logged."""
    from ..computers.watch import watch

    click.echo(f'watching for jobs paused by an unreachable computer, every {interval:g} s (Ctrl-C to stop)')
    try:
        watch(interval=interval, rounds=1 if once else None, log=lambda line: click.echo(line))
    except KeyboardInterrupt:
        click.echo('stopped')
