"""Datasets of the ML benchmarks as nodes of the provenance graph.

A benchmark reads a group through the export query (:func:`aiida_polyinf.export.dataset.export_dataset`, the code
behind ``polyinf export``) and stores what it read:

- ``dataset``: the exported table, a ``SinglefileData`` (``dataset.csv``), with its ``manifest`` as a ``Dict``
  (the query, row count, column meanings and units, software versions, the storage uuid, the table's sha256). The
  table's ``polymer_uuid`` and ``uuid.*`` columns name the polymers and the value Dicts every number came from;
- ``trials``: with per-trial rows (``trials=True``), the same for tasks (e) and (f) on real MD trials.

The same selection of the same database gives the same bytes, hence the same sha256: a table already stored with
that sha256 is reused (extra ``polyinf_dataset``), so that every benchmark process of a group links the same node.
"""

from __future__ import annotations

import io
import pathlib
import tempfile

import numpy as np
from aiida import orm

EXTRA = 'polyinf_dataset'


def _stored_table(sha256: str):
    query = orm.QueryBuilder().append(orm.SinglefileData, filters={f'extras.{EXTRA}.sha256': sha256}, project='*')
    query.order_by({orm.SinglefileData: {'id': 'asc'}})
    found = query.first(flat=True)
    if found is None:
        return None, None
    manifest = orm.load_node(found.base.extras.get(EXTRA)['manifest_uuid'])
    return found, manifest


def dataset_nodes(group: str, trials: bool = False, **filters) -> tuple[orm.SinglefileData, orm.Dict]:
    """The stored table and manifest of ``group`` (per polymer, or per trial with ``trials``), reused when stored."""
    from ..export.dataset import export_dataset

    if not orm.QueryBuilder().append(orm.Group, filters={'label': group}).count():
        raise ValueError(f'no group {group!r} in this profile (`verdi group list -a` lists them; PI1070 is '
                         f'imported by `polyinf import-dataset radonpy` into radonpy/PI1070)')
    with tempfile.TemporaryDirectory() as tmp:
        manifest = export_dataset(group, pathlib.Path(tmp), formats=('csv',), trials=trials, **filters)
        if not manifest['rows']:
            raise ValueError(f'group {group!r} holds no polymers')
        sha256 = manifest['files']['dataset.csv']['sha256']
        table, manifest_node = _stored_table(sha256)
        if table is not None:
            return table, manifest_node
        manifest_node = orm.Dict(manifest).store()
        manifest_node.label = f'manifest of the {"per-trial " if trials else ""}dataset of {group}'
        table = orm.SinglefileData(pathlib.Path(tmp) / 'dataset.csv')
        table.label = f'{"per-trial " if trials else ""}dataset of {group}'
        table.description = f'polyinf export of group {group}, sha256 {sha256}'
        table.store()
    table.base.extras.set(EXTRA, {'sha256': sha256, 'group': group, 'trials': trials,
                                  'manifest_uuid': manifest_node.uuid})
    return table, manifest_node


def read_table(node: orm.SinglefileData):
    """The stored table as a DataFrame in the dataset contract of :mod:`aiida_polyinf.ml.data`."""
    import pandas as pd

    with node.open(mode='rb') as handle:
        frame = pd.read_csv(io.BytesIO(handle.read()), keep_default_na=True)
    for column in ('smiles', 'polymer_uuid', 'source_ids', 'protocol'):
        if column in frame:
            frame[column] = frame[column].fillna('').astype(str)
    frame.attrs['source'] = f'graph:{node.uuid}'
    return frame


def trial_matrix(frame, trial_frame, targets) -> dict:
    """``{target: (len(frame), K_max) array}`` of per-trial values in ``frame``'s row order (NaN: no such trial)."""
    index = {smiles: i for i, smiles in enumerate(frame['smiles'])}
    out = {}
    counts = trial_frame.groupby('smiles')['trial'].count() if len(trial_frame) else None
    k_max = int(counts.max()) if counts is not None and len(counts) else 0
    for target in targets:
        runs = np.full((len(frame), k_max), np.nan)
        if target in trial_frame and k_max:
            for smiles, group in trial_frame.sort_values(['smiles', 'trial']).groupby('smiles'):
                if smiles in index:
                    values = group[target].to_numpy(dtype=float)
                    runs[index[smiles], : len(values)] = values
        out[target] = runs
    return out


def max_trials(trial_frame, targets) -> int:
    """The largest number of trials with a value of any of ``targets`` that one polymer has."""
    best = 0
    for target in targets:
        if target in trial_frame and len(trial_frame):
            best = max(best, int(trial_frame.dropna(subset=[target]).groupby('smiles').size().max() or 0)
                       if trial_frame[target].notna().any() else 0)
    return best
