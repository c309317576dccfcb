"""Glass-transition temperature (Tg) by stepwise NPT cooling and a bilinear fit of v(T) (pure code: numpy only).

The ``tg`` stage starts from the equilibrated amorphous cell of the MD stage (a LAMMPS data file, ``units real``,
``atom_style full``, GAFF2 with the force-field settings of :mod:`aiida_polyinf.md.inputs`) and runs, on one
cumulative time-step counter (``run N upto``, so that it can be continued from any restart file):

1. an NPT ramp from ``heat_from`` (the MD stage's temperature) to ``t_start`` over ``heat_steps`` steps;
2. ``equil_steps`` of NPT at ``t_start``;
3. NPT plateaus at ``t_start, t_start - t_step, ..., t_end``, each ``steps_per_temperature`` steps long, at ``press``.

Velocities are drawn once, at the first temperature of the run, from ``seed``. SHAKE holds the X-H bonds (``fix shake
... m 1.0``), thermostat and barostat are RadonPy's (Tdamp 100 fs, Pdamp 1000 fs, ``nreset 1000``), as in the MD
sampling. The stage writes, in its working directory: ``tg.log`` (thermo every ``thermo_every`` steps, the columns
``inputs.THERMO``, among them ``density``), restart files ``tg.restart.<step>`` every ``restart_every`` steps, and on
success ``tg.data`` and the line ``POLYINF_STAGE_COMPLETE tg step N``. With a ``timeout`` an interrupted run writes
``tg.restart.timeout``, prints ``POLYINF_TIMEOUT`` and exits with status 3, as every other stage. The numbers of the
protocols (and where they come from) are in ``aiida_polyinf/protocols/tg.yaml``.

Analysis
--------
- :func:`plateau_means`: per plateau, the thermo rows after the first ``discard_fraction`` of the plateau; the mean
  density, its standard error from ``blocks`` contiguous block means (``std(ddof=1)/sqrt(blocks)``), the specific
  volume v = 1/rho (cm^3/g) and its error err_rho/rho^2. Rows repeated on the step counter (the last row of one
  ``run`` and the first of the next; a run continued from a restart file) count once, the latest kept.
- :func:`fit_bilinear`: the continuous bilinear model v(T) = v_g + b_glass (T - Tg) below Tg and v_g + b_rubber (T - Tg)
  above it, by unweighted least squares. For a fixed Tg the model is linear in (v_g, b_glass, b_rubber) and solved
  exactly; Tg is found by a grid search over the open interval between the lowest and the highest plateau (2,001
  candidates), refined by a golden-section search between the neighbours of the best grid point. Deterministic: no
  random numbers anywhere.
- The uncertainty of Tg is the half-width of the profile (likelihood-ratio) interval of the residual sum of squares:
  the Tg values whose best RSS is at most RSS_min + s^2, s^2 = RSS_min / (n - 4) (a one-parameter Delta chi^2 = 1
  interval with the noise estimated from the residuals, nominally 68 %; on synthetic bilinear curves of 26 plateaus
  with Gaussian noise the true Tg fell within +-tg_err in 55-63 % of 300 draws, and the median tg_err was 0.8-0.9
  times the spread of the fitted Tg). Every Tg below the threshold counts, not only those next to the minimum, so a
  second, almost as good kink widens the interval. When the interval reaches the end of the searched range, its
  half-width is a lower bound (``tg_interval_bounded: false``).
- The volumetric thermal expansion coefficients are alpha = (1/v) dv/dT at Tg: b_rubber / v_g above, b_glass / v_g
  below (1/K).
- "No clear kink" (``clear_kink: false``, with a ``reason``): fewer than ``min_points_per_branch`` plateaus on a
  branch (Tg at the edge of the data, or too few plateaus), a glass slope that is not positive, a ratio of the melt
  slope to the glass slope (b_rubber / b_glass) below ``min_slope_ratio``, or an uncertainty above
  ``max_tg_uncertainty`` K (or none, with fewer than 5 plateaus). The data and the fit are returned all the same.

No hyperbola fit (Patrone et al., Polymer 87 (2016) 246): its parameterisation could not be checked against the paper
here, and an unchecked variant is not worth a second Tg.
"""

from __future__ import annotations

import math

import numpy as np

from .inputs import COMPLETE_MARK, THERMO, TIMEOUT_EXIT_CODE, TIMEOUT_MARK, RestartPoint, _header, stage_files

