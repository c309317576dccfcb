"""The scale-out path for real: PostgreSQL and RabbitMQ started by setup/services.sh, `polyinf setup --postgres`, a
daemon worker on that profile running a small work chain, `verdi process list/show/report`, then the profile and its
database deleted again. Runs in a fresh AIIDA_PATH, as a user would, under a unique profile name.

It needs root (or sudo) for setup/services.sh; on a clean Debian machine the script installs the packages first.
"""

import json
import os
import pathlib
import secrets
import shutil
import subprocess
import sys
import time

import pytest

from aiida_polyinf.profiles.setup import postgres_env_path, postgres_superuser

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent

SUBMIT = """
from aiida import orm
from aiida.engine import submit
from aiida_polyinf.calculations.intake import register_polymer
from aiida_polyinf.workchains.intake import IntakeWorkChain

polymer = register_polymer(orm.Str('*CC(*)c1ccccc1'))
print('PK', submit(IntakeWorkChain, polymer=polymer, seed=orm.Int(5)).pk)
"""


def can_start_services() -> bool:
    if os.geteuid() == 0:
        return True
    return shutil.which('sudo') is not None and subprocess.run(['sudo', '-n', 'true'], capture_output=True).returncode == 0


TIMINGS: list[tuple[str, float]] = []


