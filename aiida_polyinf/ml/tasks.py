"""The benchmark tasks (a)–(f) on one dataset: splits, nested fits in parallel, aggregated metrics.

- ``interpolation`` (a): training sizes 100/200/400/800, outer 5-fold × inner 4-fold, 3 ensembles;
- ``range`` (b) / ``similarity`` (c): extrapolation to the top 30 % of the target / the 30 % least similar polymers
  (mean ECFP Tanimoto to all others), 3 ensembles of outer 5-fold over the in-domain pool; the test prediction of an
  ensemble is the mean of its fold models, the reported spread is over ensembles;
- ``scaling`` (d): (b) and (c) with in-domain training sets of 50/100/200/500, 3 samplings each;
- ``variety`` (e): variety vs volume, N polymers × K runs, on the real per-trial values of the group (``Bench.trials``)
  or, without them, labels simulated from the aggregates' run-to-run spread (PI1070);
- ``allocation`` (f): the recommender of ``aiida_polyinf.ml.allocation`` checked against (e).

Grids, sizes and the task lists are in ``benchmark.yaml`` beside this module. Kernel ridge on the ECFP bits alone (the
set ``ecfp``) uses the Tanimoto kernel on the raw bits (grid ``grids.krr_tanimoto``: alpha only), every other kernel
ridge the RBF kernel on standardised descriptors (``grids.krr``); each record names its ``kernel``. Hyperparameters
come from the inner CV only; the test sets are never looked at before the refit has predicted them.
"""

from __future__ import annotations

import pathlib
import time

import numpy as np
import yaml

from . import protocol as P

CONFIG = pathlib.Path(__file__).with_name('benchmark.yaml')
TASKS = ('interpolation', 'range', 'similarity', 'scaling', 'variety', 'allocation')
GNN_MODELS = ('gcn', 'gin')


def load_config(path=None) -> dict:
    return yaml.safe_load(pathlib.Path(path or CONFIG).read_text())


