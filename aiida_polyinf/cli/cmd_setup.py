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
def cmd_setup(profile_name, postgres):
    """Create a profile, the localhost computer and the codes. Idempotent.

    By default the embedded profile (SQLite + ZeroMQ, no service needed); with --postgres a PostgreSQL + RabbitMQ
    profile for many daemon workers, many users and remote computers.
    """
    from ..profiles.setup import DEFAULT_PROFILE, POSTGRES_PROFILE, ServiceError, setup_embedded, setup_postgres

    if postgres:
        try:
            setup_postgres(profile_name or POSTGRES_PROFILE, echo=click.echo)
        except ServiceError as exception:
            raise click.ClickException(str(exception)) from exception
    else:
        setup_embedded(profile_name or DEFAULT_PROFILE, echo=click.echo)
