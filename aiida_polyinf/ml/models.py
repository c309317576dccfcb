"""Models of the benchmarks behind one fit/predict interface, with a fast hyperparameter path for the inner CV.

The reference models are scikit-learn estimators (``make_estimator``): median imputation and standard scaling of
the descriptors, clipped to ±10 σ, standard scaling of the target (``TransformedTargetRegressor``), then ``PLSRegression`` or
``KernelRidge(kernel='rbf')``. The RBF width is given relative to the number of descriptor columns that vary in the
training rows, ``gamma = gamma_rel / n_features``, so one grid serves sets of any width (``n_informative``).

Kernel ridge takes a second kernel, for binary fingerprints: the Tanimoto kernel ``T(a, b) = a·b / (a·a + b·b − a·b)``
(``|a| + |b| − a·b`` for bits, 1 where both are empty) on the raw bits, with no imputation and no scaling (a row
without a fingerprint, NaN, counts as the empty fingerprint) and ``alpha`` its only hyperparameter. It is chosen by
the grid: ``{'kernel': 'tanimoto', 'alpha': [...]}`` (a grid without ``kernel`` is RBF), and its grid points carry
``'kernel': 'tanimoto'`` so that ``make_estimator`` and ``PathModel`` build the same model from them (the reference is
``KernelRidge(kernel='precomputed')`` on the Gram matrix of :class:`TanimotoGram`).

Nested CV refits these models hundreds of times, so the inner search uses *paths* that give the predictions of every
grid point from one factorisation and are exactly the reference models' predictions (tests check this):

- PLS1 by NIPALS (implicit deflation) yields the coefficients of every number of components from one pass;
- kernel ridge: the squared distances and, per gamma, the kernel matrix (the one Tanimoto matrix) are computed once
  per outer fold and sliced for the inner folds and the refit; each (fold, gamma, alpha) is one LAPACK Cholesky
  factorisation;
- targets measured on the same rows with the same splits share all of that (``select_multi``): the factorisations
  are solved for every target at once, while each target's hyperparameters still come from its own inner-CV errors.

Inside one outer fold the inner folds share the outer-training imputation and scaling (features only, never labels);
the refit on the whole outer-training set is the reference model itself.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import scipy.linalg  # noqa: F401 (loaded with the module, so that thread limits set after import apply to it)


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
        nan_cols = np.flatnonzero(np.isnan(x).any(axis=0))
        median = np.median(x, axis=0)  # np.nanmedian loops over columns in Python: only where there are NaNs
        if len(nan_cols):
            with warnings.catch_warnings(), np.errstate(all='ignore'):
                warnings.simplefilter('ignore', RuntimeWarning)  # all-NaN columns
                median[nan_cols] = np.nanmedian(x[:, nan_cols], axis=0)
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


# ----------------------------------------------------------------------------------------------- kernels
#: Kernels of kernel ridge: 'rbf' on the scaled descriptors, 'tanimoto' on raw binary fingerprints.
KERNELS = ('rbf', 'tanimoto')


def kernel_of(params: dict) -> str:
    """The kernel named by a kernel-ridge grid or grid point (``'kernel'``; RBF when absent)."""
    kernel = params.get('kernel', 'rbf')
    if kernel not in KERNELS:
        raise ValueError(f'unknown kernel {kernel!r}; known: {", ".join(KERNELS)}')
    return kernel


def fingerprint_bits(x: np.ndarray) -> np.ndarray:
    """Fingerprint rows as float bits for the Tanimoto kernel: no scaling; NaN (no fingerprint) is an empty bit."""
    return np.nan_to_num(np.asarray(x, dtype=float), nan=0.0)


def tanimoto(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tanimoto kernel ``a·b / (a·a + b·b − a·b)`` between the rows of ``a`` and ``b`` (1 where both are empty)."""
    inter = a @ b.T
    union = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 1.0)


def _tanimoto_gram_class():
    """:class:`TanimotoGram`, made on first use: scikit-learn is imported only where a reference model is built."""
    global _TANIMOTO_GRAM
    if _TANIMOTO_GRAM is None:
        from sklearn.base import BaseEstimator, TransformerMixin

        class TanimotoGram(TransformerMixin, BaseEstimator):
            """The Tanimoto Gram matrix against the training rows, for ``KernelRidge(kernel='precomputed')``: ``fit``
            keeps the training fingerprints, ``transform`` gives ``T(x, x_train)``."""

            def fit(self, x, y=None):
                self.train_ = fingerprint_bits(x)
                return self

            def transform(self, x):
                return tanimoto(fingerprint_bits(x), self.train_)

        TanimotoGram.__module__ = __name__
        TanimotoGram.__qualname__ = 'TanimotoGram'
        _TANIMOTO_GRAM = TanimotoGram
    return _TANIMOTO_GRAM


