"""``polyinf setup``."""

import click

from .root import cmd_root


@cmd_root.command('setup')
@click.option('--profile-name', default='polyinf', show_default=True, help='Name of the profile to create or check.')
def cmd_setup(profile_name):
    """Create the embedded profile (SQLite + ZeroMQ), the localhost computer and the codes. Idempotent."""
    from ..profile import setup_embedded

    setup_embedded(profile_name, echo=click.echo)
