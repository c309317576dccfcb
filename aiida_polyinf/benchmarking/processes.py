"""The ML benchmark runs as processes of the provenance graph (calcfunctions), shown by ``verdi process list``.

::

    dataset (SinglefileData) ──┬─> ml_descriptor_cache ──> descriptors (FolderData: ff_gasteiger, ecfp, 2dfp tables)
    manifest (Dict)            │
    dataset, manifest ─────────┼─> ml_benchmark_task ──┬─ results (SinglefileData: results.json)
    descriptors, config (Dict) │   (one per task a-f)  ├─ summary (Dict: the metrics without per-fold detail)
    trials (per-trial dataset) ┘                       ├─ plots   (FolderData: the PNGs)
                                                       └─ splits  (FolderData: the frozen splits, JSON)
    dataset, trials, config ────> ml_allocation_recommend ──> recommendation (Dict)

The descriptor cache is the SMILES-only descriptor sets of the dataset's polymers, computed once (its build time is
reported apart) and reused by every later benchmark of the same dataset: it is found as the output of the
``ml_descriptor_cache`` process of that dataset node and the same settings. Each ``results.json`` records the
uuids of the nodes it came from (``provenance``), and maps every polymer's SMILES to its ``PolymerData`` uuid.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
import time

from aiida import orm
from aiida.engine import calcfunction

from .graph import read_table, trial_matrix

#: Keys of results.json dropped from the ``summary`` Dict (per-fold detail, id lists): they stay in the file.
DETAIL_KEYS = frozenset({'folds', 'parity', 'members', 'cells', 'test_ids', 'train_ids', 'pilot_ids', 'curve'})
DESCRIPTOR_CACHE_LABEL = 'ml_descriptor_cache'


def _compact(obj):
    if isinstance(obj, dict):
        return {k: _compact(v) for k, v in obj.items() if k not in DETAIL_KEYS}
    if isinstance(obj, list):
        return [_compact(v) for v in obj]
    return obj


def _folder(directory: pathlib.Path, pattern: str) -> orm.FolderData | None:
    files = sorted(directory.rglob(pattern))
    if not files:
        return None
    folder = orm.FolderData()
    for path in files:
        folder.base.repository.put_object_from_file(str(path), str(path.relative_to(directory)))
    return folder


def read_descriptor_tables(folder: orm.FolderData) -> dict:
    """The tables of a descriptor-cache node, ``{set: DataFrame indexed by SMILES}``."""
    import io

    import pandas as pd

    tables = {}
    for name in folder.base.repository.list_object_names():
        if name.endswith('.parquet'):
            with folder.base.repository.open(name, mode='rb') as handle:
                table = pd.read_parquet(io.BytesIO(handle.read()))
            tables[name[: -len('.parquet')]] = table.set_index('smiles')
    return tables


@calcfunction
def ml_descriptor_cache(dataset: orm.SinglefileData, settings: orm.Dict) -> orm.FolderData:
    """The SMILES-only descriptor sets (``settings['sets']``) of the dataset's polymers, one parquet table each."""
    from ..ml.descriptors import CACHE_VERSION, smiles_tables

    opts = settings.get_dict()
    frame = read_table(dataset)
    start = time.perf_counter()
    tables = smiles_tables(list(frame['smiles']), opts['sets'], processes=opts.get('processes', os.cpu_count()))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        info = {'sets': {}, 'seconds': time.perf_counter() - start}
        for name, table in tables.items():
            out = table.copy()
            out.columns = [str(c) for c in out.columns]
            out.insert(0, 'smiles', list(frame['smiles']))
            out.to_parquet(tmp / f'{name}.parquet', index=False, compression='zstd')
            info['sets'][name] = {'version': CACHE_VERSION[name], 'columns': int(table.shape[1]),
                                  'failed_rows': int(table.isna().all(axis=1).sum())}
        (tmp / 'info.json').write_text(json.dumps(info, indent=1, sort_keys=True))
        return _folder(tmp, '*')


def descriptor_cache(dataset: orm.SinglefileData, sets, processes=None, echo=print) -> orm.FolderData:
    """The descriptor cache of ``dataset``: the stored output of an earlier ``ml_descriptor_cache`` of it with the
    same sets, else computed now (its time is echoed, apart from the benchmark's)."""
    sets = sorted(sets)
    query = orm.QueryBuilder()
    query.append(orm.SinglefileData, filters={'id': dataset.pk}, tag='dataset')
    query.append(orm.CalcFunctionNode, with_incoming='dataset', tag='process',
                 filters={'attributes.process_label': DESCRIPTOR_CACHE_LABEL, 'attributes.exit_status': 0})
    query.append(orm.FolderData, with_incoming='process', project='*')
    query.order_by({orm.FolderData: {'id': 'desc'}})
    for (folder,) in query.iterall():
        with folder.base.repository.open('info.json') as handle:
            if sorted(json.load(handle)['sets']) == sets:
                return folder
    start = time.perf_counter()
    settings = orm.Dict({'sets': sets, 'processes': processes or os.cpu_count()})
    folder = ml_descriptor_cache(dataset, settings)
    echo(f'built the descriptor cache {folder.uuid} ({", ".join(sets)}) in {time.perf_counter() - start:.0f} s')
    return folder


