"""Variety vs volume (task e) and the allocation recommender (task f).

Two sources of K-run labels:

- **real trials** (``runs=``, an (n_rows, K_max) array of per-trial values read from the provenance graph, NaN where
  a polymer has fewer trials): a K-run label is the mean of the polymer's first K trials (trial order), the pool is
  the polymers with at least max(K) trials and the fixed test set keeps the mean of all their trials. Outputs carry
  ``REAL_NOTE``;
- **simulated from the aggregates' spread** (``runs=None``; PI1070 holds per polymer only the mean, std and count of
  its MD runs): run j of polymer i is ``mean_i + std_i · z_ij`` with standard normal ``z``, ``std_i`` its run-to-run
  std (the pooled std where ``_count`` <= 2, because PI1070 writes 0 there). Outputs carry ``SIMULATED_NOTE``.

Either way a K-run label is the mean of runs 1..K, so the K conditions of one repeat share their runs.

The recommender (f) reads trial-level pilot data (polymers × runs), estimates the run-to-run noise variance, the
learning curve ``MSE(N) = A·N^-beta`` of the noise-free part (CV on the pilot, validation-label noise subtracted) and
the share of training-label noise that reaches the predictions, ``lambda(N)`` (the KRR hat-matrix trace over N,
power law in N), and predicts ``MSE(N, K) = A·N^-beta + lambda(N)·sigma_noise^2/K`` for every N×K of a budget.
"""

from __future__ import annotations

import numpy as np

from . import protocol as P
from .data import pooled_std
from .models import Scaler, sqdist

SIMULATED_NOTE = 'simulated from PI1070 spread: K-run labels are mean + N(0, run-to-run std) per run'
REAL_NOTE = 'real trials from the provenance graph: K-run labels are the mean of the first K MD trials of a polymer'


def note(runs) -> str:
    return SIMULATED_NOTE if runs is None else REAL_NOTE


def _labels(frame, target, runs):
    """Per-row label (mean of all trials for real runs) and the rows that can be used."""
    if runs is None:
        y = frame[target].to_numpy(dtype=float)
        ok = np.isfinite(y) & np.isfinite(frame[f'{target}_std'].to_numpy(dtype=float))
        return y, ok
    runs = np.asarray(runs, dtype=float)
    with np.errstate(all='ignore'):
        y = np.nanmean(np.where(np.isfinite(runs), runs, np.nan), axis=1) if runs.size else np.full(len(runs), np.nan)
    return y, np.isfinite(runs).sum(axis=1) >= runs.shape[1]


def simulate_runs(mean, std, n_runs, rng) -> np.ndarray:
    """Runs (n_polymers, n_runs) drawn around ``mean`` with per-polymer ``std``."""
    return mean[:, None] + std[:, None] * rng.standard_normal((len(mean), n_runs))


def _fit_krr(model_grid, x, y, inner_k, rng, x_test):
    from .models import select

    inner = P.inner_folds(len(y), inner_k, rng)
    pairs = []
    for va in inner:
        mask = np.ones(len(y), dtype=bool)
        mask[va] = False
        pairs.append((np.flatnonzero(mask), va))
    return select('krr', model_grid, x, y, pairs, x_test)


def variety_split(frame, target, test_fraction=0.2, seed=P.DEFAULT_SEED, runs=None):
    """(pool, test) frame positions of task (e) for ``target``: the fixed test set and the rows to sample from."""
    _, ok = _labels(frame, target, runs)
    rows = np.flatnonzero(ok)
    rng = P.rng_for(seed, f'e/{target}/test')
    test = np.sort(rng.choice(rows, size=int(round(test_fraction * len(rows))), replace=False))
    return np.setdiff1d(rows, test), test


def variety_repeat(frame, x, target, grid, repeat, n_polymers=(90, 270, 810), n_runs=(1, 3, 9), test_fraction=0.2,
                   inner=4, seed=P.DEFAULT_SEED, runs=None) -> dict:
    """One repeat of task (e): ``{'NxK': metrics}`` for every N × K.

    For one N the K conditions share the polymers, their simulated runs (a K-run label is the mean of runs 1..K) and
    the inner folds, so they are fitted together (``select_multi``: one kernel factorisation per fold and grid
    point, hyperparameters chosen per K from its own inner-CV errors).
    """
    from .models import select_multi

    y_all, _ = _labels(frame, target, runs)
    std_all = pooled_std(frame, target) if runs is None else None
    pool, test = variety_split(frame, target, test_fraction, seed, runs)
    sigma = float(np.std(y_all[test]))
    cells = {}
    for n in n_polymers:
        if n > len(pool):
            continue
        rng = P.rng_for(seed, f'e/{target}/r{repeat}/n{n}')
        chosen = np.sort(rng.choice(pool, size=n, replace=False))
        if runs is None:
            drawn = simulate_runs(y_all[chosen], std_all[chosen], max(n_runs), rng)
        else:
            drawn = np.asarray(runs, dtype=float)[chosen]
        labels = np.column_stack([drawn[:, :k].mean(axis=1) for k in n_runs])
        fold_rng = P.rng_for(seed, f'e/{target}/r{repeat}/n{n}/folds')
        pairs = []
        for va in P.inner_folds(n, inner, fold_rng):
            mask = np.ones(n, dtype=bool)
            mask[va] = False
            pairs.append((np.flatnonzero(mask), va))
        fits = select_multi('krr', grid, x[chosen], labels, pairs, x[test])
        train_ids = [frame['smiles'].iat[i] for i in chosen]
        for k, (params, _, pred) in zip(n_runs, fits):
            m = P.metrics(y_all[test], pred, sigma=sigma)
            m.update(params=params, train_ids=train_ids)
            cells[f'{n}x{k}'] = m
    return cells


