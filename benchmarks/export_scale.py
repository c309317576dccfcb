"""Benchmark: `polyinf export` (QueryBuilder projections) against a node-by-node ORM walk, at scale, on SQLite and PostgreSQL.

Builds, in a fresh temporary profile (``core.sqlite_dos``, or ``core.psql_dos`` in a new PostgreSQL database), N
polymers with the graph the pipeline makes: per polymer a QM record (`descriptors`, set qmex), 1 to 9 MD trial records
(`properties`, with seed and trial) and an aggregate record whose inputs are the polymer and its trials
(`aggregate`). The graph is SYNTHETIC and BULK-INSERTED: it is written with AiiDA's bulk storage API
(`StorageBackend.bulk_insert`, through `aiida_polyinf.export.bulk.GraphBatch`), not by running the engine; the values
are random numbers and the SMILES synthetic C/N/O chains (unique strings, not chemistry). Then it times, in the same
process, `load_dataset` alone, `export_dataset` (CSV + manifest, what `polyinf export` runs) and an ORM walk over a
sample of polymers (load_node, links, get_dict), extrapolated linearly to all polymers. Writes
benchmarks/export_scale.json (one entry per backend) and prints it.

    python benchmarks/export_scale.py --polymers 13000                    # both backends
    python benchmarks/export_scale.py --polymers 13000 --backend sqlite

PostgreSQL: the server of `setup/services.sh start postgres`, reached as the `postgres` role with the credentials that
script stored in ~/.config/aiida-polyinf/postgres.env (or the PGHOST/PGPORT/PGUSER/PGPASSWORD environment). A database
user and database with generated names and password are created for the run and dropped at its end; nothing is
written to the repository but the JSON of figures.
"""

import argparse
import json
import os
import pathlib
import platform
import random
import secrets
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
PG_ENV = pathlib.Path(os.environ.get('XDG_CONFIG_HOME', pathlib.Path.home() / '.config')) / 'aiida-polyinf' / 'postgres.env'


def _new_config(path: pathlib.Path):
    os.environ['AIIDA_PATH'] = str(path)
    from aiida.manage.configuration import get_config

    return get_config(create=True)


def make_profile(path: pathlib.Path):
    """A ``core.sqlite_dos`` profile in ``path``."""
    config = _new_config(path)  # before anything of aiida reads the configuration
    from aiida import load_profile
    from aiida.manage.configuration import create_profile

    create_profile(config, name='bench', email='bench@localhost', storage_backend='core.sqlite_dos',
                   storage_config={}, broker_backend=None, broker_config=None)
    config.set_default_profile('bench', overwrite=True)
    config.store()
    return load_profile('bench', allow_switch=True)


def postgres_superuser() -> dict:
    """Connection of the ``postgres`` role: PG* environment, else the file written by setup/services.sh."""
    values = {}
    if PG_ENV.is_file():
        for line in PG_ENV.read_text().splitlines():
            if '=' in line:
                key, value = line.split('=', 1)
                values[key.strip()] = value.strip()
    for key in ('PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD'):
        if os.environ.get(key):
            values[key] = os.environ[key]
    return {'host': values.get('PGHOST', 'localhost'), 'port': int(values.get('PGPORT', 5432)),
            'user': values.get('PGUSER', 'postgres'), 'password': values.get('PGPASSWORD'), 'dbname': 'postgres'}


def make_psql_profile(path: pathlib.Path):
    """A ``core.psql_dos`` profile in ``path`` on a new database and user (generated names and password)."""
    config = _new_config(path)  # before anything of aiida reads the configuration
    from aiida import load_profile
    from aiida.manage.configuration import create_profile
    from aiida.manage.external.postgres import Postgres

    dsn = postgres_superuser()
    postgres = Postgres(dbinfo=dsn, interactive=False, quiet=True, try_sudo=False)
    if not postgres.is_connected:
        raise SystemExit(f'cannot connect to PostgreSQL as {dsn["user"]}@{dsn["host"]}:{dsn["port"]}: '
                         f'run setup/services.sh start postgres (credentials in {PG_ENV})')
    name = f'polyinf_bench_{secrets.token_hex(4)}'
    password = secrets.token_urlsafe(24)  # only in the temporary profile, which is deleted at the end
    postgres.create_dbuser(name, password)
    postgres.create_db(name, name)  # AiiDA's CREATE DATABASE, with the en_US.UTF-8 locale
    storage_config = {'database_engine': 'postgresql_psycopg', 'database_hostname': dsn['host'],
                      'database_port': dsn['port'], 'database_username': name, 'database_password': password,
                      'database_name': name, 'repository_uri': f'file://{path}/repository'}
    try:
        create_profile(config, name='bench', email='bench@localhost', storage_backend='core.psql_dos',
                       storage_config=storage_config, broker_backend=None, broker_config=None)
        config.set_default_profile('bench', overwrite=True)
        config.store()
        return load_profile('bench', allow_switch=True), postgres, name
    except BaseException:
        drop_database(postgres, name)
        raise