def run(args, env, cwd, check=True, timeout=300):
    started = time.monotonic()
    result = subprocess.run([str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    TIMINGS.append((' '.join(str(a) for a in args[1:4]), time.monotonic() - started))
    if check and result.returncode != 0:
        raise AssertionError(f'{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}')
    return result


@pytest.mark.daemon
@pytest.mark.skipif(not can_start_services(), reason='setup/services.sh needs root or passwordless sudo')
def test_postgres_rabbitmq_profile_runs_a_process_through_the_daemon(tmp_path):
    start = time.monotonic()
    env = dict(os.environ, AIIDA_PATH=str(tmp_path / 'aiida'), PATH=f'{BIN}{os.pathsep}{os.environ["PATH"]}')
    polyinf, verdi = BIN / 'polyinf', BIN / 'verdi'
    name = f'polyinf-pg-test-{secrets.token_hex(4)}'

    services = ''.join(  # the two services of this path (`start` alone also starts ssh and Slurm)
        run(['bash', ROOT / 'setup' / 'services.sh', 'start', what], env, ROOT, timeout=900).stdout
        for what in ('postgres', 'rabbitmq')
    )
    assert 'postgres: running' in services and 'rabbitmq: running' in services, services
    assert 'consumer_timeout {ok,undefined}' in services, services
    env_file = postgres_env_path()
    assert env_file.is_file() and (env_file.stat().st_mode & 0o077) == 0, 'credentials file missing or readable by others'
    assert ROOT not in env_file.resolve().parents, 'the postgres credentials must live outside the repository'
    superuser = postgres_superuser()

    try:
        first = run([polyinf, 'setup', '--postgres', '--profile-name', name], env, tmp_path).stdout
        assert f'profile   {name}: created (core.psql_dos + core.rabbitmq)' in first, first
        assert 'computer  localhost: created' in first
        assert 'code      lmp@localhost: created' in first and 'code      pyscf@localhost: created' in first
        assert f'read-only role aiida-{name}-ro: created' in first, first
        second = run([polyinf, 'setup', '--postgres', '--profile-name', name], env, tmp_path).stdout
        assert 'created' not in second and second.count('exists') == 5, second
        check_read_only_role(name, env, tmp_path, superuser)

        config = json.loads((tmp_path / 'aiida' / '.aiida' / 'config.json').read_text())
        profile = config['profiles'][name]
        assert profile['storage']['backend'] == 'core.psql_dos'
        assert profile['process_control']['backend'] == 'core.rabbitmq'
        assert profile['storage']['config']['database_username'] != superuser['user']
        assert superuser['password'] not in json.dumps(config), 'the postgres role password leaked into the config'
        assert profile['options']['warnings.rabbitmq_version'] is False

        run([verdi, '-p', name, 'daemon', 'start', '1'], env, tmp_path)
        script = tmp_path / 'submit.py'
        script.write_text(SUBMIT)
        submitted = run([verdi, '-p', name, 'run', script], env, tmp_path).stdout
        pk = submitted.split('PK', 1)[1].split()[0]

        deadline = time.monotonic() + 180
        while True:
            show = run([verdi, '-p', name, 'process', 'show', pk], env, tmp_path).stdout
            if 'Finished' in show or 'Excepted' in show or 'Killed' in show:
                break
            assert time.monotonic() < deadline, f'IntakeWorkChain<{pk}> did not finish in 180 s:\n{show}'
            time.sleep(2)
        assert 'IntakeWorkChain' in show and 'Finished [0]' in show, show
        assert 'structure' in show and 'build_oligomer' in show, show

        listing = run([verdi, '-p', name, 'process', 'list', '-a', '-p', '1'], env, tmp_path).stdout
        for piece in ('IntakeWorkChain', 'build_oligomer', 'register_polymer', 'Finished [0]'):
            assert piece in listing, listing
        report = run([verdi, '-p', name, 'process', 'report', pk], env, tmp_path)
        assert report.returncode == 0 and report.stdout.strip(), report.stdout

        if (ROOT / 'aiida_polyinf' / 'cli' / 'cmd_status.py').exists():
            run([polyinf, '-p', name, 'status'], env, tmp_path)
    finally:
        run([verdi, '-p', name, 'daemon', 'stop'], env, tmp_path, check=False)
        # AiiDA drops the database as the postgres role, through libpq's PG* variables: the credentials file.
        delete_env = dict(env, PGHOST=superuser['host'], PGPORT=str(superuser['port']), PGUSER=superuser['user'],
                          PGPASSWORD=superuser['password'])
        deleted = run([verdi, 'profile', 'delete', '--force', '--delete-data', name], delete_env, tmp_path, check=False)
        drop_database_and_user(superuser, f'aiida-{name}')
        drop_read_only_role(superuser, name)
    assert deleted.returncode == 0 and f'Deleted database `aiida-{name}`' in deleted.stdout + deleted.stderr, deleted
    # Printed (pytest -rP) rather than asserted: a dozen CLI calls, each 20-90 s on a shared 2-core machine at load
    # average 18-30 (6-10 min in all there); not measured on an idle machine.
    print(f'scale-out test: {time.monotonic() - start:.0f} s;', ', '.join(f'{step}: {sec:.1f}' for step, sec in TIMINGS))


READ_ONLY_PROBE = '''
from sqlalchemy import text
from aiida_polyinf.api import readonly
from aiida_polyinf.api.app import create_app
app = create_app({name!r})
session = app.state.storage.get_session()
print('DIALECT', app.state.dialect)
print('USER', session.execute(text('SELECT current_user')).scalar())
print('NODES', session.execute(text('SELECT count(*) FROM db_dbnode')).scalar())
print('REFUSED', readonly.check(app.state.storage))
'''


def check_read_only_role(name, env, cwd, superuser):
    """`polyinf serve`'s app connects as the SELECT-only role; the server refuses a write even in a read-write
    transaction."""
    import psycopg

    from aiida_polyinf.profiles.setup import readonly_env_path, readonly_role

    path = readonly_env_path(name)
    assert path.is_file() and (path.stat().st_mode & 0o077) == 0, 'read-only credentials missing or readable by others'
    script = cwd / 'probe.py'
    script.write_text(READ_ONLY_PROBE.format(name=name))
    out = run([BIN / 'python', script], env, cwd).stdout
    assert 'DIALECT postgresql' in out and f'USER aiida-{name}-ro' in out and 'REFUSED True' in out, out
    assert int(out.split('NODES')[1].split()[0]) > 0, out  # it can read
    role = readonly_role(name)
    with psycopg.connect(host=superuser['host'], port=superuser['port'], user=role['user'], password=role['password'],
                         dbname=f'aiida-{name}', autocommit=True) as connection:
        connection.execute('SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE')
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("UPDATE db_dbsetting SET description = description")


def drop_read_only_role(superuser: dict, name: str) -> None:
    import psycopg
    from psycopg import sql

    from aiida_polyinf.profiles.setup import readonly_env_path

    with psycopg.connect(host=superuser['host'], port=superuser['port'], user=superuser['user'],
                         password=superuser['password'], dbname='postgres', autocommit=True) as connection:
        connection.execute(sql.SQL('DROP ROLE IF EXISTS {}').format(sql.Identifier(f'aiida-{name}-ro')))
    readonly_env_path(name).unlink(missing_ok=True)


def drop_database_and_user(superuser: dict, name: str) -> None:
    """What `verdi profile delete` leaves (the database user), or everything if it failed."""
    from aiida.manage.external.postgres import Postgres

    postgres = Postgres(dbinfo=superuser, interactive=False, quiet=True, try_sudo=False)
    if postgres.db_exists(name):
        postgres.drop_db(name)
    if postgres.dbuser_exists(name):
        postgres.drop_dbuser(name)
    assert not postgres.db_exists(name) and not postgres.dbuser_exists(name)


def test_setup_postgres_without_credentials_says_what_to_do(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith('PG')}
    env.update(AIIDA_PATH=str(tmp_path / 'aiida'), POLYINF_CONFIG=str(tmp_path / 'nowhere'))
    result = run([BIN / 'polyinf', 'setup', '--postgres'], env, tmp_path, check=False)
    assert result.returncode == 1
    assert 'no password for the postgres role' in result.stderr and 'setup/services.sh start' in result.stderr
