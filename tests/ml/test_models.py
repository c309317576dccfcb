"""The fast hyperparameter paths equal the reference scikit-learn pipelines (RBF and Tanimoto kernel ridge, PLS); the
nested engine selects from the grid."""

import numpy as np
import pytest

from aiida_polyinf.ml import protocol as P
from aiida_polyinf.ml.models import (PathModel, Scaler, grid_points, make_estimator, n_informative, path_predictions,
                                     select, select_multi, tanimoto)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 12))
    x[:, 4] = 3.0  # a constant column
    y = 2 * x[:, 0] + x[:, 1] ** 2 + 0.1 * rng.normal(size=90) + 10
    x[rng.random(x.shape) < 0.03] = np.nan
    return x, y


@pytest.fixture
def bits():
    """Binary fingerprints (sparse bits, two rows empty) and a target that depends on a few of them."""
    rng = np.random.default_rng(4)
    x = (rng.random((90, 64)) < 0.15).astype(float)
    x[5] = 0.0  # an empty fingerprint: similarity 0 to the others, 1 to itself
    x[80] = 0.0
    y = 3 * x[:, 0] - 2 * x[:, 1] * x[:, 2] + x[:, 3:10].sum(axis=1) + 0.1 * rng.normal(size=90) + 5
    return x, y


@pytest.mark.parametrize('model,params', [('pls', {'n_components': 4}), ('krr', {'alpha': 0.05, 'gamma': 0.3})])
def test_path_model_equals_sklearn_pipeline(data, model, params):
    x, y = data
    ref = make_estimator(model, params, n_informative(x[:70])).fit(x[:70], y[:70]).predict(x[70:]).ravel()
    fast = PathModel(model, params).fit(x[:70], y[:70]).predict(x[70:])
    np.testing.assert_allclose(fast, ref, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize('alpha', [0.01, 1.0])
def test_tanimoto_path_model_equals_sklearn_pipeline(bits, alpha):
    x, y = bits
    params = {'kernel': 'tanimoto', 'alpha': alpha}
    ref = make_estimator('krr', params, n_informative(x[:70])).fit(x[:70], y[:70]).predict(x[70:]).ravel()
    fast = PathModel('krr', params).fit(x[:70], y[:70]).predict(x[70:])
    np.testing.assert_allclose(fast, ref, rtol=1e-8, atol=1e-8)
    # the reference is kernel ridge on the Tanimoto Gram matrix of the raw bits (no scaling), by hand
    k = tanimoto(x[:70], x[:70])
    mu, sd = y[:70].mean(), y[:70].std()
    coef = np.linalg.solve(k + alpha * np.eye(70), (y[:70] - mu) / sd)
    np.testing.assert_allclose(fast, tanimoto(x[70:], x[:70]) @ coef * sd + mu, rtol=1e-8, atol=1e-8)
    # a missing fingerprint (NaN) is the empty one: row 80 is empty
    missing = x[70:].copy()
    missing[10] = np.nan
    np.testing.assert_allclose(PathModel('krr', params).fit(x[:70], y[:70]).predict(missing), fast, atol=1e-12)


def test_tanimoto_kernel_values():
    a = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]], dtype=float)
    k = tanimoto(a, a)
    np.testing.assert_allclose(k, [[1, 1 / 3, 0], [1 / 3, 1, 0], [0, 0, 1]])
    assert np.all(np.linalg.eigvalsh(k) > -1e-12)


def test_path_covers_whole_grid(data):
    x, y = data
    s = Scaler.fit(x[:70])
    grid = {'gamma': [0.1, 1.0], 'alpha': [0.01, 1.0]}
    preds = path_predictions('krr', grid, s.transform(x[:70]), y[:70], s.transform(x[70:]))
    assert preds.shape == (4, 20)
    one = PathModel('krr', {'gamma': 1.0, 'alpha': 0.01}).fit(x[:70], y[:70]).predict(x[70:])
    np.testing.assert_allclose(preds[2], one, atol=1e-10)


