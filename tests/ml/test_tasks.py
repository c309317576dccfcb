"""Bench mechanics on a small synthetic dataset: targets that share rows and splits are fitted in one job, with the
same results as one target at a time; the md set (target-dependent) is never shared; frozen splits are reused."""

import copy
import json

import numpy as np
import pandas as pd
import pytest

from aiida_polyinf.ml import tasks as T


@pytest.fixture
def frame():
    rng = np.random.default_rng(3)
    n = 80
    qm = rng.normal(size=(n, 5))
    data = {'smiles': [f'*C{"C" * i}*' for i in range(n)]}
    for j in range(5):
        data[f'radonpy_qm.d{j}'] = qm[:, j]
    data['density'] = 1.0 + 0.1 * qm[:, 0] + 0.02 * rng.normal(size=n)
    data['Cp'] = 1500 + 100 * qm[:, 1] ** 2 + 10 * rng.normal(size=n)
    data['bulk_modulus'] = 3 + qm[:, 2] + 0.3 * rng.normal(size=n)
    data['bulk_modulus'][5] = np.nan  # one missing value: that target has its own rows for range, not for shared
    return pd.DataFrame(data)


def _config(targets):
    config = copy.deepcopy(T.load_config())
    config['targets'] = targets
    config['grids']['krr'] = {'gamma': [0.1, 1.0], 'alpha': [0.01, 1.0]}
    config['grids']['pls'] = {'n_components': [1, 2, 3]}
    config['tasks']['interpolation'].update(sizes=[24, 48], ensembles=2)
    config['tasks']['extrapolation'].update(ensembles=2)
    config['tasks']['scaling'].update(sizes=[20, 40], samplings=2)
    return config


def _close(a, b):
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _close(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            _close(u, v)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-8, abs=1e-10)
    else:
        assert a == b


def _records(frame, task, targets, sets, tmp_path, name):
    bench = T.Bench(frame, _config(['density', 'Cp', 'bulk_modulus']), cache=tmp_path / 'cache', n_jobs=1,
                    progress=False)
    out = bench.run(task, targets, sets, ['pls', 'krr'], tmp_path / name)
    return {(r['target'], r['task'], r['descriptors'], r['model']): r for r in out['records']}, bench.timing


@pytest.mark.parametrize('task', ['interpolation', 'similarity', 'scaling'])
def test_shared_jobs_equal_single_target_runs(frame, tmp_path, task):
    targets = ['density', 'Cp', 'bulk_modulus']
    together, timing = _records(frame, task, targets, ['radonpy_qm', 'radonpy_qm+md'], tmp_path, 'together')
    n_kinds = 2 if task == 'scaling' else 1
    # qm: one job per model and kind for all three targets; qm+md: one per target, model and kind
    shared = n_kinds * 2 if task != 'scaling' else 2 + 2 * 3  # scaling: similarity shares, range does not
    assert timing[f'{task}:jobs'] == shared + n_kinds * 2 * 3
    for target in targets:
        alone, _ = _records(frame, task, [target], ['radonpy_qm', 'radonpy_qm+md'], tmp_path, f'alone_{target}')
        assert set(alone) <= set(together)
        for key, rec in alone.items():
            _close(rec['summary'], together[key]['summary'])  # equal up to rounding (multi-column solves)
            assert [f['params'] for f in rec['folds']] == [f['params'] for f in together[key]['folds']]
    # the shared rows: bulk_modulus's missing row is left out of every target's interpolation/similarity splits
    ids = {s for rec in together.values() if not rec['task'].endswith('range') for f in rec['folds']
           for s in f['train_ids']}
    assert frame['smiles'][5] not in ids


def test_frozen_splits_are_reused(frame, tmp_path):
    first, _ = _records(frame, 'range', ['density'], ['radonpy_qm'], tmp_path, 'frozen')
    path = tmp_path / 'frozen' / 'splits_range_density.json'
    splits = json.loads(path.read_text())
    splits['units'] = [u for u in splits['units'] if u['meta']['ensemble'] == 0]  # the next run reads this file
    splits['info']['ensembles'] = 1
    path.write_text(json.dumps(splits))
    again, _ = _records(frame, 'range', ['density'], ['radonpy_qm'], tmp_path, 'frozen')
    assert [f['unit'] for f in again[('density', 'extrapolation_range', 'radonpy_qm', 'pls')]['folds']] == \
        [u['name'] for u in splits['units']]


def test_variety_labelled_and_k_conditions_share_polymers(frame, tmp_path):
    from aiida_polyinf.ml import variety as V

    frame = frame.copy()
    for name in ('density', 'Cp'):
        frame[f'{name}_std'] = 0.05 * frame[name].abs()
        frame[f'{name}_count'] = 5
    config = _config(['density', 'Cp'])
    config['tasks']['variety'].update(targets=['density', 'Cp'], descriptors='radonpy_qm', n_polymers=[20, 40], n_runs=[1, 3],
                                      repeats=2)
    bench = T.Bench(frame, config, cache=tmp_path / 'cache', n_jobs=1, progress=False)
    res = T.run_variety(bench)
    assert res['note'] == V.SIMULATED_NOTE and 'simulated from PI1070 spread' in res['note']
    for rec in res['records']:
        assert rec['note'] == V.SIMULATED_NOTE
        assert set(rec['summary']) == {'20x1', '20x3', '40x1', '40x3'}
        for n in (20, 40):
            for a, b in zip(rec['cells'][f'{n}x1'], rec['cells'][f'{n}x3']):
                assert a['train_ids'] == b['train_ids']  # K conditions of one N and repeat: the same polymers
        assert not set(rec['test_ids']) & set(rec['cells']['40x1'][0]['train_ids'])
    # the repeats computed in parallel jobs equal the sequential function
    seq = V.variety_volume(frame, bench.desc.matrix('radonpy_qm')[0], 'density', config['grids']['krr'], [20, 40], [1, 3], 2,
                           0.2, 4, bench.seed)
    _close(seq['summary'], res['records'][0]['summary'])