class Bench:
    """One dataset with its descriptors, running tasks for targets, descriptor sets and models."""

    def __init__(self, frame, config=None, cache=None, n_jobs=2, progress=True, seed=None, tables=None, trials=None):
        from .descriptors import Descriptors

        self.frame = frame
        self.config = config or load_config()
        self.seed = int(seed if seed is not None else self.config.get('seed', P.DEFAULT_SEED))
        self.desc = Descriptors(frame, cache=cache, processes=n_jobs, progress=progress, tables=tables)
        #: per-trial values ``{target: (n_polymers, K) array, NaN where a polymer has fewer trials}`` in the frame's
        #: row order, for tasks (e) and (f) on real trials; None: simulated from the aggregates' spread
        self.trials = trials
        self.n_jobs = n_jobs
        self.progress = progress
        self.timing: dict = {}
        self._similarity = None

    # ------------------------------------------------------------------------------------------- data
    def rows(self, target, shared=False):
        """Positions (in the frame) of the rows with a finite target value, and the values.

        ``shared``: the rows where every target of the configuration (and ``target``) is finite, the polymer set of
        the target-independent splits (interpolation, similarity), so that the targets can be fitted together.
        """
        y = self.frame[target].to_numpy(dtype=float)
        ok = np.isfinite(y)
        if shared:
            for other in self.config['targets']:
                if other in self.frame:
                    ok &= np.isfinite(self.frame[other].to_numpy(dtype=float))
        rows = np.flatnonzero(ok)
        return rows, y[rows]

    def similarity(self):
        if self._similarity is None:
            from .descriptors import mean_similarity

            self._similarity = mean_similarity(self.desc.ecfp())
        return self._similarity

    def splits(self, task, target, frozen_dir=None, with_rows=False) -> list:
        """The frozen splits of a task and target: read from ``frozen_dir`` when there, else made and saved there.

        With ``with_rows``, ``(splits, rows, y)`` triples: the frame positions of ``splits.ids`` and their targets.
        """
        cfg = self.config['tasks']
        out = []
        kinds = {'interpolation': [None], 'range': ['range'], 'similarity': ['similarity'],
                 'scaling': cfg['scaling']['kinds']}[task]
        for kind in kinds:
            rows, y = self.rows(target, shared=kind != 'range')
            ids = list(self.frame['smiles'].iloc[rows])
            name = f'{task}' if kind is None or task != 'scaling' else f'{task}_{kind}'
            path = pathlib.Path(frozen_dir) / f'splits_{name}_{target}.json' if frozen_dir else None
            if path is not None and path.exists():
                splits = P.Splits.load(path)
                splits.check(ids)
                out.append((splits, rows, y) if with_rows else splits)
                continue
            sim = self.similarity()[rows] if (kind == 'similarity') else None
            if task == 'interpolation':
                c = cfg['interpolation']
                splits = P.interpolation_splits(ids, target, c['sizes'], self.seed, c['ensembles'], c['outer'],
                                                c['inner'])
            elif task in ('range', 'similarity'):
                c = cfg['extrapolation']
                splits = P.extrapolation_splits(ids, target, kind, y, sim, self.seed, c['ensembles'], c['outer'],
                                                c['inner'], c['test_fraction'])
            else:
                c = cfg['scaling']
                splits = P.extrapolation_scaling_splits(ids, target, kind, y, sim, c['sizes'], c['samplings'],
                                                        self.seed, c['inner'], cfg['extrapolation']['test_fraction'])
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                splits.save(path)
            out.append((splits, rows, y) if with_rows else splits)
        return out

    # ------------------------------------------------------------------------------------------- running
    def run(self, task, targets, descriptor_sets, models, frozen_dir=None) -> dict:
        """Run a task (a)–(d) for every target × descriptor set × model; returns the JSON-able results."""
        from joblib import Parallel, delayed
        from threadpoolctl import threadpool_limits
        from tqdm.auto import tqdm

        with threadpool_limits(limits=1):  # one BLAS thread per process: threads spin and fight on 2 cores
            return self._run(task, targets, descriptor_sets, models, frozen_dir, Parallel, delayed, tqdm)

    def _run(self, task, targets, descriptor_sets, models, frozen_dir, Parallel, delayed, tqdm):
        meta, groups = [], {}
        start = time.perf_counter()
        for target in targets:
            for splits, rows, y in self.splits(task, target, frozen_dir, with_rows=True):
                for spec in descriptor_sets:
                    for model in models:
                        if (model in GNN_MODELS) != (spec == 'graph'):
                            continue
                        meta.append((target, splits, spec, model, y, rows))
                        # targets on the same rows and splits share one job when the descriptors do not depend on the
                        # target (the md set leaves out each target's leaks)
                        shared = model not in GNN_MODELS and 'md' not in spec.split('+')
                        key = (splits.task, _fingerprint(splits), spec, model) if shared else len(meta)
                        groups.setdefault(key, []).append(len(meta) - 1)
        jobs = []
        for key, members in groups.items():
            target, splits, spec, model, _, rows = meta[members[0]]
            if model in GNN_MODELS:
                jobs.append(('gnn', members, (target, splits, spec, model, rows)))
                continue
            x, _ = self.desc.matrix(spec, target)
            ys = np.column_stack([meta[m][4] for m in members])
            jobs.append(('path', members, (x[rows], ys, splits.units, model, model_grid(self.config, spec, model))))
        self.timing[f'{task}:descriptors'] = time.perf_counter() - start
        start = time.perf_counter()
        results = [None] * len(meta)
        path_jobs = [j for j in jobs if j[0] == 'path']
        # the widest matrices and the most targets first, so that no long job starts last
        path_jobs.sort(key=lambda j: -(j[2][0].shape[1] + 1000 * j[2][1].shape[1]))
        if path_jobs:
            parallel = Parallel(n_jobs=self.n_jobs, return_as='generator')
            gen = parallel(delayed(_run_path)(*j[2]) for j in path_jobs)
            for job, res in zip(path_jobs, tqdm(gen, total=len(path_jobs), desc=f'{task}', disable=not self.progress)):
                for m, r in zip(job[1], res):
                    results[m] = r
        for job in jobs:
            if job[0] == 'gnn':
                results[job[1][0]] = self._run_gnn(*job[2], meta[job[1][0]][4])
        self.timing[f'{task}:fits'] = time.perf_counter() - start
        self.timing[f'{task}:jobs'] = len(jobs)
        return self.aggregate(task, meta, results)

    def _run_gnn(self, target, splits, spec, model, rows, y):
        from .gnn import GNNRegressor, polymer_graphs

        graphs = polymer_graphs(list(self.frame['smiles'].iloc[rows]))
        grid = self.config['grids'][model]
        start = time.perf_counter()

        def fit(train, inner, tests):
            points = [dict(zip(grid, v)) for v in _product(grid)]
            best, inner_rmse = points[0], None
            if len(points) > 1:  # inner CV only when there is something to choose
                scores = []
                for p in points:
                    sse, nv = 0.0, 0
                    for tr, va in inner:
                        m = GNNRegressor(model, seed=self.seed, **p).fit([graphs[i] for i in train[tr]], y[train[tr]])
                        sse += float(((m.predict([graphs[i] for i in train[va]]) - y[train[va]]) ** 2).sum())
                        nv += len(va)
                    scores.append(np.sqrt(sse / nv))
                best, inner_rmse = points[int(np.argmin(scores))], np.array(scores)
            m = GNNRegressor(model, seed=self.seed, **best).fit([graphs[i] for i in train], y[train])
            return best, inner_rmse, {k: m.predict([graphs[i] for i in v]) for k, v in tests.items()}

        out = P.run_units(model, grid, None, y, splits.units, fit=fit)
        self.timing.setdefault('gnn_seconds', 0.0)
        self.timing['gnn_seconds'] += time.perf_counter() - start
        return out

    # ------------------------------------------------------------------------------------------- aggregation
    def aggregate(self, task, meta, results) -> dict:
        records = []
        for (target, splits, spec, model, y, _), res in zip(meta, results):
            records.append(aggregate_one(splits, spec, model, y, res))
        return {'task': task, 'seed': self.seed, 'records': records}