_TANIMOTO_GRAM = None


def __getattr__(name):  # PEP 562: ``models.TanimotoGram`` (and unpickling it) makes the class on first access
    if name == 'TanimotoGram':
        return _tanimoto_gram_class()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


# ----------------------------------------------------------------------------------------------- sklearn models
def make_estimator(model: str, params: dict, n_features: int):
    """The reference scikit-learn estimator of ``model`` ('pls' or 'krr') with ``params`` from the grid.

    Kernel ridge with ``params['kernel'] == 'tanimoto'``: the Tanimoto Gram matrix of the raw bits
    (:class:`TanimotoGram`) into ``KernelRidge(kernel='precomputed')``, no imputation or scaling; ``n_features`` unused.
    """
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.impute import SimpleImputer
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if model == 'krr' and kernel_of(params) == 'tanimoto':
        pipe = Pipeline([('gram', _tanimoto_gram_class()()),
                         ('model', KernelRidge(kernel='precomputed', alpha=float(params['alpha'])))])
        return TransformedTargetRegressor(regressor=pipe, transformer=StandardScaler())
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
    """PLS1 (NIPALS) on scaled ``x`` and centred ``y``: coefficient matrix (n_features, k) for k = 1..max.

    The deflation of ``x`` is implicit (X_k = X - T P^T is never formed): three products with the centred X per
    component instead of five and no copy of X, which matters for wide matrices (ECFP, 2048 columns).
    """
    xc = x - x.mean(axis=0)
    yk = y - y.mean()
    n_comp = max(min(max_components, xc.shape[0] - 1, xc.shape[1]), 1)
    n, m = xc.shape
    T = np.zeros((n, n_comp))
    W = np.zeros((m, n_comp))
    P = np.zeros((m, n_comp))
    Q = np.zeros(n_comp)
    k = 0
    for k in range(n_comp):
        tk, pk = T[:, :k], P[:, :k]
        w = xc.T @ yk - pk @ (tk.T @ yk)  # X_k^T y_k
        norm = np.linalg.norm(w)
        if norm < 1e-12:
            break
        w /= norm
        t = xc @ w - tk @ (pk.T @ w)  # X_k w
        tt = t @ t
        if tt < 1e-12:
            break
        P[:, k] = (xc.T @ t - pk @ (tk.T @ t)) / tt  # X_k^T t / t't
        Q[k] = yk @ t / tt
        yk = yk - Q[k] * t
        T[:, k], W[:, k] = t, w
    else:
        k = n_comp
    W, P, Q = W[:, :k], P[:, :k], Q[:k]
    coefs = []
    for j in range(1, len(Q) + 1):
        R = W[:, :j] @ np.linalg.pinv(P[:, :j].T @ W[:, :j])
        coefs.append(R @ Q[:j])
    return np.array(coefs).T  # (n_features, k)


