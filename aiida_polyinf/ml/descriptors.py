"""Descriptor sets of the ML benchmarks, each a float matrix with one row per polymer of the dataset.

Sets (names usable joined with ``+``, e.g. ``qm+ff``), named for where their numbers come from:

- ``qm``: this project's QMex descriptors (``qmex.*`` columns of the dataset: B3LYP on the CH3-capped oligomer,
  read from the provenance graph);
- ``radonpy_qm``: RadonPy's own monomer QM (``radonpy_qm.*``: wB97M-D3BJ on the H-capped monomer, PI1070's columns);
- ``ff``: this project's force-field descriptors (``ff.*``: the ``ff_descriptors`` output of the FF stage, GAFF2
  with the QM RESP charges, read from the graph);
- ``ff_gasteiger``: GAFF2 force-field descriptors computed here from SMILES (``aiida_polyinf.ff.descriptors``,
  Gasteiger charges): RadonPy's kernel-mean embedding plus plain averages (mean atomic mass, electrons per atom,
  mean angle k, ...). Used only where a set names it (PI1070 has no FF stage of ours);
- ``md``: the MD property means of the dataset, less the target and its leaks (``aiida_polyinf.common.properties.LEAKS``);
- ``ecfp``: Morgan fingerprint, radius 2, 2048 bits, of the repeat unit **with its two ``*`` kept as dummy atoms**
  (atomic number 0): the environments at the chain ends are marked "bonded to the next unit" rather than capped,
  and no bit stands for an end group that the polymer does not have;
- ``2dfp``: RDKit's 2D descriptors (``Descriptors.CalcMolDescriptors``) of the H-capped repeat unit (each ``*``
  replaced by hydrogen, RadonPy's monomer), non-finite columns dropped.

The sets read from the dataset (``qm``, ``radonpy_qm``, ``ff``) must cover every polymer: a group whose polymers
mix sources (e.g. PI1070 imports beside a campaign of ours) is refused with the count and examples of the polymers
that lack the set (:class:`MixedSources`), never silently imputed.

``ff_gasteiger``, ``ecfp`` and ``2dfp`` depend on the SMILES alone. They come from a *descriptor table* given to
:class:`Descriptors` (``tables=``: in a benchmark run, the stored descriptor-cache node, an input of the benchmark
process), or else from the on-disk cache, keyed by canonical SMILES, in ``$POLYINF_CACHE_DIR`` (default
``~/.cache/aiida-polyinf``), one pickle per set and version; FF failures are cached too, by SMILES with their reason.
Rows whose SMILES descriptors failed are NaN (the models' imputer fills them with training-fold medians;
``Descriptors.valid`` tells which rows have them).
"""

from __future__ import annotations

import json
import os
import pathlib
import time
import warnings

import numpy as np
import pandas as pd

from ..common.properties import LEAKS, PROPERTIES

STRUCTURE_SETS = ('ecfp', '2dfp')
PHYSICS_SETS = ('qm', 'radonpy_qm', 'ff', 'ff_gasteiger', 'md')
#: Sets whose columns are read from the dataset, by column prefix.
GRAPH_SETS = {'qm': 'qmex.', 'radonpy_qm': 'radonpy_qm.', 'ff': 'ff.'}
#: Sets computed from SMILES (cached): the on-disk cache file of each, by version.
SMILES_SETS = ('ff_gasteiger', 'ecfp', '2dfp')
CACHE_VERSION = {'ff_gasteiger': 'ff-v1', 'ecfp': 'ecfp-r2-2048-v1', '2dfp': '2dfp-v1'}
KNOWN_SETS = tuple(GRAPH_SETS) + SMILES_SETS + ('md', 'graph')


class MixedSources(ValueError):
    """A descriptor set read from the dataset is missing for some of its polymers."""


def cache_dir(path=None) -> pathlib.Path:
    path = path or os.environ.get('POLYINF_CACHE_DIR') or pathlib.Path.home() / '.cache' / 'aiida-polyinf'
    path = pathlib.Path(path).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