def _product(grid):
    import itertools

    return itertools.product(*grid.values())


def _run_path(x, y, units, model, grid):
    """One job: the units of one descriptor set and model for the target columns of ``y`` (n, T); ``grid`` from
    ``model_grid`` (for kernel ridge it names the kernel)."""
    from threadpoolctl import threadpool_limits

    from . import models  # noqa: F401 (loads scipy's LAPACK first: the limit applies to loaded libraries only)

    with threadpool_limits(limits=1):  # one BLAS thread per worker: threads spin and fight on a loaded machine
        return P.run_units(model, grid, x, y, units)


#: Descriptor sets of binary fingerprints, on which kernel ridge uses the Tanimoto kernel.
TANIMOTO_SETS = ('ecfp',)


def kernel(spec: str, model: str) -> str | None:
    """The kernel of kernel ridge on descriptor set ``spec``: 'tanimoto' on the ECFP bits alone, else 'rbf'; None
    for the other models."""
    if model != 'krr':
        return None
    return 'tanimoto' if spec in TANIMOTO_SETS else 'rbf'


def model_grid(config: dict, spec: str, model: str) -> dict:
    """The hyperparameter grid of ``model`` on ``spec``: ``grids.krr_tanimoto`` (with ``kernel: tanimoto``) for the
    Tanimoto kernel, else ``grids.<model>``."""
    if kernel(spec, model) == 'tanimoto':
        if 'krr_tanimoto' not in config['grids']:
            raise KeyError(f'kernel ridge on {spec!r} uses the Tanimoto kernel: the configuration needs '
                           f'grids.krr_tanimoto (alpha)')
        return {'kernel': 'tanimoto', **config['grids']['krr_tanimoto']}
    return config['grids'][model]