STAGE = 'tg'

_GRID = 2001  # candidate Tg values of the grid search
_GOLDEN_ITERATIONS = 80
_BISECT_ITERATIONS = 60
_UNCERTAINTY_METHOD = 'profile_rss'  # Delta RSS = s^2 (= RSS_min / (n - 4)) interval of the RSS profile in Tg


# ----------------------------------------------------------------------------------------------------- the schedule
def _check(p: dict) -> None:
    t_start, t_end, t_step = float(p['t_start']), float(p['t_end']), float(p['t_step'])
    if not t_step > 0:
        raise ValueError(f't_step must be positive, got {t_step}')
    if t_end > t_start:
        raise ValueError(f'a cooling run needs t_start >= t_end, got {t_start} < {t_end}')
    if int(p['steps_per_temperature']) <= 0:
        raise ValueError('steps_per_temperature must be positive')
    if int(p.get('heat_steps', 0)) < 0 or int(p.get('equil_steps', 0)) < 0:
        raise ValueError('heat_steps and equil_steps must not be negative')


def _temperatures(p: dict) -> list[float]:
    """t_start, t_start - t_step, ... down to t_end (not below it)."""
    _check(p)
    t_start, t_end, t_step = float(p['t_start']), float(p['t_end']), float(p['t_step'])
    n = int(math.floor((t_start - t_end) / t_step + 1e-9)) + 1
    return [round(t_start - i * t_step, 9) for i in range(n)]


def _segments(p: dict) -> list[tuple[str, int, float, float]]:
    """(label, steps, T at the start, T at the end) of every NPT run, in order (empty segments left out)."""
    t_start = float(p['t_start'])
    heat_from = p.get('heat_from')
    out = []
    heat_steps = int(p.get('heat_steps', 0))
    if heat_steps > 0 and heat_from is not None:
        out.append(('heat', heat_steps, float(heat_from), t_start))
    equil_steps = int(p.get('equil_steps', 0))
    if equil_steps > 0:
        out.append(('equilibration', equil_steps, t_start, t_start))
    steps = int(p['steps_per_temperature'])
    for t in _temperatures(p):
        out.append(('plateau', steps, t, t))
    return out


def schedule(p: dict) -> list[tuple[float, int, int]]:
    """The temperature plateaus ``(T_K, first_step, last_step)`` on the cumulative step counter of the stage (after
    the heating and equilibration segments); a plateau covers the steps ``first_step < step <= last_step``."""
    out, cumulative = [], 0
    for label, steps, t0, _ in _segments(p):
        if label == 'plateau':
            out.append((t0, cumulative, cumulative + steps))
        cumulative += steps
    return out


def total_steps(p: dict) -> int:
    """MD steps of the whole stage (heating + equilibration + every plateau)."""
    return sum(steps for _, steps, _, _ in _segments(p))


# ----------------------------------------------------------------------------------------------------- the input
def files(stage: str) -> dict[str, str]:
    """The stage's files: those of every LAMMPS stage (the thermo log is all the analysis needs)."""
    return stage_files(stage)