class SmilesCache:
    """A per-set table of descriptor rows keyed by canonical SMILES, with failures; pickled on disk."""

    def __init__(self, name: str, directory=None):
        self.path = cache_dir(directory) / f'{CACHE_VERSION[name]}.pkl'
        self.failures_path = self.path.with_suffix('.failures.json')
        self.table = pd.read_pickle(self.path) if self.path.exists() else pd.DataFrame()
        self.failures = json.loads(self.failures_path.read_text()) if self.failures_path.exists() else {}
        self.timing: dict = {}

    def missing(self, smiles) -> list[str]:
        have = set(self.table.index) | set(self.failures)
        return [s for s in dict.fromkeys(smiles) if s not in have]

    def add(self, rows: dict, failures: dict | None = None):
        if rows:
            new = pd.DataFrame.from_dict(rows, orient='index')
            self.table = new if self.table.empty else pd.concat([self.table, new])
            self.table = self.table[~self.table.index.duplicated(keep='last')]
        self.failures.update(failures or {})
        tmp = self.path.with_suffix('.tmp')
        self.table.to_pickle(tmp)
        tmp.replace(self.path)
        self.failures_path.write_text(json.dumps(self.failures, indent=1, sort_keys=True))

    def matrix(self, smiles) -> pd.DataFrame:
        return self.table.reindex(list(smiles))


def _progress(total, desc, enabled=True):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled or total == 0, leave=False)


def ff_table(smiles, directory=None, timeout=60.0, processes=2, progress=True) -> tuple[pd.DataFrame, dict, dict]:
    """FF descriptors of ``smiles`` (DataFrame indexed by SMILES), the failures ``{smiles: reason}``, timing info."""
    from ..ff import descriptors as ffd

    cache = SmilesCache('ff_gasteiger', directory)
    todo = cache.missing(smiles)
    timing = {'computed': len(todo), 'seconds': 0.0}
    if todo:
        start = time.perf_counter()
        bar = _progress(len(todo), 'FF descriptors (GAFF2)', progress)
        done_rows, done_fail = {}, {}
        chunk = 64
        for i in range(0, len(todo), chunk):  # save as it goes: the cache survives an interruption
            rows, fails, _ = ffd.compute_many(
                todo[i : i + chunk], timeout=timeout, processes=processes, progress=lambda s: bar.update(1)
            )
            done_rows.update(rows)
            done_fail.update(fails)
            cache.add(rows, fails)
        bar.close()
        timing['seconds'] = time.perf_counter() - start
        timing['failed'] = len(done_fail)
    failures = {s: cache.failures[s] for s in smiles if s in cache.failures}
    return cache.matrix(smiles), failures, timing


def ffd_floor():
    from ..ff.descriptors import KM_FLOOR

    return KM_FLOOR


def ecfp_bits(smiles: str, radius: int = 2, n_bits: int = 2048) -> np.ndarray:
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    return generator.GetFingerprintAsNumPy(Chem.MolFromSmiles(smiles)).astype(np.uint8)


def capped_monomer(smiles: str):
    """The repeat unit with each ``*`` replaced by hydrogen (RadonPy's monomer for its QM)."""
    from rdkit import Chem

    mol = Chem.RWMol(Chem.MolFromSmiles(smiles))
    for atom in mol.GetAtoms():
        if atom.GetAtomicNum() == 0:
            atom.SetAtomicNum(1)
            atom.SetIsotope(0)
    mol = mol.GetMol()
    Chem.SanitizeMol(mol)
    return Chem.RemoveHs(mol)


def _simple_table(name, smiles, function, directory=None, progress=True):
    cache = SmilesCache(name, directory)
    todo = cache.missing(smiles)
    if todo:
        rows, fails = {}, {}
        for s in _iter(todo, name, progress):
            try:
                rows[s] = function(s)
            except Exception as exc:  # noqa: BLE001
                fails[s] = f'error:{type(exc).__name__}'
        cache.add(rows, fails)
    return cache.matrix(smiles)


