"""Models of the benchmarks behind one fit/predict interface, with a fast hyperparameter path for the inner CV.

The reference models are scikit-learn estimators (``make_estimator``): median imputation and standard scaling of
the descriptors, clipped to ±10 σ, standard scaling of the target (``TransformedTargetRegressor``), then ``PLSRegression`` or
``KernelRidge(kernel='rbf')``. The RBF width is given relative to the number of descriptor columns that vary in the
training rows, ``gamma = gamma_rel / n_features``, so one grid serves sets of any width (``n_informative``).

Nested CV refits these models hundreds of times, so the inner search uses *paths* that give the predictions of every
grid point from one factorisation and are exactly the reference models' predictions (tests check this):

- PLS1 by NIPALS yields the coefficients of every number of components from one pass;
- kernel ridge builds the training kernel once per gamma and solves it by Cholesky for every alpha;
- the squared distances are computed once per outer fold and sliced for the inner folds.

Inside one outer fold the inner folds share the outer-training imputation and scaling (features only, never labels);
the refit on the whole outer-training set is the reference model itself.
"""

from __future__ import annotations

import dataclasses

import numpy as np


# ----------------------------------------------------------------------------------------------- preprocessing
#: Scaled descriptors are clipped to ±CLIP: a feature nearly constant in the training rows (a rare element, a rare
#: fragment count) otherwise scales a test value to 1e5 σ and a linear model's prediction with it.
CLIP = 10.0


def _clip(x):
    return np.clip(x, -CLIP, CLIP)


@dataclasses.dataclass
class Scaler:
    """Median imputation then standard scaling, fitted on training rows (as SimpleImputer + StandardScaler)."""

    median: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    keep: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Scaler:
        with np.errstate(all='ignore'):
            median = np.nanmedian(x, axis=0)
        finite = np.isfinite(median)  # SimpleImputer drops all-NaN columns
        filled = np.where(np.isnan(x[:, finite]), median[finite], x[:, finite])
        scale = filled.std(axis=0)
        varying = scale > 0  # constant columns scale to 0 in StandardScaler: they change nothing, so drop them
        keep = np.flatnonzero(finite)[varying]
        return cls(median[keep], filled[:, varying].mean(axis=0), scale[varying], keep)

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = x[:, self.keep]
        x = np.where(np.isnan(x), self.median, x)
        return np.clip((x - self.mean) / self.scale, -CLIP, CLIP)


def n_informative(x: np.ndarray) -> int:
    """Columns that vary (after median imputation) in ``x``: the ``n_features`` of the RBF width."""
    return len(Scaler.fit(x).keep)


def sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