def variety_volume(frame, x, target, grid, n_polymers=(90, 270, 810), n_runs=(1, 3, 9), repeats=5,
                   test_fraction=0.2, inner=4, seed=P.DEFAULT_SEED, repeat_cells=None, runs=None) -> dict:
    """Task (e) for one target: RMSE/σ_test on a fixed test set for every N × K, over ``repeats`` samplings.

    ``repeat_cells``: the ``variety_repeat`` results of the repeats when computed elsewhere (in parallel).
    """
    y_all, _ = _labels(frame, target, runs)
    pool, test = variety_split(frame, target, test_fraction, seed, runs)
    sigma = float(np.std(y_all[test]))
    if repeat_cells is None:
        repeat_cells = [variety_repeat(frame, x, target, grid, r, n_polymers, n_runs, test_fraction, inner, seed, runs)
                        for r in range(repeats)]
    cells = {}
    for rc in repeat_cells:
        for key, m in rc.items():
            cells.setdefault(key, []).append(m)
    summary = {key: {k: P.summarize([m[k] for m in ms]) for k in ('rmse', 'r2', 'rmse_sigma')}
               for key, ms in cells.items()}
    budgets = {}
    for key in summary:
        n, k = map(int, key.split('x'))
        budgets.setdefault(n * k, []).append((summary[key]['rmse_sigma']['mean'], key))
    best = {str(b): min(v)[1] for b, v in budgets.items() if len(v) > 1}
    if not cells:
        raise ValueError(f'variety vs volume for {target}: no N of {list(n_polymers)} fits the {len(pool)} polymers of '
                         f'the pool (polymers with {"every K run" if runs is None else f"{max(n_runs)} trials"} less '
                         f'the test set); lower tasks.variety.n_polymers in the configuration')
    return {
        'target': target, 'note': note(runs), 'sigma_test': sigma, 'pool_size': int(len(pool)),
        'test_ids': [frame['smiles'].iat[i] for i in test], 'cells': cells, 'summary': summary,
        'best_at_equal_compute': best,
    }


# ----------------------------------------------------------------------------------------------- recommender (f)
def noise_variance(runs) -> float:
    """Pooled within-polymer variance of trial-level data (a list of arrays, one per polymer)."""
    num = sum(((np.asarray(r) - np.mean(r)) ** 2).sum() for r in runs if len(r) > 1)
    den = sum(len(r) - 1 for r in runs if len(r) > 1)
    return float(num / den)


def hat_fraction(x, gamma_rel, alpha) -> float:
    """tr(H)/N of RBF kernel ridge on standardised ``x``: the share of label noise passed to the fit."""
    xs = Scaler.fit(x).transform(x)
    k = np.exp(-gamma_rel / xs.shape[1] * sqdist(xs, xs))
    w = np.linalg.eigvalsh(k)
    w = np.maximum(w, 0)
    return float(np.sum(w / (w + alpha)) / len(x))


