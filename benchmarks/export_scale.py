"""Benchmark: `polyinf export` (QueryBuilder projections) against a node-by-node ORM walk, at scale.

Builds, in a fresh temporary SQLite profile, N polymers with the graph the pipeline makes: per polymer a QM record
(`descriptors`, set qmex), 1 to 9 MD trial records (`properties`, with seed and trial) and an aggregate record whose
inputs are the polymer and its trials (`aggregate`). The graph is written with AiiDA's bulk storage API
(`StorageBackend.bulk_insert`, through `aiida_polyinf.export.bulk.GraphBatch`), not by running the engine: the values
are random numbers and the SMILES synthetic C/N/O chains (unique strings, not chemistry). Then it times
`export_dataset` (CSV + manifest) and an ORM walk over a sample of polymers (load_node, links, get_dict), extrapolated
linearly to all polymers. Writes benchmarks/export_scale.json.

    python benchmarks/export_scale.py --polymers 13000
"""

import argparse
import json
import os
import pathlib
import platform
import random
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent


def make_profile(path: pathlib.Path):
    os.environ['AIIDA_PATH'] = str(path)
    from aiida import load_profile
    from aiida.manage.configuration import create_profile, get_config

    config = get_config(create=True)
    create_profile(config, name='bench', email='bench@localhost', storage_backend='core.sqlite_dos',
                   storage_config={}, broker_backend=None, broker_config=None)
    config.set_default_profile('bench', overwrite=True)
    config.store()
    return load_profile('bench', allow_switch=True)


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
    from aiida_polyinf.export.values import build_values

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--polymers', type=int, default=13000)
    parser.add_argument('--walk-sample', type=int, default=300)
    parser.add_argument('--out', default=str(HERE / 'export_scale.json'))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        make_profile(pathlib.Path(tmp) / 'aiida')
        counts = build(args.polymers)
        print(f'built {counts}', flush=True)
        from aiida_polyinf.export.dataset import export_dataset

        timings = {}
        start = time.perf_counter()
        export_dataset('bench/polymers', pathlib.Path(tmp) / 'cold')
        timings['export_cold_process'] = round(time.perf_counter() - start, 2)  # includes importing pandas etc.
        for trials in (False, True):
            start = time.perf_counter()
            manifest = export_dataset('bench/polymers', pathlib.Path(tmp) / f'out_{trials}', trials=trials)
            timings['export_trials' if trials else 'export'] = round(time.perf_counter() - start, 2)
            timings['rows_trials' if trials else 'rows'] = manifest['rows']
        walk_s, seen = orm_walk('bench/polymers', args.walk_sample)
        walk_all = walk_s / seen * args.polymers
        result = {
            'storage': 'SQLite (core.sqlite_dos)',
            'graph_built_with': 'StorageBackend.bulk_insert via aiida_polyinf.export.bulk.GraphBatch (synthetic values)',
            'machine': f'{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}',
            **counts,
            **timings,
            'orm_walk_sample': seen,
            'orm_walk_sample_s': round(walk_s, 2),
            'orm_walk_extrapolated_s': round(walk_all, 1),
            'speedup_vs_walk': round(walk_all / timings['export'], 1),
        }
        print(json.dumps(result, indent=1))
        pathlib.Path(args.out).write_text(json.dumps(result, indent=1, sort_keys=True) + '\n')


if __name__ == '__main__':
    sys.exit(main())