def _iter(items, desc, progress):
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, disable=not progress, leave=False)


def ecfp_table(smiles, directory=None, progress=True) -> pd.DataFrame:
    def row(s):
        return {f'ecfp.{i}': int(b) for i, b in enumerate(ecfp_bits(s))}

    return _simple_table('ecfp', smiles, row, directory, progress)


def rdkit2d_table(smiles, directory=None, progress=True) -> pd.DataFrame:
    from rdkit import RDLogger
    from rdkit.Chem import Descriptors

    RDLogger.DisableLog('rdApp.*')

    def row(s):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            values = Descriptors.CalcMolDescriptors(capped_monomer(s))
        return {f'2dfp.{k}': float(v) if v is not None else np.nan for k, v in values.items()}

    table = _simple_table('2dfp', smiles, row, directory, progress)
    return table.replace([np.inf, -np.inf], np.nan).astype(float)


def tanimoto_matrix(bits: np.ndarray) -> np.ndarray:
    """Pairwise Tanimoto similarity of binary fingerprints (rows)."""
    a = bits.astype(np.float32)
    inter = a @ a.T
    counts = a.sum(axis=1)
    union = counts[:, None] + counts[None, :] - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        sim = np.where(union > 0, inter / union, 1.0)
    return sim


def mean_similarity(bits: np.ndarray) -> np.ndarray:
    """Mean Tanimoto similarity of each row to all the others."""
    sim = tanimoto_matrix(bits)
    n = len(sim)
    return (sim.sum(axis=1) - np.diag(sim)) / (n - 1)


def md_columns(frame: pd.DataFrame, target: str) -> list[str]:
    """MD property means usable as descriptors for ``target``: all but the target and its leaks."""
    excluded = {target, *LEAKS.get(target, ())}
    return [name for name in PROPERTIES if name in frame.columns and name not in excluded]


