"""The ML benchmarks' one entry to data: a DataFrame with one row per polymer.

The contract (shared with ``aiida_polyinf.export.load_dataset``):

- one row per polymer, sorted by ``smiles``, the canonical repeat-unit SMILES of
  ``aiida_polyinf.polymers.parse_repeat_unit``;
- ``polymer_uuid`` (the ``PolymerData`` node; ``None`` when read straight from a CSV), ``source_ids`` (the ids the
  source gave the polymer, a ``;``-joined string), ``protocol`` (``external:radonpy`` for PI1070);
- MD property aggregates under PI1070's names: ``density``, ``density_std``, ``density_min``, ``density_max``,
  ``density_count``, ... (see ``aiida_polyinf.common.properties``);
- RadonPy's own monomer QM as ``radonpy_qm.<column>``; our QM, when present, as ``qmex.<name>``.

``load(source)`` takes a CSV path (read here, the adapter) or a group label (read through
``aiida_polyinf.export.load_dataset`` when that exists).
"""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd

from ..polymers import IntakeError, parse_repeat_unit
from ..common.properties import AGGREGATE_SUFFIXES, PROPERTIES, RADONPY_QM

__all__ = ('load', 'load_csv', 'property_columns', 'descriptor_columns', 'pooled_std', 'RADONPY_PROTOCOL')

RADONPY_PROTOCOL = 'external:radonpy'
QM_PREFIXES = ('radonpy_qm.', 'qmex.')


def load(source) -> pd.DataFrame:
    """The dataset of ``source``: a DataFrame in the dataset contract as it is (e.g. read from the provenance graph
    by :func:`aiida_polyinf.benchmarking.load`), or a CSV file in PI1070's layout. Pure: no AiiDA here."""
    if isinstance(source, pd.DataFrame):
        return source
    return load_csv(pathlib.Path(str(source)).expanduser())


def load_csv(path, id_column: str = 'monomer_ID') -> pd.DataFrame:
    """Read a PI1070-style CSV into the dataset contract; rows whose SMILES fail intake are dropped (listed in attrs)."""
    raw = pd.read_csv(path)
    canonical, rejected = [], {}
    for index, smiles in raw['smiles'].items():
        try:
            canonical.append(parse_repeat_unit(smiles).smiles)
        except IntakeError as exc:
            canonical.append(None)
            rejected[str(raw.at[index, id_column]) if id_column in raw else str(index)] = exc.reason
    raw = raw.copy().assign(_canonical=canonical).dropna(subset=['_canonical'])

    columns: dict[str, object] = {}
    grouped = raw.groupby('_canonical', sort=True)
    first = grouped.first()
    columns['smiles'] = first.index.to_numpy()
    columns['polymer_uuid'] = [None] * len(first)
    if id_column in raw:
        columns['source_ids'] = grouped[id_column].apply(lambda s: ';'.join(map(str, s))).to_numpy()
    else:
        columns['source_ids'] = [None] * len(first)
    columns['protocol'] = [RADONPY_PROTOCOL] * len(first)
    for name in PROPERTIES:
        for key in (name,) + tuple(name + s for s in AGGREGATE_SUFFIXES):
            if key in first:
                columns[key] = first[key].to_numpy(dtype=float)
    for name in RADONPY_QM:
        if name in first:
            columns[f'radonpy_qm.{name}'] = first[name].to_numpy(dtype=float)
    frame = pd.DataFrame(columns).reset_index(drop=True)
    frame.attrs['source'] = str(path)
    frame.attrs['rejected'] = rejected
    frame.attrs['duplicates'] = int(len(raw) - len(first))
    return frame


def property_columns(frame: pd.DataFrame) -> list[str]:
    """The MD property means present in ``frame`` (bare names)."""
    return [name for name in PROPERTIES if name in frame.columns]


def descriptor_columns(frame: pd.DataFrame, prefixes=QM_PREFIXES) -> list[str]:
    return [c for c in frame.columns if c.startswith(tuple(prefixes))]


def pooled_std(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Per-polymer run-to-run std of ``name``; pooled over polymers with >2 runs where ``_count`` <= 2.

    PI1070 writes ``_std`` as 0 when a property has at most two runs, so those rows get the pooled within-polymer std
    sqrt(sum((n_i - 1) s_i^2) / sum(n_i - 1)) of the rows with three or more runs.
    """
    std = frame[f'{name}_std'].to_numpy(dtype=float)
    count = frame[f'{name}_count'].to_numpy(dtype=float)
    good = np.isfinite(std) & np.isfinite(count) & (count > 2)
    pooled = np.sqrt(np.sum((count[good] - 1) * std[good] ** 2) / np.sum(count[good] - 1))
    return np.where(good, std, pooled)
