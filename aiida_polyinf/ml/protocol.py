"""The evaluation protocol: metrics, frozen splits and the nested cross-validation engine.

Splits are made once from a recorded seed and kept as data (``Splits``, saved as JSON next to the results, matbench
style): every run that reads the same splits file trains and tests on the same polymers. A split is a list of *units*;
one unit is one nested fit: the training positions, the inner folds (validation positions within the training rows,
for the hyperparameters) and named test sets (positions). Positions index ``Splits.ids``, the canonical SMILES of the
rows with a finite target, in dataset order.

Seeds: every random choice draws from ``numpy.random.default_rng([seed, crc32(label)])`` with a label naming what is
drawn (task, size, ensemble), so splits do not depend on the order they are made in. The label names the target only
where the partition depends on it (range extrapolation): interpolation and similarity splits of targets measured on the
same polymers are the same splits, so the engine fits those targets together (``run_units`` with a 2-D ``y``: one
kernel factorisation per inner fold and grid point serves every target; each target still gets its own
hyperparameters from its own inner-CV errors).
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import zlib

import numpy as np

DEFAULT_SEED = 250044


# ----------------------------------------------------------------------------------------------- metrics
def metrics(y_true, y_pred, sigma: float | None = None) -> dict:
    """RMSE, R² and RMSE/σ, σ being the (population) std of ``y_true`` unless given."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    resid = y_true - y_pred
    rmse = float(np.sqrt(np.mean(resid**2)))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    r2 = float(1.0 - np.sum(resid**2) / ss_tot) if ss_tot > 0 else float('nan')
    sigma = float(np.std(y_true)) if sigma is None else float(sigma)
    return {'rmse': rmse, 'r2': r2, 'rmse_sigma': rmse / sigma if sigma > 0 else float('nan'), 'n': int(len(y_true))}


def summarize(values) -> dict:
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if not len(values):
        return {'mean': None, 'std': None, 'n': 0}
    return {'mean': float(values.mean()), 'std': float(values.std(ddof=1)) if len(values) > 1 else 0.0, 'n': len(values)}


# ----------------------------------------------------------------------------------------------- randomness
def rng_for(seed: int, label: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(label.encode())])