def _cholesky_solve(k_train: np.ndarray, alpha: float, rhs: np.ndarray) -> np.ndarray:
    """(K + alpha·I)^-1 rhs by one LAPACK Cholesky (rhs may hold several columns: several targets at once)."""
    from scipy.linalg import LinAlgError
    from scipy.linalg.lapack import dpotrf, dpotrs

    m = np.array(k_train, dtype=float, order='F')  # symmetric: the copy is the matrix in Fortran order
    m.flat[:: len(m) + 1] += alpha
    c, info = dpotrf(m, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        raise LinAlgError(f'kernel matrix not positive definite (potrf info {info})')
    out, info = dpotrs(c, rhs, lower=1)
    if info != 0:
        raise LinAlgError(f'potrs info {info}')
    return out


def krr_gamma_path(k_train: np.ndarray, k_other: np.ndarray, y: np.ndarray, alphas) -> np.ndarray:
    """Kernel ridge predictions at ``k_other`` rows for every alpha: (n_alpha, n_other[, n_targets]).

    One Cholesky factorisation of K + alpha·I per alpha, solved for every target column of ``y`` at once. (An
    eigendecomposition would give all alphas from one factorisation, but LAPACK's syevd costs about as much as ten
    Cholesky factorisations of the same matrix: measured, it loses for a grid of five alphas.)
    """
    return np.array([k_other @ _cholesky_solve(k_train, float(a), y) for a in alphas])


def grid_points(model: str, grid: dict) -> list[dict]:
    if model == 'pls':
        return [{'n_components': int(k)} for k in grid['n_components']]
    if model == 'krr':
        if kernel_of(grid) == 'tanimoto':
            return [{'kernel': 'tanimoto', 'alpha': float(a)} for a in grid['alpha']]
        return [{'gamma': float(g), 'alpha': float(a)} for g in grid['gamma'] for a in grid['alpha']]
    raise ValueError(model)


def prepare(model: str, grid: dict, x: np.ndarray):
    """The feature transform fitted on ``x`` (training rows) for ``model`` and ``grid`` (or grid point): the
    imputation and scaling of :class:`Scaler`, or for the Tanimoto kernel the raw bits (:func:`fingerprint_bits`)."""
    if model == 'krr' and kernel_of(grid) == 'tanimoto':
        return fingerprint_bits
    return Scaler.fit(x).transform


def _kernel_family(grid: dict, xs: np.ndarray) -> list:
    """The training kernel matrices of a kernel-ridge grid, one per kernel setting in grid order (per gamma for RBF,
    one for Tanimoto), each followed in ``grid_points`` by the alphas: ``[(setting, K)]``."""
    if kernel_of(grid) == 'tanimoto':
        return [(None, tanimoto(xs, xs))]
    p = xs.shape[1]
    d_all = sqdist(xs, xs)
    return [(float(g), np.exp(-(float(g) / p) * d_all)) for g in grid['gamma']]


def _cross_kernel(grid: dict, setting, x_other: np.ndarray, xs: np.ndarray, cache: dict) -> np.ndarray:
    """The kernel between ``x_other`` and the training rows ``xs`` for one setting of ``_kernel_family``."""
    if kernel_of(grid) == 'tanimoto':
        return tanimoto(x_other, xs)
    if 'd' not in cache:
        cache['d'] = sqdist(x_other, xs)
    return np.exp(-(setting / xs.shape[1]) * cache['d'])


def _standardise(y):
    mu = y.mean(axis=0)
    sd = y.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (y - mu) / sd, mu, sd


def path_predictions(model: str, grid: dict, x_train, y_train, x_other, d_cache=None) -> np.ndarray:
    """Predictions at ``x_other`` (already prepared: scaled, or raw bits for the Tanimoto kernel, see ``prepare``) for
    every grid point (rows in ``grid_points`` order), with the target standardised on ``y_train`` as the reference
    estimator does. ``d_cache``: for RBF the squared distances (train-train, other-train), for Tanimoto the kernels.

    ``y_train`` of shape (n,) gives (n_points, n_other); of shape (n, T), T targets sharing the descriptors and the
    rows, (n_points, n_other, T) from the same factorisations.
    """
    y_train = np.asarray(y_train, dtype=float)
    multi = y_train.ndim == 2
    ys, mu, sd = _standardise(y_train if multi else y_train[:, None])
    p = x_train.shape[1]
    if model == 'pls':
        ks = [int(k) for k in grid['n_components']]
        out = np.empty((len(ks), len(x_other), ys.shape[1]))
        centred = x_other - x_train.mean(axis=0)
        for j in range(ys.shape[1]):
            coefs = pls_path(x_train, ys[:, j], max(ks))
            base = centred @ coefs  # (n_other, kmax)
            for i, k in enumerate(ks):
                out[i, :, j] = base[:, min(k, coefs.shape[1]) - 1]
    elif model == 'krr' and kernel_of(grid) == 'tanimoto':
        k_tt, k_ot = d_cache if d_cache is not None else (tanimoto(x_train, x_train), tanimoto(x_other, x_train))
        out = krr_gamma_path(k_tt, k_ot, ys, grid['alpha'])
    elif model == 'krr':
        if d_cache is None:
            d_tt, d_ot = sqdist(x_train, x_train), sqdist(x_other, x_train)
        else:
            d_tt, d_ot = d_cache
        out = []
        for g in grid['gamma']:
            gamma = float(g) / p
            out.append(krr_gamma_path(np.exp(-gamma * d_tt), np.exp(-gamma * d_ot), ys, grid['alpha']))
        out = np.concatenate(out, axis=0)
    else:
        raise ValueError(model)
    out = out * sd + mu
    return out if multi else out[..., 0]


class PathModel:
    """A fitted PLS or KRR model at one grid point (same predictions as ``make_estimator``), in numpy."""

    def __init__(self, model: str, params: dict):
        self.model = model
        self.params = params

    def fit(self, x, y):
        self.transform = prepare(self.model, self.params, x)
        self.x_train = self.transform(x)
        self.y_train = np.asarray(y, dtype=float)
        return self

    def predict(self, x):
        xs = self.transform(x)
        grid = {k: v if k == 'kernel' else [v] for k, v in self.params.items()}
        return path_predictions(self.model, grid, self.x_train, self.y_train, xs)[0]


def select(model: str, grid: dict, x: np.ndarray, y: np.ndarray, inner: list, x_test: np.ndarray):
    """Inner-CV selection and refit: ``(best params, inner RMSE per grid point, predictions at x_test)``.

    ``inner`` lists (train positions, validation positions) within ``x``. Imputation and scaling (none for the
    Tanimoto kernel) are fitted on ``x`` (the outer-training rows) and shared by the inner folds; the refit is the
    reference model on all of ``x``.
    """
    return select_multi(model, grid, x, np.asarray(y, dtype=float)[:, None], inner, x_test)[0]


def select_multi(model: str, grid: dict, x: np.ndarray, y: np.ndarray, inner: list, x_test: np.ndarray) -> list:
    """``select`` for T targets (columns of ``y``) measured on the same rows, one ``(params, rmse, pred)`` each.

    Every target gets its own hyperparameters from its own inner-CV errors; what the targets share is the work that
    does not depend on the labels: the scaling, the distance and kernel matrices and, for kernel ridge, the
    Cholesky factorisation of each (inner fold, gamma, alpha), solved for all targets at once. Each kernel matrix
    is computed once per gamma (once for Tanimoto) on the outer-training rows and sliced for the inner folds and the
    refit.
    """
    transform = prepare(model, grid, x)
    xs, xt = transform(x), transform(x_test)
    points = grid_points(model, grid)
    n_t = y.shape[1]
    sse = np.zeros((len(points), n_t))
    n_val = sum(len(va) for _, va in inner)
    if model == 'krr':
        kernels = _kernel_family(grid, xs)
        for tr, va in inner:
            ys, mu, sd = _standardise(y[tr])
            preds = [krr_gamma_path(k[np.ix_(tr, tr)], k[np.ix_(va, tr)], ys, grid['alpha']) for _, k in kernels]
            pred = np.concatenate(preds, axis=0) * sd + mu  # (n_points, n_va, T)
            sse += ((pred - y[va][None]) ** 2).sum(axis=1)
        rmse = np.sqrt(sse / n_val)
        best = np.argmin(rmse, axis=0)
        pred_test = np.empty((len(xt), n_t))
        ys, mu, sd = _standardise(y)
        cache: dict = {}
        n_alpha = len(grid['alpha'])
        for b in np.unique(best):  # one refit per chosen grid point, for all the targets that chose it
            cols = np.flatnonzero(best == b)
            setting, k_train = kernels[b // n_alpha]  # grid_points: the alphas vary fastest
            coef = _cholesky_solve(k_train, points[b]['alpha'], ys[:, cols])
            pred_test[:, cols] = _cross_kernel(grid, setting, xt, xs, cache) @ coef * sd[cols] + mu[cols]
    else:
        for tr, va in inner:
            pred = path_predictions(model, grid, xs[tr], y[tr], xs[va])  # (n_points, n_va, T)
            sse += ((pred - y[va][None]) ** 2).sum(axis=1)
        rmse = np.sqrt(sse / n_val)
        best = np.argmin(rmse, axis=0)
        pred_test = np.empty((len(xt), n_t))
        for j in range(n_t):
            one = {k: [v] for k, v in points[best[j]].items()}
            pred_test[:, j] = path_predictions(model, one, xs, y[:, j], xt)[0]
    return [(points[best[j]], rmse[:, j], pred_test[:, j]) for j in range(n_t)]