def _fingerprint(splits: P.Splits) -> str:
    """Identifies splits by their polymers and units (not their target)."""
    import hashlib
    import json

    body = json.dumps([splits.ids, [u.to_json() for u in splits.units]])
    return hashlib.sha1(body.encode()).hexdigest()


def aggregate_one(splits: P.Splits, spec, model, y, results) -> dict:
    """Metrics per fold / ensemble / size of one (target, descriptor set, model) and their summaries."""
    by_unit = {u.name: u for u in splits.units}
    folds = []
    for res in results:
        unit = by_unit[res['unit']]
        entry = {'unit': unit.name, 'params': res['params'], 'meta': unit.meta,
                 'inner_rmse': res.get('inner_rmse_best'),  # the selection figure: inner CV on training rows
                 'train_ids': [splits.ids[i] for i in unit.train]}
        entry['metrics'] = {k: P.metrics(y[unit.tests[k]], res['predictions'][k]) for k in unit.tests}
        entry['test_ids'] = {k: [splits.ids[i] for i in unit.tests[k]] for k in unit.tests if k != 'test'
                             or not splits.task.startswith(('extrapolation', 'scaling'))}
        folds.append(entry)
    record = {'target': splits.target, 'task': splits.task, 'descriptors': spec, 'model': model,
              'kernel': kernel(spec, model), 'folds': folds}
    if splits.task == 'interpolation':
        record['test_ids_note'] = 'per fold under test_ids'
        record['summary'] = {}
        record['parity'] = {}
        for size in splits.info['sizes']:
            per_ens = []
            for e in range(splits.info['ensembles']):
                rs = [(by_unit[r['unit']], r) for r in results
                      if by_unit[r['unit']].meta.get('size') == size and by_unit[r['unit']].meta['ensemble'] == e]
                if not rs:
                    continue
                idx = np.concatenate([u.tests['test'] for u, _ in rs])
                pred = np.concatenate([r['predictions']['test'] for _, r in rs])
                per_ens.append(P.metrics(y[idx], pred))
            record['summary'][str(size)] = _summ(per_ens)
    elif splits.task.startswith('extrapolation'):
        test = np.asarray(splits.info['test'])
        pool = np.asarray(splits.info['pool'])
        record['test_ids'] = [splits.ids[i] for i in test]
        ens_pred, per_ens, per_val = [], [], []
        for e in range(splits.info['ensembles']):
            rs = [(by_unit[r['unit']], r) for r in results if by_unit[r['unit']].meta['ensemble'] == e]
            pred = np.mean([r['predictions']['test'] for _, r in rs], axis=0)
            ens_pred.append(pred)
            per_ens.append(P.metrics(y[test], pred))
            idx = np.concatenate([u.tests['val'] for u, _ in rs])
            per_val.append(P.metrics(y[idx], np.concatenate([r['predictions']['val'] for _, r in rs]),
                                     sigma=np.std(y[pool])))
        ens_pred = np.array(ens_pred)
        record['summary'] = {'test': _summ(per_ens), 'interpolation_val': _summ(per_val),
                             'test_ensemble_mean': P.metrics(y[test], ens_pred.mean(axis=0))}
        record['parity'] = {'y': y[test].tolist(), 'pred': ens_pred.mean(axis=0).tolist(),
                            'pred_std': ens_pred.std(axis=0).tolist()}
    else:  # scaling
        test = np.asarray(splits.info['test'])
        record['test_ids'] = [splits.ids[i] for i in test]
        record['summary'] = {}
        record['parity'] = {}
        for size in splits.info['sizes']:
            rs = [r for r in results if by_unit[r['unit']].meta['size'] == size]
            if not rs:
                continue
            preds = np.array([r['predictions']['test'] for r in rs])
            record['summary'][str(size)] = _summ([P.metrics(y[test], p) for p in preds])
            record['parity'][str(size)] = {'pred': preds.mean(axis=0).tolist(), 'pred_std': preds.std(axis=0).tolist()}
        record['parity']['y'] = y[test].tolist()
    return record