def kfold(positions, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled k-fold partition of ``positions``: a list of k sorted test folds, sizes differing by at most one."""
    positions = np.asarray(positions)
    perm = rng.permutation(positions)
    return [np.sort(f) for f in np.array_split(perm, k)]


def inner_folds(n_train: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Validation folds as positions *within* a training set of size ``n_train``."""
    return kfold(np.arange(n_train), k, rng)


# ----------------------------------------------------------------------------------------------- splits
@dataclasses.dataclass
class Unit:
    name: str
    train: np.ndarray
    inner: list  # validation positions within ``train``
    tests: dict  # name -> positions
    meta: dict = dataclasses.field(default_factory=dict)

    def inner_pairs(self):
        n = len(self.train)
        out = []
        for va in self.inner:
            mask = np.ones(n, dtype=bool)
            mask[va] = False
            out.append((np.flatnonzero(mask), np.asarray(va)))
        return out

    def to_json(self):
        return {
            'name': self.name,
            'train': [int(i) for i in self.train],
            'inner': [[int(i) for i in f] for f in self.inner],
            'tests': {k: [int(i) for i in v] for k, v in self.tests.items()},
            'meta': self.meta,
        }

    @classmethod
    def from_json(cls, d):
        return cls(
            d['name'],
            np.asarray(d['train'], dtype=int),
            [np.asarray(f, dtype=int) for f in d['inner']],
            {k: np.asarray(v, dtype=int) for k, v in d['tests'].items()},
            d.get('meta', {}),
        )


@dataclasses.dataclass
class Splits:
    task: str
    target: str
    seed: int
    ids: list  # canonical SMILES, position -> polymer
    units: list
    info: dict = dataclasses.field(default_factory=dict)

    def to_json(self):
        return {
            'task': self.task,
            'target': self.target,
            'seed': self.seed,
            'ids': list(self.ids),
            'info': self.info,
            'units': [u.to_json() for u in self.units],
        }

    @classmethod
    def from_json(cls, d):
        return cls(d['task'], d['target'], d['seed'], d['ids'], [Unit.from_json(u) for u in d['units']], d['info'])

    def save(self, path):
        pathlib.Path(path).write_text(json.dumps(self.to_json()))

    @classmethod
    def load(cls, path):
        return cls.from_json(json.loads(pathlib.Path(path).read_text()))

    def check(self, ids):
        """Raise unless these splits were made for the polymers ``ids`` (the same rows in the same order)."""
        if list(ids) != list(self.ids):
            raise ValueError(f'frozen splits of {self.task}/{self.target} were made for other polymers')


def interpolation_splits(ids, target, sizes, seed=DEFAULT_SEED, ensembles=3, outer=5, inner=4) -> Splits:
    """Task (a): per training size n and ensemble, a random subset of ceil(n·outer/(outer-1)) rows in outer-fold CV,
    so that every outer fold trains on n rows (capped by the data)."""
    n_all = len(ids)
    units = []
    for n in sizes:
        m = min(n_all, math.ceil(n * outer / (outer - 1)))
        for e in range(ensembles):
            rng = rng_for(seed, f'a/n{n}/e{e}')  # the same for every target
            subset = np.sort(rng.choice(n_all, size=m, replace=False))
            for f, test in enumerate(kfold(subset, outer, rng)):
                train = np.setdiff1d(subset, test)
                units.append(
                    Unit(f'n{n}/e{e}/f{f}', train, inner_folds(len(train), inner, rng), {'test': test},
                         {'size': n, 'ensemble': e, 'fold': f})
                )
    return Splits('interpolation', target, seed, list(ids), units, {'sizes': list(sizes), 'ensembles': ensembles})


def _about(kind, target):
    """The target's part of a split label: only range partitions depend on the target."""
    return f'{target}/' if kind == 'range' else ''


def extrapolation_partition(kind: str, y, similarity=None, test_fraction=0.3):
    """(pool, test) positions: 'range' puts the top ``test_fraction`` of the target in the test set, 'similarity' the
    ``test_fraction`` with the lowest mean Tanimoto similarity to all other polymers. Ties break by position."""
    n = len(y)
    n_test = int(round(test_fraction * n))
    if kind == 'range':
        order = np.lexsort((np.arange(n), np.asarray(y)))  # ascending target
        test = order[n - n_test :]
    elif kind == 'similarity':
        order = np.lexsort((np.arange(n), np.asarray(similarity)))  # ascending similarity
        test = order[:n_test]
    else:
        raise ValueError(kind)
    test = np.sort(test)
    return np.setdiff1d(np.arange(n), test), test


def extrapolation_splits(ids, target, kind, y, similarity=None, seed=DEFAULT_SEED, ensembles=3, outer=5, inner=4,
                         test_fraction=0.3) -> Splits:
    """Tasks (b) range and (c) similarity: per ensemble an outer k-fold over the in-domain pool; every fold model
    predicts its held-out pool fold ('val', interpolation) and the fixed out-of-domain set ('test')."""
    pool, test = extrapolation_partition(kind, y, similarity, test_fraction)
    units = []
    for e in range(ensembles):
        rng = rng_for(seed, f'{kind}/{_about(kind, target)}e{e}')
        for f, val in enumerate(kfold(pool, outer, rng)):
            train = np.setdiff1d(pool, val)
            units.append(Unit(f'e{e}/f{f}', train, inner_folds(len(train), inner, rng), {'val': val, 'test': test},
                              {'ensemble': e, 'fold': f}))
    info = {'kind': kind, 'pool': [int(i) for i in pool], 'test': [int(i) for i in test], 'ensembles': ensembles}
    return Splits(f'extrapolation_{kind}', target, seed, list(ids), units, info)


def extrapolation_scaling_splits(ids, target, kind, y, similarity=None, sizes=(50, 100, 200, 500), samplings=3,
                                 seed=DEFAULT_SEED, inner=4, test_fraction=0.3) -> Splits:
    """Task (d): per in-domain size and sampling, a random subset of the pool, hyperparameters by inner k-fold on it,
    one refit on all of it, predictions on the fixed out-of-domain set."""
    pool, test = extrapolation_partition(kind, y, similarity, test_fraction)
    units = []
    for s in sizes:
        if s > len(pool):
            continue
        for r in range(samplings):
            rng = rng_for(seed, f'd/{kind}/{_about(kind, target)}n{s}/r{r}')
            train = np.sort(rng.choice(pool, size=s, replace=False))
            units.append(Unit(f'n{s}/r{r}', train, inner_folds(s, inner, rng), {'test': test},
                              {'size': s, 'sampling': r}))
    info = {'kind': kind, 'pool': [int(i) for i in pool], 'test': [int(i) for i in test], 'sizes': list(sizes)}
    return Splits(f'scaling_{kind}', target, seed, list(ids), units, info)


# ----------------------------------------------------------------------------------------------- engine
def run_units(model: str, grid: dict, x: np.ndarray, y: np.ndarray, units, fit=None) -> list:
    """Nested fits of ``units``: per unit the chosen hyperparameters, the inner-CV RMSE and predictions per test set.

    ``y`` of shape (n,) gives one list of unit results; of shape (n, T), T targets on the same rows and splits, a list
    of T such lists (``models.select_multi``: shared factorisations, per-target hyperparameters).
    ``fit(train_rows, inner_pairs, tests: dict) -> (params, inner_rmse, {name: predictions})`` replaces the PLS/KRR
    path (used for the graph networks; one target).
    """
    from .models import select_multi

    multi = fit is None and np.ndim(y) == 2
    ys = np.asarray(y, dtype=float) if fit is not None or multi else np.asarray(y, dtype=float)[:, None]
    n_t = ys.shape[1] if fit is None else 1
    out = [[] for _ in range(n_t)]
    for unit in units:
        if fit is None:
            names = list(unit.tests)
            stacked = np.concatenate([unit.tests[k] for k in names])
            per_target = select_multi(model, grid, x[unit.train], ys[unit.train], unit.inner_pairs(), x[stacked])
        else:
            per_target = [fit(unit.train, unit.inner_pairs(), unit.tests)]
        for j, (params, inner_rmse, pred) in enumerate(per_target):
            if fit is None:
                preds, start = {}, 0
                for k in names:
                    preds[k] = pred[start : start + len(unit.tests[k])]
                    start += len(unit.tests[k])
            else:
                preds = pred
            out[j].append({
                'unit': unit.name,
                'params': params,
                'inner_rmse_best': float(np.min(inner_rmse)) if inner_rmse is not None else None,
                'predictions': {k: np.asarray(v, dtype=float) for k, v in preds.items()},
            })
    return out if multi else out[0]