def render(stage: str, protocol: dict, *, data_file: str, seed: int, timeout=None,
           restart: RestartPoint | None = None, data_text: str | None = None) -> str:
    """The LAMMPS input of the ``tg`` stage.

    Args:
        stage: always ``'tg'``.
        protocol: the ``parameters`` of a protocol of ``tg.yaml``.
        data_file: the equilibrated cell (the MD stage's final data file).
        seed: the velocity seed (``velocity create`` at the first temperature of the run).
        timeout: ``timer timeout`` value (``HH:MM:SS`` or seconds) for the wall-time limit.
        restart: continue from a restart file: ``read_restart`` and run only the steps that are left (a heating ramp
            resumes at the temperature it had reached); ``restart.dt_scale`` shrinks the time step.
        data_text: accepted for the common signature of the stages (the ``ions`` stage reads its atom types from
            it); this input does not depend on it.
    """
    if stage != STAGE:
        raise ValueError(f'render() of aiida_polyinf.md.tg writes the {STAGE!r} stage, not {stage!r}')
    del data_text
    p = protocol
    segments = _segments(p)
    end = total_steps(p)
    start_step = restart.step if restart else 0
    dt = float(p['dt']) * (restart.dt_scale if restart else 1.0)
    press = float(p['press'])

    lines = _header(STAGE, p, restart, data_file)
    lines += [
        f'thermo_style custom {" ".join(THERMO)}',
        'thermo_modify flush yes',
        f'thermo {int(p["thermo_every"])}',
    ]
    if timeout:
        lines.append(f'timer timeout {timeout} every 10')
    lines.append(f'restart {int(p["restart_every"])} {STAGE}.restart.*')
    if not restart:
        lines.append(f'velocity all create {segments[0][2]:f} {int(seed)} mom yes rot yes dist gaussian')

    cumulative = 0
    for i, (label, steps, t0, t1) in enumerate(segments, start=1):
        begin, stop = cumulative, cumulative + steps
        cumulative = stop
        if stop <= start_step:
            continue
        t_from = t0
        if restart and begin < start_step:  # resume a ramp where it was
            t_from = t0 + (t1 - t0) * (start_step - begin) / steps
        what = f'{label} {t0:g} -> {t1:g} K' if t0 != t1 else f'{label} at {t0:g} K'
        lines += [
            '',
            f'# segment {i}: npt {what}, {steps} steps, steps {begin}-{stop}',
            f'timestep {dt:g}',
            f'fix shake{i} all shake 1e-4 1000 0 m 1.0',
            f'fix md{i} all npt temp {t_from:f} {t1:f} 100.0 iso {press:f} {press:f} 1000.0 nreset 1000',
            f'run {stop} upto',
            f'unfix md{i}',
            f'unfix shake{i}',
        ]
    lines += [
        '',
        f'if "$(step) < {end}" then "write_restart {STAGE}.restart.timeout" '
        f'"print \'{TIMEOUT_MARK} step $(step) of {end}\'" "quit {TIMEOUT_EXIT_CODE}"',
        f'write_data {STAGE}.data',
        f'print "{COMPLETE_MARK} {STAGE} step $(step)"',
    ]
    return '\n'.join(lines) + '\n'