def drop_database(postgres, name: str) -> None:
    """Drop the benchmark's database and its user (closing this process' connections first)."""
    from aiida.manage import get_manager

    get_manager().unload_profile()
    postgres.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    postgres.execute(f'DROP ROLE IF EXISTS "{name}"')


def database_size(backend: str, path: pathlib.Path, db_name: str | None = None) -> dict:
    """Bytes of the database (SQLite file, or ``pg_database_size``) and of the file repository."""
    from aiida.manage import get_manager

    storage = get_manager().get_profile_storage()
    if backend == 'sqlite':
        database = sum(f.stat().st_size for f in path.rglob('database.sqlite*') if f.is_file())
    else:
        from sqlalchemy import text

        database = storage.get_session().execute(text('SELECT pg_database_size(current_database())')).scalar()
    repository = sum(f.stat().st_size for f in path.rglob('*') if f.is_file() and 'container' in f.parts)
    return {'database_bytes': int(database), 'database_MB': round(database / 1e6, 1), 'repository_bytes': repository}


def smiles_of(index: int) -> str:
    atoms, digits = 'CNO', []
    for _ in range(10):
        digits.append(atoms[index % 3])
        index //= 3
    return '*C' + ''.join(digits) + '*'


def build(n_polymers: int, seed: int = 0) -> dict:
    from aiida import orm
    from aiida.engine import calcfunction

    from aiida_polyinf import properties
    from aiida_polyinf.data.polymer import PolymerData
    from aiida_polyinf.export.bulk import GraphBatch, add_to_group
    from aiida_polyinf.common.values import build_values

    @calcfunction
    def bench_qm(polymer):  # stand-ins whose records are written; never run
        pass

    @calcfunction
    def bench_md_trial(polymer):
        pass

    @calcfunction
    def bench_aggregate(polymer, **trials):
        pass

    rng = random.Random(seed)
    group = orm.Group('bench/polymers').store()
    names = list(properties.PROPERTIES)
    counts = {'polymers': n_polymers, 'trials': 0, 'nodes': 0}
    start = time.perf_counter()
    polymer_pks = []
    chunk = 500
    for first in range(0, n_polymers, chunk):
        batch = GraphBatch()
        refs = []
        for index in range(first, min(first + chunk, n_polymers)):
            smiles = smiles_of(index)
            polymer = batch.add_node(PolymerData, attributes={'smiles': smiles, 'smiles_input': smiles,
                                     'capped_smiles': 'C' + smiles[1:-1] + 'C', 'formula': '', 'n_heavy_atoms': 11},
                                     extras={'source_ids': [f'bench:{index}']})
            refs.append(polymer)
            qm = build_values({'homo_eV': rng.uniform(-8, -5), 'lumo_eV': rng.uniform(-1, 2),
                               'dipole_debye': rng.uniform(0, 4)}, units={'homo_eV': 'eV', 'lumo_eV': 'eV',
                               'dipole_debye': 'debye'}, descriptor_set='qmex', protocol='fast', version='0.1.0')
            batch.add_calcfunction_record(bench_qm, {'polymer': polymer}, {'descriptors': batch.add_node(orm.Dict, qm)})
            trials = {}
            for trial in range(1 + index % 9):
                values = {name: rng.uniform(0.5, 2.0) for name in names}
                attrs = build_values(values, protocol='fast', version='0.1.0', seed=1000 * index + trial, trial=trial)
                out = batch.add_node(orm.Dict, attrs)
                batch.add_calcfunction_record(bench_md_trial, {'polymer': polymer}, {'properties': out})
                trials[f'trial_{trial}'] = (out, values)
                counts['trials'] += 1
            aggregate = {}
            for name in names:
                column = [v[name] for _, v in trials.values()]
                mean = sum(column) / len(column)
                aggregate.update({name: mean, f'{name}_std': 0.0, f'{name}_min': min(column),
                                  f'{name}_max': max(column), f'{name}_count': len(column)})
            agg = batch.add_node(orm.Dict, build_values(aggregate, protocol='fast', version='0.1.0'))
            inputs = {'polymer': polymer, **{k: ref for k, (ref, _) in trials.items()}}
            batch.add_calcfunction_record(bench_aggregate, inputs, {'aggregate': agg})
        counts['nodes'] += len(batch)
        pks = batch.flush()
        polymer_pks.extend(pks[ref.index] for ref in refs)
    add_to_group(group.pk, polymer_pks)
    counts['build_s'] = round(time.perf_counter() - start, 2)
    return counts


