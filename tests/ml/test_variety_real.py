"""Variety vs volume (e) and the recommender (f) on real per-trial values: K-run labels are the mean of a polymer's
first K trials, the test labels the mean of all of them, and the results say the trials were real."""

import copy

import numpy as np
import pandas as pd
import pytest

from aiida_polyinf.ml import tasks as T
from aiida_polyinf.ml import variety as V


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    n, k = 60, 3
    x = rng.normal(size=(n, 4))
    truth = 1.0 + 0.2 * x[:, 0] - 0.1 * x[:, 1]
    runs = truth[:, None] + 0.05 * rng.normal(size=(n, k))
    runs[:5, 2] = np.nan  # five polymers with only two trials
    frame = pd.DataFrame({'smiles': [f'*C{"C" * i}*' for i in range(n)], 'density': np.nanmean(runs, axis=1),
                          **{f'radonpy_qm.d{j}': x[:, j] for j in range(4)}})
    return frame, runs


def _config():
    config = copy.deepcopy(T.load_config())
    config['grids']['krr'] = {'gamma': [0.1, 1.0], 'alpha': [0.01, 1.0]}
    config['tasks']['variety'].update(targets=['density'], descriptors='radonpy_qm', n_polymers=[10, 30], n_runs=[1, 3, 9],
                                      repeats=2, inner=3)
    return config


def test_real_trials_label_and_pool(data):
    frame, runs = data
    y, ok = V._labels(frame, 'density', runs)  # noqa: SLF001
    assert np.allclose(y, np.nanmean(runs, axis=1))
    assert not ok[:5].any() and ok[5:].all()  # the pool needs every trial
    pool, test = V.variety_split(frame, 'density', 0.2, 1, runs)
    assert set(pool) | set(test) == set(range(5, 60))
    # simulated: every row with a std is usable, and the labels are the frame's
    frame = frame.assign(density_std=0.05, density_count=3)
    y_sim, ok_sim = V._labels(frame, 'density', None)  # noqa: SLF001
    assert ok_sim.all() and np.array_equal(y_sim, frame['density'].to_numpy())


def test_variety_on_real_trials(data):
    frame, runs = data
    bench = T.Bench(frame, _config(), n_jobs=1, progress=False, trials={'density': runs})
    res = T.run_variety(bench)
    assert res['note'] == V.REAL_NOTE and res['n_runs'] == [1, 3]  # 9 trials do not exist: K = 1, 3
    rec = res['records'][0]
    assert rec['note'] == V.REAL_NOTE and set(rec['summary']) == {'10x1', '10x3', '30x1', '30x3'}
    # the 3-trial labels are less noisy than the single trials: the error with 30 polymers falls with K
    assert rec['summary']['30x3']['rmse_sigma']['mean'] <= rec['summary']['30x1']['rmse_sigma']['mean'] + 0.05


def test_variety_refuses_single_trials(data):
    frame, runs = data
    bench = T.Bench(frame, _config(), n_jobs=1, progress=False, trials={'density': runs[:, :1]})
    with pytest.raises(ValueError, match='at least 2 MD trials'):
        T.run_variety(bench)


def test_recommend_small_real_pilot(data):
    frame, runs = data
    x = frame[[f'radonpy_qm.d{j}' for j in range(4)]].to_numpy()
    grid = {'gamma': [0.1, 1.0], 'alpha': [0.01, 1.0]}
    rec = V.recommend(x[5:13], runs[5:13, :3], grid, budget=24, choices_runs=(1, 2, 3), sizes=(4, 6, 8), note=V.REAL_NOTE)
    assert rec['note'] == V.REAL_NOTE and rec['pilot'] == {'n_polymers': 8, 'n_runs': 3, 'curve': rec['pilot']['curve']}
    assert [o['n_polymers'] for o in rec['options']] == [24, 12, 8]
    assert rec['noise_variance'] == pytest.approx(V.noise_variance(list(runs[5:13, :3])))
    with pytest.raises(ValueError, match='at least 2 trials'):
        V.recommend(x[5:13], runs[5:13, :1], grid, budget=24)
    with pytest.raises(ValueError, match='two pilot sizes'):
        V.recommend(x[5:13], runs[5:13, :3], grid, budget=24, sizes=(8, 30))