@calcfunction
def ml_benchmark_task(dataset: orm.SinglefileData, manifest: orm.Dict, config: orm.Dict,
                      descriptors: orm.FolderData | None = None, trials: orm.SinglefileData | None = None,
                      variety: orm.SinglefileData | None = None) -> dict:
    """One benchmark task (a-f) on the stored dataset: ``results`` (results.json), ``summary`` and ``plots``."""
    from ..ml.bench import _jsonable, run_task
    from ..ml.tasks import Bench

    cfg = config.get_dict()
    frame = read_table(dataset)
    bench_trials = None
    if trials is not None:
        variety_targets = cfg['benchmark']['tasks']['variety']['targets']
        bench_trials = trial_matrix(frame, read_table(trials), sorted(set(variety_targets) | set(cfg['targets'] or [])))
    tables = read_descriptor_tables(descriptors) if descriptors is not None else None
    bench = Bench(frame, cfg['benchmark'], n_jobs=cfg.get('n_jobs') or os.cpu_count(), tables=tables,
                  trials=bench_trials, progress=cfg.get('progress', True))
    earlier = None
    if variety is not None:
        with variety.open(mode='r') as handle:
            earlier = json.load(handle)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        results = run_task(cfg['task'], out_dir=tmp, targets=cfg['targets'], descriptor_sets=cfg['descriptor_sets'],
                           models=cfg['models'], bench=bench, plots=cfg.get('plots', True), variety=earlier)
        results['provenance'] = _jsonable(provenance(frame, dataset, manifest, descriptors, trials, variety))
        results['source'] = f'graph: group {manifest["query"]["group"]}, dataset {dataset.uuid}'
        path = tmp / 'results.json'
        path.write_text(json.dumps(results))
        outputs = {'results': orm.SinglefileData(path), 'summary': orm.Dict(_compact(results))}
        for label, pattern, where in (('plots', '*.png', tmp), ('splits', '*.json', tmp / 'splits')):
            folder = _folder(where, pattern) if where.exists() else None
            if folder is not None:
                outputs[label] = folder
        return outputs


def provenance(frame, dataset, manifest, descriptors=None, trials=None, variety=None) -> dict:
    """What a result came from: the nodes' uuids, the table's sha256, and each polymer's uuid by SMILES."""
    return {
        'source': 'graph',
        'group': manifest['query']['group'],
        'dataset': {'uuid': dataset.uuid, 'sha256': manifest['files']['dataset.csv']['sha256'],
                    'rows': manifest['rows'], 'manifest_uuid': manifest.uuid,
                    'storage_uuid': manifest.get('storage_uuid')},
        'descriptor_cache_uuid': descriptors.uuid if descriptors is not None else None,
        'trials_uuid': trials.uuid if trials is not None else None,
        'variety_results_uuid': variety.uuid if variety is not None else None,
        'polymers': dict(zip(frame['smiles'], frame['polymer_uuid'])),
    }


@calcfunction
def ml_allocation_recommend(dataset: orm.SinglefileData, manifest: orm.Dict, trials: orm.SinglefileData,
                            config: orm.Dict, descriptors: orm.FolderData | None = None) -> orm.Dict:
    """The allocation recommender (f) on a real pilot: the group's own MD trials, per target."""
    import numpy as np

    from ..ml import protocol as P
    from ..ml import variety as V
    from ..ml.bench import _jsonable
    from ..ml.descriptors import Descriptors

    cfg = config.get_dict()
    frame = read_table(dataset)
    runs_by_target = trial_matrix(frame, read_table(trials), cfg['targets'])
    tables = read_descriptor_tables(descriptors) if descriptors is not None else None
    desc = Descriptors(frame, processes=1, progress=False, tables=tables)
    out = {'targets': {}, 'budget': cfg['budget'], 'descriptors': cfg['descriptors'], 'note': V.REAL_NOTE,
           'provenance': provenance(frame, dataset, manifest, descriptors, trials)}
    for target in cfg['targets']:
        runs = runs_by_target[target]
        k = int(min(cfg['pilot_runs'] or runs.shape[1], runs.shape[1]))
        usable = np.flatnonzero(np.isfinite(runs[:, :k]).all(axis=1)) if k else np.array([], dtype=int)
        if k < 2 or len(usable) < 4:
            out['targets'][target] = {'error': f'{len(usable)} polymers with {max(k, 2)} trials of {target}: the '
                                               f'pilot needs at least 4 polymers with at least 2 trials each'}
            continue
        rng = P.rng_for(cfg['seed'], f'recommend/{target}')
        pilot = np.sort(rng.choice(usable, size=min(cfg['pilot_size'], len(usable)), replace=False))
        sizes = cfg['sizes'] or sorted({max(4, int(round(len(pilot) * f))) for f in (0.5, 0.75, 1.0)})
        x, _ = desc.matrix(cfg['descriptors'], target)
        try:
            rec = V.recommend(x[pilot], runs[pilot, :k], cfg['grid'], cfg['budget'], cfg['choices_runs'], sizes,
                              seed=cfg['seed'], note=V.REAL_NOTE)
        except ValueError as exc:
            out['targets'][target] = {'error': str(exc)}
            continue
        rec.pop('_predict')
        rec['pilot_ids'] = list(frame['smiles'].iloc[pilot])
        out['targets'][target] = rec
    return orm.Dict(_jsonable(out))