def orm_walk(group_label: str, sample: int) -> tuple[float, int]:
    """The naive way: load each polymer, follow its links, load each Dict."""
    from aiida import orm

    group = orm.load_group(group_label)
    start = time.perf_counter()
    seen = 0
    for index, polymer in enumerate(group.nodes):
        if index >= sample:
            break
        row = {'smiles': polymer.base.attributes.get('smiles')}
        for link in polymer.base.links.get_outgoing().all():
            for out in link.node.base.links.get_outgoing().all():
                if out.link_label in ('descriptors', 'aggregate', 'properties'):
                    row.update(out.node.get_dict())
        seen += 1
    return time.perf_counter() - start, seen


def run_backend(backend: str, n_polymers: int, walk_sample: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / 'aiida'
        postgres = db_name = None
        if backend == 'sqlite':
            make_profile(path)
        else:
            _, postgres, db_name = make_psql_profile(path)
        try:
            return _measure(backend, path, db_name, n_polymers, walk_sample, pathlib.Path(tmp))
        finally:
            if postgres is not None:
                drop_database(postgres, db_name)


def _measure(backend, path, db_name, n_polymers, walk_sample, tmp) -> dict:
    counts = build(n_polymers)
    print(f'[{backend}] built {counts}', flush=True)
    from aiida_polyinf.export.dataset import export_dataset
    from aiida_polyinf.export.query import load_dataset

    timings = {}
    start = time.perf_counter()
    export_dataset('bench/polymers', tmp / 'cold')
    timings['export_cold_process_s'] = round(time.perf_counter() - start, 2)  # includes importing pandas etc.
    start = time.perf_counter()
    frame = load_dataset('bench/polymers')
    timings['load_dataset_s'] = round(time.perf_counter() - start, 2)
    for trials in (False, True):
        start = time.perf_counter()
        manifest = export_dataset('bench/polymers', tmp / f'out_{trials}', trials=trials)
        timings['export_trials_s' if trials else 'export_s'] = round(time.perf_counter() - start, 2)
        timings['rows_trials' if trials else 'rows'] = manifest['rows']
    assert timings['rows'] == len(frame) == n_polymers
    print(f'[{backend}] export {timings}', flush=True)
    walk_s, seen = orm_walk('bench/polymers', walk_sample)
    walk_all = walk_s / seen * n_polymers
    storage = {'sqlite': 'SQLite (core.sqlite_dos)', 'psql': 'PostgreSQL (core.psql_dos)'}[backend]
    if backend == 'psql':
        from aiida.manage import get_manager
        from sqlalchemy import text

        session = get_manager().get_profile_storage().get_session()
        storage += ' ' + session.execute(text('SHOW server_version')).scalar().split()[0]
    return {
        'storage': storage,
        **counts,
        **database_size(backend, path, db_name),
        **timings,
        'orm_walk_sample': seen,
        'orm_walk_sample_s': round(walk_s, 2),
        'orm_walk_extrapolated_s': round(walk_all, 1),
        'speedup_vs_walk': round(walk_all / timings['export_s'], 1),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--polymers', type=int, default=13000)
    parser.add_argument('--backend', choices=('sqlite', 'psql', 'both'), default='both')
    parser.add_argument('--walk-sample', type=int, default=100)
    parser.add_argument('--out', default=str(HERE / 'export_scale.json'))
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:  # one backend in this process; the result as JSON on the last line
        import faulthandler
        import signal

        faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where it is, to stderr
        print(json.dumps(run_backend(args.backend, args.polymers, args.walk_sample)), flush=True)
        return 0

    backends = ('sqlite', 'psql') if args.backend == 'both' else (args.backend,)
    results = {}
    for backend in backends:  # one process each: one AiiDA profile per process
        command = [sys.executable, __file__, '--child', '--backend', backend, '--polymers', str(args.polymers),
                   '--walk-sample', str(args.walk_sample)]
        proc = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        lines = proc.stdout.strip().splitlines()
        print('\n'.join(lines[:-1]), flush=True)
        if proc.returncode != 0 or not lines:
            raise SystemExit(f'{backend} run failed (exit {proc.returncode})')
        results[backend] = json.loads(lines[-1])
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    result = {
        'graph': 'synthetic: random values, synthetic SMILES, records bulk-inserted with StorageBackend.bulk_insert '
                 '(aiida_polyinf.export.bulk.GraphBatch), not run by the engine',
        'machine': f'{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}',
        'load_average_at_end': [round(x, 1) for x in load] if load else None,
        'note': 'shared machine, other jobs running: timings are noisy; the walk is a sample extrapolated linearly',
        **results,
    }
    print(json.dumps(result, indent=1, sort_keys=True))
    pathlib.Path(args.out).write_text(json.dumps(result, indent=1, sort_keys=True) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
