"""``polyinf serve``: the read-only web API over a profile."""

import click

from .root import cmd_root


@cmd_root.command('serve')
@click.option('--host', default='127.0.0.1', show_default=True,
              help='Interface to bind; the default is this machine only.')
@click.option('--port', default=8000, show_default=True, type=click.IntRange(1, 65535))
def cmd_serve(host, port):
    """Serve the profile's polymer database read-only: the API at /api/v1, its docs at /docs.

    One server process; requests run in its thread pool, each with its own read-only database session.
    """
    import uvicorn
    from aiida.manage import get_manager

    from ..api.app import create_app

    profile = get_manager().get_profile()
    app = create_app(profile.name if profile else None)
    click.echo(f'serving profile {app.state.profile} read-only ({app.state.dialect}) on http://{host}:{port}/docs')
    uvicorn.run(app, host=host, port=port, log_level='info')