# ----------------------------------------------------------------------------------------------- sklearn models
def make_estimator(model: str, params: dict, n_features: int):
    """The reference scikit-learn estimator of ``model`` ('pls' or 'krr') with ``params`` from the grid."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.impute import SimpleImputer
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if model == 'pls':
        head = PLSRegression(n_components=int(params['n_components']), scale=False)
    elif model == 'krr':
        head = KernelRidge(kernel='rbf', alpha=float(params['alpha']), gamma=float(params['gamma']) / n_features)
    else:
        raise ValueError(f'unknown model {model!r}')
    pipe = Pipeline([('impute', SimpleImputer(strategy='median')), ('scale', StandardScaler()),
                     ('clip', FunctionTransformer(_clip)), ('model', head)])
    return TransformedTargetRegressor(regressor=pipe, transformer=StandardScaler())


# ----------------------------------------------------------------------------------------------- fast paths
def pls_path(x: np.ndarray, y: np.ndarray, max_components: int):
    """PLS1 (NIPALS) on scaled ``x`` and centred ``y``: coefficient matrix (n_features, k) for k = 1..max."""
    xk = x - x.mean(axis=0)
    yk = y - y.mean()
    n_comp = max(min(max_components, xk.shape[0] - 1, xk.shape[1]), 1)
    w_list, p_list, q_list = [], [], []
    for _ in range(n_comp):
        w = xk.T @ yk
        norm = np.linalg.norm(w)
        if norm < 1e-12:
            break
        w /= norm
        t = xk @ w
        tt = t @ t
        if tt < 1e-12:
            break
        p = xk.T @ t / tt
        q = yk @ t / tt
        xk = xk - np.outer(t, p)
        yk = yk - q * t
        w_list.append(w)
        p_list.append(p)
        q_list.append(q)
    W, P, Q = np.array(w_list).T, np.array(p_list).T, np.array(q_list)
    coefs = []
    for k in range(1, len(Q) + 1):
        R = W[:, :k] @ np.linalg.pinv(P[:, :k].T @ W[:, :k])
        coefs.append(R @ Q[:k])
    return np.array(coefs).T  # (n_features, k)


def krr_gamma_path(k_train: np.ndarray, k_other: np.ndarray, y: np.ndarray, alphas) -> np.ndarray:
    """Kernel ridge predictions at ``k_other`` rows for every alpha: (n_alpha, n_other).

    One Cholesky factorisation of K + alpha·I per alpha (several times cheaper than one eigendecomposition for a
    grid of five alphas).
    """
    from scipy.linalg import cho_factor, cho_solve

    out = []
    eye = np.eye(len(k_train))
    for a in alphas:
        coef = cho_solve(cho_factor(k_train + a * eye, lower=True, check_finite=False), y, check_finite=False)
        out.append(k_other @ coef)
    return np.array(out)


def grid_points(model: str, grid: dict) -> list[dict]:
    if model == 'pls':
        return [{'n_components': int(k)} for k in grid['n_components']]
    if model == 'krr':
        return [{'gamma': float(g), 'alpha': float(a)} for g in grid['gamma'] for a in grid['alpha']]
    raise ValueError(model)


def path_predictions(model: str, grid: dict, x_train, y_train, x_other, d_cache=None) -> np.ndarray:
    """Predictions at ``x_other`` (already scaled) for every grid point (rows in ``grid_points`` order), with the
    target standardised on ``y_train`` as the reference estimator does."""
    mu, sd = y_train.mean(), y_train.std() or 1.0
    ys = (y_train - mu) / sd
    p = x_train.shape[1]
    if model == 'pls':
        coefs = pls_path(x_train, ys, max(grid['n_components']))
        base = (x_other - x_train.mean(axis=0)) @ coefs  # (n_other, kmax)
        out = []
        for k in grid['n_components']:
            out.append(base[:, min(int(k), coefs.shape[1]) - 1])
        return np.array(out) * sd + mu
    if model == 'krr':
        if d_cache is None:
            d_tt, d_ot = sqdist(x_train, x_train), sqdist(x_other, x_train)
        else:
            d_tt, d_ot = d_cache
        out = []
        for g in grid['gamma']:
            gamma = float(g) / p
            out.append(krr_gamma_path(np.exp(-gamma * d_tt), np.exp(-gamma * d_ot), ys, grid['alpha']))
        return np.concatenate(out, axis=0) * sd + mu
    raise ValueError(model)


class PathModel:
    """A fitted PLS or KRR model at one grid point (same predictions as ``make_estimator``), in numpy."""

    def __init__(self, model: str, params: dict):
        self.model = model
        self.params = params

    def fit(self, x, y):
        self.scaler = Scaler.fit(x)
        xs = self.scaler.transform(x)
        self.x_train = xs
        self.y_train = np.asarray(y, dtype=float)
        return self

    def predict(self, x):
        xs = self.scaler.transform(x)
        grid = {k: [v] for k, v in self.params.items()}
        return path_predictions(self.model, grid, self.x_train, self.y_train, xs)[0]


def select(model: str, grid: dict, x: np.ndarray, y: np.ndarray, inner: list, x_test: np.ndarray):
    """Inner-CV selection and refit: ``(best params, inner RMSE per grid point, predictions at x_test)``.

    ``inner`` lists (train positions, validation positions) within ``x``. Imputation and scaling are fitted on ``x``
    (the outer-training rows) and shared by the inner folds; the refit is the reference model on all of ``x``.
    """
    scaler = Scaler.fit(x)
    xs, xt = scaler.transform(x), scaler.transform(x_test)
    points = grid_points(model, grid)
    d_all = sqdist(xs, xs) if model == 'krr' else None
    sse = np.zeros(len(points))
    for tr, va in inner:
        cache = (d_all[np.ix_(tr, tr)], d_all[np.ix_(va, tr)]) if d_all is not None else None
        pred = path_predictions(model, grid, xs[tr], y[tr], xs[va], cache)
        sse += ((pred - y[va]) ** 2).sum(axis=1)
    n_val = sum(len(va) for _, va in inner)
    rmse = np.sqrt(sse / n_val)
    best = int(np.argmin(rmse))
    cache = (d_all, sqdist(xt, xs)) if d_all is not None else None
    one = {k: [v] for k, v in points[best].items()}
    pred_test = path_predictions(model, one, xs, y, xt, cache)[0]
    return points[best], rmse, pred_test