# ----------------------------------------------------------------------------------------------------- analysis
def _dedupe(step: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows sorted by step, one per step: the latest row of a repeated step wins (a continued run supersedes)."""
    step = np.asarray(step, dtype=float)
    latest = {}
    for i, s in enumerate(step):
        latest[s] = i
    order = np.array([latest[s] for s in sorted(latest)], dtype=int)
    return (step[order],) + tuple(np.asarray(c, dtype=float)[order] for c in columns)


def _block_sem(x: np.ndarray, blocks: int) -> float:
    """Standard error of the mean from contiguous block means (NaN with fewer than two samples)."""
    nb = min(int(blocks), len(x))
    if nb < 2:
        return float('nan')
    means = np.array([b.mean() for b in np.array_split(x, nb)])
    return float(means.std(ddof=1) / math.sqrt(nb))


def plateau_means(step: np.ndarray, temp: np.ndarray, density: np.ndarray, p: dict) -> dict:
    """Per plateau of :func:`schedule`: arrays ``temperature`` (the set point, K), ``temperature_measured`` (mean of
    the thermo temperature), ``density`` (g/cm^3) and ``density_err`` (block standard error), ``specific_volume``
    (cm^3/g) and ``specific_volume_err``, ``samples`` (thermo rows used).

    The rows used are those with ``first + discard_fraction * (last - first) < step <= last``. A plateau without rows
    (a run cut short) has ``samples`` 0 and NaN values; an error needs two rows (NaN otherwise).
    """
    analysis = p.get('analysis', {})
    discard = float(analysis.get('discard_fraction', 0.5))
    blocks = int(analysis.get('blocks', 4))
    if not 0.0 <= discard < 1.0:
        raise ValueError(f'discard_fraction must be in [0, 1), got {discard}')
    step, temp, density = _dedupe(step, temp, density)
    plateaus = schedule(p)
    n = len(plateaus)
    out = {
        'temperature': np.array([t for t, _, _ in plateaus], dtype=float),
        'temperature_measured': np.full(n, np.nan),
        'density': np.full(n, np.nan),
        'density_err': np.full(n, np.nan),
        'specific_volume': np.full(n, np.nan),
        'specific_volume_err': np.full(n, np.nan),
        'samples': np.zeros(n, dtype=int),
    }
    for i, (_, first, last) in enumerate(plateaus):
        keep = (step > first + discard * (last - first)) & (step <= last) & np.isfinite(density)
        rho = density[keep]
        out['samples'][i] = len(rho)
        if not len(rho):
            continue
        mean = float(rho.mean())
        err = _block_sem(rho, blocks)
        out['temperature_measured'][i] = float(temp[keep].mean())
        out['density'][i] = mean
        out['density_err'][i] = err
        if mean > 0:
            out['specific_volume'][i] = 1.0 / mean
            out['specific_volume_err'][i] = err / mean**2
    return out


def _design(t: np.ndarray, tg: np.ndarray) -> np.ndarray:
    """(G, n, 3) design matrices [1, min(T - Tg, 0), max(T - Tg, 0)] for G candidate Tg values."""
    d = t[None, :] - np.asarray(tg, dtype=float)[:, None]
    return np.stack([np.ones_like(d), np.minimum(d, 0.0), np.maximum(d, 0.0)], axis=-1)


def _solve(t: np.ndarray, v: np.ndarray, tg) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coefficients (G, 3) and RSS (G,) of the bilinear model at each Tg in ``tg``."""
    x = _design(t, np.atleast_1d(tg))
    xtx = np.einsum('gni,gnj->gij', x, x)
    xty = np.einsum('gni,n->gi', x, v)
    try:
        coef = np.linalg.solve(xtx, xty[..., None])[..., 0]
    except np.linalg.LinAlgError:  # a degenerate design (not reached for Tg strictly inside the data)
        coef = np.einsum('gij,gj->gi', np.linalg.pinv(xtx), xty)
    resid = v[None, :] - np.einsum('gni,gi->gn', x, coef)
    return coef, np.einsum('gn,gn->g', resid, resid)


def _rss(t: np.ndarray, v: np.ndarray, tg: float) -> float:
    return float(_solve(t, v, tg)[1][0])


def _golden(f, lo: float, hi: float) -> float:
    """Minimum of f on [lo, hi] by golden-section search (deterministic)."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(_GOLDEN_ITERATIONS):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return (a + b) / 2.0


def _crossing(f, threshold: float, inside: float, outside: float) -> float:
    """The point between ``inside`` (f <= threshold) and ``outside`` (f > threshold) where f crosses it."""
    for _ in range(_BISECT_ITERATIONS):
        mid = (inside + outside) / 2.0
        if f(mid) <= threshold:
            inside = mid
        else:
            outside = mid
    return (inside + outside) / 2.0


def _r2(v: np.ndarray, predicted: np.ndarray) -> float | None:
    if len(v) < 2:
        return None
    total = float(((v - v.mean()) ** 2).sum())
    if total <= 0.0:
        return None
    return float(1.0 - ((v - predicted) ** 2).sum() / total)


def _num(x) -> float | None:
    """A plain float, or None for absent/NaN/inf."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def fit_bilinear(temperature, volume, p_fit: dict) -> dict:
    """The continuous bilinear fit of v(T) with its Tg, uncertainty, branches and the "clear kink" verdict.

    Args:
        temperature: plateau temperatures (K), any order.
        volume: specific volumes (cm^3/g) at those temperatures.
        p_fit: ``min_points_per_branch``, ``min_slope_ratio``, ``max_tg_uncertainty`` (K).

    Returns a dict of plain numbers (None where a number does not exist): ``tg``, ``tg_err`` (half-width of the
    profile-RSS interval ``tg_low``..``tg_high``), ``tg_interval_bounded``, ``tg_uncertainty_method``, ``v_at_tg``,
    ``slope_glass``/``slope_rubber`` (cm^3/(g K), below/above Tg) and their errors at fixed Tg, ``slope_ratio``
    (rubber / glass), ``alpha_glass``/``alpha_rubber`` (1/K, at Tg), ``r2_glass``/``r2_rubber``/``r2_total``, ``rss``,
    ``n_points``/``n_glass``/``n_rubber`` (glass: T < Tg, rubber: T >= Tg), ``clear_kink``, ``reason`` (None when the
    kink is clear) and the thresholds used.
    """
    min_points = int(p_fit.get('min_points_per_branch', 3))
    min_ratio = p_fit.get('min_slope_ratio')
    max_err = p_fit.get('max_tg_uncertainty')
    t = np.asarray(temperature, dtype=float).ravel()
    v = np.asarray(volume, dtype=float).ravel()
    if t.shape != v.shape:
        raise ValueError(f'{len(t)} temperatures but {len(v)} volumes')
    ok = np.isfinite(t) & np.isfinite(v)
    order = np.argsort(t[ok], kind='stable')
    t, v = t[ok][order], v[ok][order]
    n = len(t)
    out = {
        'tg': None, 'tg_err': None, 'tg_low': None, 'tg_high': None, 'tg_interval_bounded': None,
        'tg_uncertainty_method': _UNCERTAINTY_METHOD,
        'v_at_tg': None, 'slope_glass': None, 'slope_rubber': None, 'slope_glass_err': None,
        'slope_rubber_err': None, 'slope_ratio': None, 'alpha_glass': None, 'alpha_rubber': None,
        'r2_glass': None, 'r2_rubber': None, 'r2_total': None, 'rss': None,
        'n_points': int(n), 'n_glass': None, 'n_rubber': None,
        'clear_kink': False, 'reason': None,
        'min_points_per_branch': min_points,
        'min_slope_ratio': _num(min_ratio),
        'max_tg_uncertainty': _num(max_err),
    }
    if n < 3 or len(np.unique(t)) < 3:
        out['reason'] = f'only {len(np.unique(t))} distinct temperatures: no bilinear fit (needs 3)'
        return out

    lo, hi = float(t[0]), float(t[-1])
    grid = np.linspace(lo, hi, _GRID + 2)[1:-1]  # the open interval: each branch keeps at least one point
    coef_grid, rss_grid = _solve(t, v, grid)
    k = int(np.argmin(rss_grid))
    f = lambda x: _rss(t, v, x)  # noqa: E731
    a = float(grid[k - 1]) if k > 0 else (lo + float(grid[0])) / 2.0
    b = float(grid[k + 1]) if k + 1 < len(grid) else (hi + float(grid[-1])) / 2.0
    tg = _golden(f, a, b)
    if f(tg) > rss_grid[k]:  # the grid point is at least as good
        tg = float(grid[k])
    coef, rss = _solve(t, v, tg)
    coef, rss = coef[0], float(rss[0])
    v_g, b_glass, b_rubber = (float(c) for c in coef)
    glass, rubber = t < tg, t >= tg
    out.update({
        'tg': float(tg), 'v_at_tg': v_g, 'slope_glass': b_glass, 'slope_rubber': b_rubber, 'rss': rss,
        'n_glass': int(glass.sum()), 'n_rubber': int(rubber.sum()),
    })
    predicted = v_g + np.where(glass, b_glass, b_rubber) * (t - tg)
    out['r2_glass'] = _r2(v[glass], predicted[glass])
    out['r2_rubber'] = _r2(v[rubber], predicted[rubber])
    out['r2_total'] = _r2(v, predicted)
    if v_g > 0:
        out['alpha_glass'] = b_glass / v_g
        out['alpha_rubber'] = b_rubber / v_g
    if b_glass > 0:
        out['slope_ratio'] = b_rubber / b_glass

    dof = n - 4  # v_g, two slopes and Tg
    if dof > 0:
        s2 = rss / dof
        x = _design(t, np.array([tg]))[0]
        try:
            cov = s2 * np.linalg.inv(x.T @ x)
            out['slope_glass_err'] = _num(math.sqrt(max(cov[1, 1], 0.0)))
            out['slope_rubber_err'] = _num(math.sqrt(max(cov[2, 2], 0.0)))
        except np.linalg.LinAlgError:
            pass
        threshold = rss + s2
        points = np.concatenate([grid, [tg]])
        values = np.concatenate([rss_grid, [rss]])
        by_t = np.argsort(points, kind='stable')
        points, values = points[by_t], values[by_t]
        below = np.nonzero(values <= threshold)[0]
        i_lo, i_hi = int(below[0]), int(below[-1])
        bounded = True
        if i_lo == 0:
            low, bounded = float(points[0]), False
        else:
            low = _crossing(f, threshold, float(points[i_lo]), float(points[i_lo - 1]))
        if i_hi == len(points) - 1:
            high, bounded = float(points[-1]), False
        else:
            high = _crossing(f, threshold, float(points[i_hi]), float(points[i_hi + 1]))
        out.update({'tg_low': low, 'tg_high': high, 'tg_err': (high - low) / 2.0, 'tg_interval_bounded': bounded})

    reasons = []
    if n < 2 * min_points:
        reasons.append(f'only {n} plateaus: fewer than 2 x min_points_per_branch ({min_points})')
    elif out['n_glass'] < min_points or out['n_rubber'] < min_points:
        reasons.append(f'Tg {tg:.1f} K at the edge of the data: {out["n_glass"]} glass and {out["n_rubber"]} rubber '
                       f'points (< {min_points} on a branch)')
    if b_glass <= 0:
        reasons.append(f'glass slope {b_glass:.3g} cm^3/(g K) is not positive')
    elif min_ratio is not None and out['slope_ratio'] < float(min_ratio):
        reasons.append(f'slope ratio rubber/glass {out["slope_ratio"]:.2f} < {float(min_ratio):g}')
    if out['tg_err'] is None:
        reasons.append(f'no Tg uncertainty with {n} plateaus (needs 5)')
    elif max_err is not None and out['tg_err'] > float(max_err):
        reasons.append(f'Tg uncertainty {out["tg_err"]:.1f} K > {float(max_err):g} K')
    out['clear_kink'] = not reasons
    out['reason'] = '; '.join(reasons) if reasons else None
    for key, value in out.items():
        if isinstance(value, float):
            out[key] = _num(value)
    return out


def analyse(step, temp, density, p: dict) -> dict:
    """Tg and the expansion coefficients from the thermo columns ``Step``, ``Temp``, ``Density`` of ``tg.log``.

    Returns ``{'values': {...}, 'settings': {...}, 'missing': {name: reason}}``: the values (K, K, 1/K, 1/K) are
    ``glass_transition_temperature``, ``glass_transition_temperature_err``, ``volume_expansion_rubber`` and
    ``volume_expansion_glass``; a value that cannot be computed is in ``missing`` instead. ``settings`` holds the fit
    quality (``clear_kink``, ``reason``, R^2 and points per branch, slopes and their ratio, the Tg interval and how it
    was estimated) and the plateau data as lists. Values are returned whether or not the kink is clear.
    """
    means = plateau_means(step, temp, density, p)
    used = (means['samples'] > 0) & np.isfinite(means['specific_volume'])
    fit = fit_bilinear(means['temperature'][used], means['specific_volume'][used], p.get('fit', {}))

    values, missing = {}, {}
    why = fit['reason'] or 'not computed'
    for name, value in (('glass_transition_temperature', fit['tg']),
                        ('glass_transition_temperature_err', fit['tg_err']),
                        ('volume_expansion_rubber', fit['alpha_rubber']),
                        ('volume_expansion_glass', fit['alpha_glass'])):
        if value is None:
            missing[name] = why
        else:
            values[name] = float(value)

    def listed(key, mask=used):
        return [_num(x) for x in means[key][mask]]

    settings = {
        'clear_kink': bool(fit['clear_kink']),
        'reason': fit['reason'],
        'tg_uncertainty_method': fit['tg_uncertainty_method'],
        'tg_low': fit['tg_low'],
        'tg_high': fit['tg_high'],
        'tg_interval_bounded': fit['tg_interval_bounded'],
        'r2_glass': fit['r2_glass'],
        'r2_rubber': fit['r2_rubber'],
        'r2_total': fit['r2_total'],
        'slope_glass': fit['slope_glass'],
        'slope_rubber': fit['slope_rubber'],
        'slope_glass_err': fit['slope_glass_err'],
        'slope_rubber_err': fit['slope_rubber_err'],
        'slope_ratio': fit['slope_ratio'],
        'specific_volume_at_tg': fit['v_at_tg'],
        'n_points': fit['n_points'],
        'n_glass': fit['n_glass'],
        'n_rubber': fit['n_rubber'],
        'min_points_per_branch': fit['min_points_per_branch'],
        'min_slope_ratio': fit['min_slope_ratio'],
        'max_tg_uncertainty': fit['max_tg_uncertainty'],
        'discard_fraction': float(p.get('analysis', {}).get('discard_fraction', 0.5)),
        'blocks': int(p.get('analysis', {}).get('blocks', 4)),
        'plateau_temperatures': listed('temperature'),
        'plateau_temperatures_measured': listed('temperature_measured'),
        'plateau_densities': listed('density'),
        'plateau_density_errs': listed('density_err'),
        'plateau_specific_volumes': listed('specific_volume'),
        'plateau_specific_volume_errs': listed('specific_volume_err'),
        'plateau_samples': [int(x) for x in means['samples'][used]],
        'plateaus_without_data': [float(x) for x in means['temperature'][~used]],
        'units': {'temperature': 'K', 'density': 'g/cm^3', 'specific_volume': 'cm^3/g', 'slope': 'cm^3/(g K)',
                  'volume_expansion': '1/K'},
    }
    return {'values': values, 'settings': settings, 'missing': missing}