def _summ(metric_list):
    keys = ('rmse', 'r2', 'rmse_sigma')
    out = {k: P.summarize([m[k] for m in metric_list]) for k in keys}
    out['members'] = metric_list
    return out


def run_variety(bench: Bench, targets=None, with_allocation=False) -> dict:
    """Tasks (e) and, with ``with_allocation``, (f) on ``bench``'s dataset."""
    from threadpoolctl import threadpool_limits
    from tqdm.auto import tqdm

    from . import variety as V

    cfg = bench.config['tasks']['variety']
    acfg = bench.config['tasks']['allocation']
    grid = model_grid(bench.config, cfg['descriptors'], cfg['model'])
    if with_allocation and kernel(cfg['descriptors'], cfg['model']) == 'tanimoto':
        raise ValueError(f'task (f) estimates the hat-matrix trace of the RBF kernel (variety.hat_fraction); kernel '
                         f'ridge on {cfg["descriptors"]!r} uses the Tanimoto kernel: choose another descriptor set')
    targets = targets or cfg['targets']
    start = time.perf_counter()
    x, _ = bench.desc.matrix(cfg['descriptors'])
    runs = {t: None for t in targets} if bench.trials is None else {t: bench.trials[t] for t in targets}
    n_runs = list(cfg['n_runs'])
    if bench.trials is not None:  # real trials: the choices of K that the group has
        k_max = min(int(np.isfinite(r).sum(axis=1).max()) if r.size else 0 for r in runs.values())
        n_runs = [k for k in n_runs if k <= k_max] or [1]
        if len(n_runs) < 2 and k_max >= 2:
            n_runs.append(k_max)
        if len(n_runs) < 2:
            raise ValueError(f'variety vs volume on real trials needs polymers with at least 2 MD trials of each of '
                             f'{", ".join(targets)}; the most any has is {k_max}')
        runs = {t: r[:, : max(n_runs)] for t, r in runs.items()}

    from joblib import Parallel, delayed

    # one job per target and repeat: 25 similar jobs keep the workers busy to the end
    todo = [(t, r) for r in range(cfg['repeats']) for t in targets]
    args = (cfg['n_polymers'], n_runs, cfg['test_fraction'], cfg['inner'], bench.seed)
    gen = Parallel(n_jobs=bench.n_jobs, return_as='generator')(
        delayed(_variety_repeat)(bench.frame, x, t, grid, r, *args, runs[t]) for t, r in todo)
    done = dict(zip(todo, tqdm(gen, total=len(todo), desc='variety', disable=not bench.progress)))
    records = []
    for target in targets:
        res = V.variety_volume(bench.frame, x, target, grid, cfg['n_polymers'], n_runs, cfg['repeats'],
                               cfg['test_fraction'], cfg['inner'], bench.seed,
                               repeat_cells=[done[(target, r)] for r in range(cfg['repeats'])], runs=runs[target])
        if with_allocation:
            with threadpool_limits(limits=1):
                res['allocation'] = V.allocation_check(
                    bench.frame, x, target, grid, res, acfg['pilot_polymers'], acfg['pilot_runs'],
                    acfg['pilot_sizes'], acfg['budget'], acfg['choices_runs'], bench.seed, runs=runs[target])
        records.append(res)
    bench.timing['variety:fits'] = time.perf_counter() - start
    return {'task': 'variety', 'seed': bench.seed, 'note': V.note(bench.trials), 'descriptors': cfg['descriptors'],
            'model': cfg['model'], 'kernel': kernel(cfg['descriptors'], cfg['model']), 'n_runs': n_runs,
            'records': records}


def _variety_repeat(frame, x, target, grid, repeat, *args):
    from threadpoolctl import threadpool_limits

    from . import models  # noqa: F401 (scipy's LAPACK loaded before the thread limit)
    from . import variety as V

    with threadpool_limits(limits=1):
        return V.variety_repeat(frame, x, target, grid, repeat, *args)  # args end with the real runs (or None)
