"""``polyinf setup``."""

import click

from .root import cmd_root


@cmd_root.command('setup')
@click.option('--profile-name', default=None,
              help='Name of the profile to create or check  [default: polyinf, with --postgres: polyinf-pg].')
@click.option('--postgres', is_flag=True,
              help='Scale-out profile: PostgreSQL storage and RabbitMQ broker, the services of '
                   '`bash setup/services.sh start` (the postgres credentials are read from '
                   '~/.config/aiida-polyinf/postgres.env).')
@click.option('--computer', 'computer', default=None,
              help='Set up a shipped remote computer (squid, mdx-slurm, mdx, mdx-test) on the profile (-p, else the '
                   'default profile): the computer, its transport, the lmp and pyscf codes and its run profile, from '
                   'setup/computers/NAME/ and your --config file.')
@click.option('--config', 'config', default=None, type=click.Path(dir_okay=False),
              help='With --computer: your settings (user name, group, remote paths, ssh Host alias), a copy of '
                   'setup/computers/NAME/user.example.yaml kept outside the repository (mdx-test needs none).')
def cmd_setup(profile_name, postgres, computer, config):
    """Create a profile, the localhost computer and the codes. Idempotent.

    By default the embedded profile (SQLite + ZeroMQ, no service needed); with --postgres a PostgreSQL + RabbitMQ
    profile for many daemon workers, many users and remote computers; with --computer a remote computer on an
    existing profile.
    """
    from ..profiles.setup import DEFAULT_PROFILE, POSTGRES_PROFILE, ServiceError, setup_embedded, setup_postgres

    if computer:
        from aiida import load_profile
        from aiida.manage import get_manager

        from ..computers import ComputerConfigError
        from ..computers.configure import setup_computer

        if profile_name or get_manager().get_profile() is None:
            load_profile(profile_name, allow_switch=True)
        try:
            setup_computer(computer, config, echo=click.echo)
        except ComputerConfigError as exception:
            raise click.ClickException(str(exception)) from exception
        return
    if config:
        raise click.UsageError('--config goes with --computer')
    if postgres:
        try:
            setup_postgres(profile_name or POSTGRES_PROFILE, echo=click.echo)
        except ServiceError as exception:
            raise click.ClickException(str(exception)) from exception
    else:
        setup_embedded(profile_name or DEFAULT_PROFILE, echo=click.echo)