def test_select_uses_inner_folds_only(data):
    x, y = data
    rng = np.random.default_rng(1)
    inner = [(np.setdiff1d(np.arange(70), va), va) for va in P.kfold(np.arange(70), 4, rng)]
    grid = {'n_components': [1, 2, 3, 5]}
    params, rmse, pred = select('pls', grid, x[:70], y[:70], inner, x[70:])
    assert params['n_components'] == grid['n_components'][int(np.argmin(rmse))]
    # changing the test labels (never seen) changes nothing; predictions are those of the refit on all 70 rows
    ref = PathModel('pls', params).fit(x[:70], y[:70]).predict(x[70:])
    np.testing.assert_allclose(pred, ref, atol=1e-10)
    assert P.metrics(y[70:], pred)['r2'] > 0.5


def test_kernel_ridge_on_ecfp_uses_the_tanimoto_grid():
    """The benchmarks choose the kernel by descriptor set: Tanimoto on the ECFP bits alone, RBF elsewhere."""
    from aiida_polyinf.ml import tasks as T

    config = T.load_config()
    grid = T.model_grid(config, 'ecfp', 'krr')
    assert grid == {'kernel': 'tanimoto', 'alpha': config['grids']['krr_tanimoto']['alpha']}
    assert [p['kernel'] for p in grid_points('krr', grid)] == ['tanimoto'] * len(grid['alpha'])
    assert T.model_grid(config, '2dfp', 'krr') == config['grids']['krr'] and T.kernel('2dfp', 'krr') == 'rbf'
    assert T.kernel('ecfp+2dfp', 'krr') == 'rbf' and T.kernel('ecfp', 'pls') is None
    assert T.model_grid(config, 'ecfp', 'pls') == config['grids']['pls']


def test_tanimoto_path_covers_whole_grid(bits):
    x, y = bits
    grid = {'kernel': 'tanimoto', 'alpha': [0.001, 0.1, 1.0]}
    preds = path_predictions('krr', grid, x[:70], y[:70], x[70:])  # Tanimoto: raw bits, nothing to prepare
    assert preds.shape == (3, 20)
    for i, a in enumerate(grid['alpha']):
        one = PathModel('krr', {'kernel': 'tanimoto', 'alpha': a}).fit(x[:70], y[:70]).predict(x[70:])
        np.testing.assert_allclose(preds[i], one, atol=1e-10)


@pytest.mark.parametrize('model,grid', [('krr', {'gamma': [0.1, 1.0], 'alpha': [0.01, 0.1, 1.0]}),
                                        ('krr', {'kernel': 'tanimoto', 'alpha': [0.001, 0.01, 0.1, 1.0]}),
                                        ('pls', {'n_components': [1, 2, 4, 6]})])
def test_targets_fitted_together_equal_fitted_alone(data, bits, model, grid):
    """select_multi shares the factorisations between targets but not the choice: each target's hyperparameters,
    inner-CV errors and test predictions are those of fitting it alone."""
    tanimoto_kernel = grid.get('kernel') == 'tanimoto'
    x, y = bits if tanimoto_kernel else data
    rng = np.random.default_rng(2)
    if tanimoto_kernel:  # three targets that want different amounts of regularisation
        noise = rng.normal(size=90)
        ys = np.column_stack([y, x[:, :4].sum(axis=1) + 3 * noise, x[:, 0] * x[:, 1] + 0.01 * noise])
    else:
        ys = np.column_stack([y, np.sin(x[:, 2]) * 5, -y + x[:, 3] ** 3])  # three targets that want different settings
    ys[np.isnan(ys)] = 0.0
    inner = [(np.setdiff1d(np.arange(70), va), va) for va in P.kfold(np.arange(70), 4, rng)]
    together = select_multi(model, grid, x[:70], ys[:70], inner, x[70:])
    chosen = set()
    for j, (params, rmse, pred) in enumerate(together):
        alone = select(model, grid, x[:70], ys[:70, j], inner, x[70:])
        assert params == alone[0]
        np.testing.assert_allclose(rmse, alone[1], rtol=1e-10)
        np.testing.assert_allclose(pred, alone[2], rtol=1e-9, atol=1e-9)
        ref = make_estimator(model, params, n_informative(x[:70])).fit(x[:70], ys[:70, j]).predict(x[70:]).ravel()
        np.testing.assert_allclose(pred, ref, rtol=1e-7, atol=1e-7)  # the refit is the reference model
        chosen.add(tuple(params.values()))
        assert ('kernel' in params) == tanimoto_kernel
    assert len(chosen) > 1  # the targets did choose differently: the test would catch a shared choice
