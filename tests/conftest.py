"""Shared fixtures, built on ``aiida.tools.pytest_fixtures``.

The session profile is overridden to carry a ZeroMQ broker, so that daemon tests can run on it: the default
``aiida_profile`` fixture of aiida-core defines no broker.
"""

import pathlib
import sys

import pytest

pytest_plugins = ['aiida.tools.pytest_fixtures']

ROOT = pathlib.Path(__file__).resolve().parent.parent
from aiida_polyinf.datasets import PI1070  # noqa: E402 (the copy shipped inside the package)


@pytest.fixture(scope='session')
def aiida_profile(aiida_config, aiida_profile_factory):
    """A temporary SQLite profile with the ZeroMQ broker (so that the daemon can run)."""
    from aiida.engine.daemon import client

    if client.VERDI_BIN is None:  # the daemon is launched through `verdi`, found beside this Python
        client.VERDI_BIN = str(pathlib.Path(sys.executable).parent / 'verdi')
    with aiida_profile_factory(aiida_config, broker_backend='core.zeromq') as profile:
        aiida_config.set_option('daemon.timeout', 30, scope=profile.name)  # busy 2-core CI machines answer slowly
        aiida_config.store()
        yield profile


@pytest.fixture
def polyinf_codes(aiida_localhost):
    """The pipeline's codes on the test localhost, as `polyinf setup` makes them."""
    from aiida import orm

    from aiida_polyinf.profiles.setup import ensure_codes

    ensure_codes(aiida_localhost)
    return {label: orm.load_code(f'{label}@{aiida_localhost.label}') for label in ('lmp', 'pyscf')}