class Descriptors:
    """Descriptor matrices of one dataset (rows in the frame's order), built lazily and cached.

    ``tables``: precomputed SMILES-set tables (``{'ecfp': DataFrame indexed by SMILES, ...}``), used instead of the
    on-disk cache for the sets they hold (the benchmark processes pass their descriptor-cache node's tables).
    """

    def __init__(self, frame: pd.DataFrame, cache=None, ff_timeout=60.0, processes=2, progress=True, tables=None):
        self.frame = frame
        self.smiles = list(frame['smiles'])
        self.cache = cache
        self.ff_timeout = ff_timeout
        self.processes = processes
        self.progress = progress
        self.given = dict(tables or {})
        self._tables: dict[str, pd.DataFrame] = {}
        self.ff_failures: dict = {}
        self.timing: dict = {}

    def _graph_set(self, name: str) -> pd.DataFrame:
        prefix = GRAPH_SETS[name]
        cols = [c for c in self.frame.columns if c.startswith(prefix)]
        if not cols:
            raise MixedSources(f'descriptor set {name!r} ({prefix}* columns) is not in this dataset: '
                               f'{_SET_HINT[name]}')
        table = self.frame[cols].astype(float).reset_index(drop=True)
        lacking = table.isna().all(axis=1).to_numpy()
        if lacking.any():
            ids = self.frame.get('source_ids', self.frame['smiles'])
            examples = ', '.join(str(ids.iat[i] or self.smiles[i]) for i in np.flatnonzero(lacking)[:3])
            raise MixedSources(
                f'descriptor set {name!r} is missing for {int(lacking.sum())} of {len(table)} polymers of this dataset '
                f'(e.g. {examples}): the group mixes sources. Benchmark a group whose polymers all have it, or a set '
                f'they all have ({_SET_HINT[name]})'
            )
        return table

    def _smiles_set(self, name: str) -> pd.DataFrame:
        if name in self.given:
            table = self.given[name].reindex(self.smiles).reset_index(drop=True)
            if name == 'ff_gasteiger':
                self.ff_failures = {s: 'failed in the descriptor cache' for s, bad in
                                    zip(self.smiles, table.isna().all(axis=1)) if bad}
            return table
        if name == 'ff_gasteiger':
            table, self.ff_failures, info = ff_table(
                self.smiles, self.cache, timeout=self.ff_timeout, processes=self.processes, progress=self.progress
            )
            self.timing['ff_compute'] = info
            return table.reset_index(drop=True)
        if name == 'ecfp':
            return ecfp_table(self.smiles, self.cache, self.progress).reset_index(drop=True)
        return rdkit2d_table(self.smiles, self.cache, self.progress).reset_index(drop=True)

    def table(self, name: str, target: str | None = None) -> pd.DataFrame:
        key = name if name != 'md' else f'md:{target}'
        if key in self._tables:
            return self._tables[key]
        start = time.perf_counter()
        if name in GRAPH_SETS:
            table = self._graph_set(name)
        elif name == 'md':
            if target is None:
                raise ValueError('the md descriptor set needs the target, for its leak exclusions')
            table = self.frame[md_columns(self.frame, target)].astype(float).reset_index(drop=True)
            table.columns = [f'md.{c}' for c in table.columns]
        elif name in SMILES_SETS:
            table = self._smiles_set(name)
            if name == 'ff_gasteiger':
                km = [c for c in table.columns if c.startswith('ffkm.')]
                table[km] = table[km].mask(table[km].abs() < ffd_floor())  # same floor for rows cached before it
                table[km] = table[km].where(table[km].notna() | table.isna().all(axis=1).to_numpy()[:, None], 0.0)
            elif name == '2dfp':
                table = table.replace([np.inf, -np.inf], np.nan).astype(float)
                table = table.loc[:, table.notna().mean() > 0.99]
        else:
            raise ValueError(f'unknown descriptor set {name!r}; known: {", ".join(KNOWN_SETS)}')
        self.timing[key] = time.perf_counter() - start
        self._tables[key] = table
        return table

    def matrix(self, spec: str, target: str | None = None) -> tuple[np.ndarray, list[str]]:
        """The matrix of a set or a ``+``-joined combination, and its column names."""
        parts = [self.table(name, target) for name in spec.split('+')]
        table = pd.concat(parts, axis=1)
        return table.to_numpy(dtype=float), list(table.columns)

    def valid(self, spec: str, target: str | None = None) -> np.ndarray:
        """Rows whose descriptors of ``spec`` were computed (an FF failure makes a whole row NaN)."""
        ok = np.ones(len(self.smiles), dtype=bool)
        for name in spec.split('+'):
            if name == 'ff_gasteiger':
                ok &= self.table('ff_gasteiger').notna().all(axis=1).to_numpy()
        return ok

    def ecfp(self) -> np.ndarray:
        return self.table('ecfp').to_numpy(dtype=np.uint8)


_SET_HINT = {
    'qm': "this project's QMex descriptors, from a QM stage run here; PI1070's own QM is the set 'radonpy_qm'",
    'radonpy_qm': "RadonPy's monomer QM, from the PI1070 import (`polyinf import-dataset radonpy`)",
    'ff': "this project's FF descriptors (RESP charges), from an FF stage run here; from SMILES with Gasteiger "
          "charges it is the set 'ff_gasteiger'",
}


def smiles_tables(smiles, sets=SMILES_SETS, directory=None, processes=2, progress=True) -> dict:
    """The SMILES-set tables of ``smiles`` (indexed by SMILES), from the on-disk cache, computing what is missing."""
    frame = pd.DataFrame({'smiles': list(smiles)})
    desc = Descriptors(frame, cache=directory, processes=processes, progress=progress)
    out = {}
    for name in sets:
        table = desc._smiles_set(name)  # noqa: SLF001 (raw: floors and column filters apply on use)
        table.index = list(smiles)
        out[name] = table
    return out