def recommend(x, runs, grid, budget, choices_runs=(1, 3, 9), sizes=(30, 60, 90, 120), inner=4, seed=P.DEFAULT_SEED,
              max_polymers=None, note=SIMULATED_NOTE) -> dict:
    """Estimate noise and scaling from pilot data and recommend N×K for ``budget`` runs.

    ``x``: descriptors of the pilot polymers; ``runs``: their trial-level values (n_pilot, k_pilot), k_pilot >= 2.
    ``sizes``: the pilot subset sizes of the learning curve (those above n_pilot are dropped; at least two must
    remain). A small pilot gets fewer CV folds: ``inner`` is capped by the smallest subset.
    """
    runs = np.asarray(runs, dtype=float)
    n_pilot, k_pilot = runs.shape
    if k_pilot < 2:
        raise ValueError(f'the pilot needs at least 2 trials per polymer to estimate the run-to-run noise; it has {k_pilot}')
    usable = sorted({int(n) for n in sizes if n <= n_pilot})
    if len(usable) < 2 or usable[0] < 4:
        raise ValueError(f'the learning curve needs two pilot sizes of at least 4 polymers within the pilot of '
                         f'{n_pilot}; got sizes {list(sizes)}')
    inner = max(2, min(inner, usable[0] - 1))
    s2 = noise_variance(list(runs))
    ybar = runs.mean(axis=1)
    var_y = float(np.var(ybar) - s2 / k_pilot)
    rows = []
    for n in sizes:
        if n > n_pilot:
            continue
        rng = P.rng_for(seed, f'f/n{n}')
        sub = np.sort(rng.choice(n_pilot, size=n, replace=False))
        folds = P.kfold(np.arange(n), inner, rng)
        sse, lam = 0.0, []
        for va in folds:
            tr = np.setdiff1d(np.arange(n), va)
            params, _, pred = _fit_krr(grid, x[sub[tr]], ybar[sub[tr]], inner, rng, x[sub[va]])
            sse += float(((pred - ybar[sub[va]]) ** 2).sum())
            lam.append(hat_fraction(x[sub[tr]], params['gamma'], params['alpha']))
        mse = sse / n - s2 / k_pilot  # validation labels carry noise s2/k_pilot
        n_train = n * (inner - 1) / inner
        # the training labels of the pilot carry s2/k_pilot too: remove their share to get the noise-free curve
        lam_n = float(np.mean(lam))
        clean = max(mse - lam_n * s2 / k_pilot, 1e-12 * max(var_y, 1e-300))
        rows.append({'n_train': n_train, 'mse_cv': mse + s2 / k_pilot, 'mse_clean': clean, 'lambda': lam_n})
    nt = np.array([r['n_train'] for r in rows])
    slope, intercept = np.polyfit(np.log(nt), np.log([r['mse_clean'] for r in rows]), 1)
    lslope, lintercept = np.polyfit(np.log(nt), np.log([r['lambda'] for r in rows]), 1)
    beta, a = -slope, float(np.exp(intercept))

    def predict(n, k):
        lam = float(np.exp(lintercept) * n**lslope)
        return a * n ** (-beta) + min(lam, 1.0) * s2 / k

    options = []
    for k in choices_runs:
        n = budget // k
        if max_polymers is not None and n > max_polymers:
            continue
        mse = predict(n, k)
        options.append({'n_polymers': int(n), 'n_runs': int(k), 'predicted_mse': mse,
                        'predicted_rmse_sigma': float(np.sqrt(mse / var_y)) if var_y > 0 else None})
    best = min(options, key=lambda o: o['predicted_mse'])
    return {
        'noise_variance': s2, 'label_variance': var_y, 'noise_to_signal': s2 / var_y if var_y > 0 else None,
        'scaling_exponent': float(beta), 'scaling_prefactor': a, 'lambda_exponent': float(lslope),
        'pilot': {'n_polymers': n_pilot, 'n_runs': k_pilot, 'curve': rows},
        'options': options, 'recommended': f"{best['n_polymers']}x{best['n_runs']}", 'note': note,
        '_predict': predict,
    }


def allocation_check(frame, x, target, grid, variety_result, pilot_polymers=120, pilot_runs=3,
                     sizes=(30, 60, 90, 120), budget=810, choices_runs=(1, 3, 9), seed=P.DEFAULT_SEED,
                     runs=None) -> dict:
    """Task (f) for one target: a pilot from the (e) pool (its real first ``pilot_runs`` trials with ``runs``, else
    simulated), the recommendation, and (e)'s measured best."""
    test_ids = set(variety_result['test_ids'])
    y_all = frame[target].to_numpy(dtype=float)
    usable = np.isfinite(y_all)
    if runs is not None:
        usable = np.isfinite(np.asarray(runs, dtype=float)[:, :pilot_runs]).all(axis=1)
    rows = np.array([i for i in np.flatnonzero(usable) if frame['smiles'].iat[i] not in test_ids])
    rng = P.rng_for(seed, f'f/{target}/pilot')
    pilot = np.sort(rng.choice(rows, size=min(pilot_polymers, len(rows)), replace=False))
    if runs is None:
        pilot_values = simulate_runs(y_all[pilot], pooled_std(frame, target)[pilot], pilot_runs, rng)
    else:
        pilot_values = np.asarray(runs, dtype=float)[pilot, :pilot_runs]
    rec = recommend(x[pilot], pilot_values, grid, budget, choices_runs, sizes, seed=seed, max_polymers=len(rows),
                    note=note(runs))
    predict = rec.pop('_predict')
    measured = variety_result['best_at_equal_compute'].get(str(budget))
    var_y = rec['label_variance']
    compare = {}
    for key, s in variety_result['summary'].items():
        n, k = map(int, key.split('x'))
        compare[key] = {'measured_rmse_sigma': s['rmse_sigma']['mean'],
                        'predicted_rmse_sigma': float(np.sqrt(predict(n, k) / var_y)) if var_y > 0 else None}
    rec.update(target=target, budget=budget, measured_best=measured,
               agrees=(measured == rec['recommended']) if measured else None, cells=compare,
               pilot_ids=[frame['smiles'].iat[i] for i in pilot])
    return rec
