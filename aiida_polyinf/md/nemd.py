"""Thermal conductivity by reverse (Mueller-Plathe) NEMD, as RadonPy's ``NEMD_MP`` preset (pure code).

RadonPy (``radonpy/sim/preset/tc.py``, ``NEMD_MP.make_lammps_input`` and ``NEMD_MP_Analyze``) takes the equilibrated
cell, replicates it 3x along x, gives velocities at 300 K, runs 10,000 steps of NVT, then NVE with
``fix thermal/conductivity`` swapping the hottest and coldest atom kinetic energies between slab 0 and the middle
slab every 1,000 steps over 20 slabs, at a 0.2 fs time step without SHAKE, for 5,000,000 steps (1 ns). The slab
temperatures are averaged per exchange interval (``fix ave/chunk ... norm sample``); the heat flux is the cumulative
exchanged energy over twice the cross-section.

Analysis (``NEMD_MP_Analyze.calc_tc``): the temperature gradient is a linear fit of the mean slab temperatures over
the analysis window on each side of the hot slab, leaving out ``tschunk`` slabs next to the hot and the cold slab;
the fit passes when both sides have R^2 >= 0.98 and at least 2/3 of the single profiles fit with R^2 >= 0.95. The
heat flux is the slope of the cumulative flux over time. kappa = dQ/dt / |dT/dx|.

Our input has the same physics and numbers for ``moderate``. Differences: the time-step counter runs on from the NVT
part (``run N upto``) so that a run can continue from its restart files; ``fast`` is scaled down (see ``FAST``).
"""

from __future__ import annotations

import math

import numpy as np

from .inputs import COMPLETE_MARK, THERMO, TIMEOUT_EXIT_CODE, TIMEOUT_MARK, RestartPoint, _header, stage_files

KCAL_PER_MOL_TO_J = 4184.0 / 6.02214076e23

PROFILE = 'nemd.profile'
EXTRA_THERMO = ('f_mp', 'v_heatflux')


def total_steps(p: dict) -> int:
    return int(p['nvt_steps']) + int(p['steps'])


# ----------------------------------------------------------------------------------------------------- the input
def render(stage: str, protocol: dict, *, data_file: str, seed: int, timeout=None, restart=None,
           data_text: str | None = None) -> str:
    """The LAMMPS-stage interface the CalcJob calls: :func:`render_nemd`."""
    return render_nemd(protocol, data_file=data_file, seed=seed, timeout=timeout, restart=restart)


def files(stage: str) -> dict[str, str]:
    """The stage's files: those of every stage and the slab temperature profile (retrieved for the parser only)."""
    return {**stage_files(stage), 'profile': PROFILE}


def render_nemd(protocol: dict, *, data_file: str = 'input.data', seed: int, timeout=None,
                restart: RestartPoint | None = None) -> str:
    """The LAMMPS input of the NEMD run (``nemd`` stage): replicate, NVT, then NVE with Mueller-Plathe exchange.

    ``protocol['steps']`` may have been raised for an extension round: a run continued from a restart file then runs
    only the steps that are left.
    """
    p = protocol
    axis = p['axis']
    n_rep = int(p['replicate'])
    rep = {'x': f'{n_rep} 1 1', 'y': f'1 {n_rep} 1', 'z': f'1 1 {n_rep}'}[axis]
    area = {'x': 'ly*lz', 'y': 'lx*lz', 'z': 'lx*ly'}[axis]
    lines = _header('nemd', {**p, 'ff': p['ff']}, restart, data_file)
    if not restart:
        at = next(i for i, line in enumerate(lines) if line.startswith('read_data'))
        lines.insert(at + 1, f'replicate {rep}')
    nvt_end = int(p['nvt_steps'])
    end = total_steps(p)
    start = restart.step if restart else 0
    dt = p['dt'] * (restart.dt_scale if restart else 1.0)
    every = int(p['exchange_every'])
    cols = list(THERMO)
    lines += [
        f'thermo_style custom {" ".join(cols)}',
        'thermo_modify flush yes',
        f'thermo {every}',
        f'timestep {dt:g}',
    ]
    if timeout:
        lines.append(f'timer timeout {timeout} every 10')
    lines.append(f'restart {p["restart_every"]} nemd.restart.*')
    if start < nvt_end:
        if not restart:
            lines.append(f'velocity all create {p["temp"]:f} {seed} mom yes rot yes dist gaussian')
        lines += [
            '',
            f'# segment 1: nvt {nvt_end} steps (RadonPy: 10,000 steps before the exchange)',
            f'fix md1 all nvt temp {p["temp"]:f} {p["temp"]:f} 100.0',
            f'run {nvt_end} upto',
            'unfix md1',
        ]
    flux = f'(f_mp*{KCAL_PER_MOL_TO_J:.10e})/(2*{area}*1.0e-20)'
    lines += [
        '',
        f'# segment 2: nve + Mueller-Plathe exchange every {every} steps over {p["slabs"]} slabs, steps {nvt_end}-{end}',
        'fix nve all nve',
        f'fix mp all thermal/conductivity {every} {axis} {p["slabs"]}',
        f'compute layers all chunk/atom bin/1d {axis} lower {1.0 / p["slabs"]:.10g} units reduced',
        f'fix tprof all ave/chunk 1 {every} {every} layers temp file {PROFILE} norm sample',
        f'variable heatflux equal {flux}',
        f'thermo_style custom {" ".join(cols + list(EXTRA_THERMO))}',
        'thermo_modify flush yes',
        f'run {end} upto',
        f'thermo_style custom {" ".join(cols)}',  # before the fixes it names go
        'unfix tprof',
        'unfix mp',
        'unfix nve',
        '',
        f'if "$(step) < {end}" then "write_restart nemd.restart.timeout" '
        f'"print \'{TIMEOUT_MARK} step $(step) of {end}\'" "quit {TIMEOUT_EXIT_CODE}"',
        f'write_restart nemd.restart.{end}',  # an extension continues from here
        'write_data nemd.data',
        f'print "{COMPLETE_MARK} nemd step $(step)"',
    ]
    return '\n'.join(lines) + '\n'


# ----------------------------------------------------------------------------------------------------- analysis
def parse_profile(text: str) -> dict:
    """A ``fix ave/chunk`` file: ``{'step': (n,), 'coord': (n_chunks,), 'count': (n, n_chunks), 'temp': (n, n_chunks)}``."""
    steps, coords, counts, temps = [], None, [], []
    block_coord, block_count, block_temp, expected = [], [], [], 0

    def close():
        nonlocal coords
        if expected and len(block_temp) == expected:
            coords = coords if coords is not None else list(block_coord)
            counts.append(list(block_count))
            temps.append(list(block_temp))
        elif expected:
            steps.pop()  # a block cut short (killed run): dropped

    for line in text.splitlines():
        if not line.strip() or line.startswith('#'):
            continue
        parts = line.split()
        if len(parts) == 3:
            close()
            steps.append(int(float(parts[0])))
            expected = int(parts[1])
            block_coord, block_count, block_temp = [], [], []
        elif len(parts) >= 4 and expected:
            block_coord.append(float(parts[1]))
            block_count.append(float(parts[2]))
            block_temp.append(float(parts[3]))
    close()
    return {
        'step': np.asarray(steps, dtype=int),
        'coord': np.asarray(coords if coords is not None else [], dtype=float),
        'count': np.asarray(counts, dtype=float).reshape(len(steps), -1),
        'temp': np.asarray(temps, dtype=float).reshape(len(steps), -1),
    }


def _linregress(x, y):
    """slope, r^2, standard error of the slope."""
    from scipy import stats

    result = stats.linregress(x, y)
    return float(result.slope), float(result.rvalue**2), float(result.stderr)


def temperature_gradient(profiles: list[dict], length: float, p: dict) -> dict:
    """RadonPy's two-way fit (``get_Tgrad_twoway``) over the analysis window of the concatenated profiles.

    Args:
        profiles: ``parse_profile`` results of the NEMD run and its extensions, in order.
        length: the box length along the exchange axis (angstrom).
    """
    temp = np.vstack([q['temp'] for q in profiles if len(q['temp'])])
    coord = next(q['coord'] for q in profiles if len(q['coord']))
    n = len(temp)
    init = int(n * p['analysis']['init_fraction'])
    window = temp[init:]
    if len(window) < 2:
        raise ValueError(f'only {len(window)} temperature profiles in the analysis window')
    edge = int(p['analysis'].get('edge_slabs', 1))
    n_chunks = temp.shape[1]
    center = n_chunks // 2
    left = slice(edge, center - edge + 1)
    right = slice(center + edge, n_chunks - edge if edge > 0 else None)
    to_si = length * 1e-10  # K per reduced coordinate -> K/m
    mean = window.mean(axis=0)
    g1, r1, se1 = _linregress(coord[left], mean[left])
    g2, r2, se2 = _linregress(coord[right], mean[right])
    single_ok = 0
    for row in window:
        _, q1, _ = _linregress(coord[left], row[left])
        _, q2, _ = _linregress(coord[right], row[right])
        single_ok += q1 >= p['threshold_r2_single'] and q2 >= p['threshold_r2_single']
    rate = single_ok / len(window)
    gradient = (abs(g1) + abs(g2)) / 2 / to_si
    return {
        'gradient': float(gradient),  # K/m
        'gradient_se': float((se1 + se2) / 2 / to_si),
        'r2_left': r1,
        'r2_right': r2,
        'single_fit_rate': rate,
        'linear': bool(r1 >= p['threshold_r2'] and r2 >= p['threshold_r2'] and rate >= p['threshold_rate']),
        't_max': float(mean.max()),
        't_min': float(mean.min()),
        'profiles_used': int(len(window)),
        'profile_mean': [float(x) for x in mean],
        'coord': [float(x) for x in coord],
    }


def heat_flux(pieces: list[tuple[np.ndarray, np.ndarray]], p: dict) -> dict:
    """Slope of the cumulative heat flux (J/m^2) over time (s) per run piece (``f_mp`` restarts at 0 in each run),
    weighted by duration, over the same window fraction as the profiles. ``pieces``: (time in fs, flux) arrays."""
    times = np.concatenate([t for t, _ in pieces])
    cut = times.min() + (times.max() - times.min()) * p['analysis']['init_fraction']
    slopes, weights, errors = [], [], []
    for t, q in pieces:
        keep = t >= cut
        if keep.sum() < 3:
            continue
        slope, r2, se = _linregress(t[keep] * 1e-15, q[keep])
        duration = float(t[keep].max() - t[keep].min())
        slopes.append(slope)
        weights.append(duration)
        errors.append(se)
    if not slopes:
        raise ValueError('fewer than 3 heat-flux rows in the analysis window')
    w = np.asarray(weights) / np.sum(weights)
    return {'flux': float(np.dot(w, slopes)), 'flux_se': float(math.sqrt(np.dot(w**2, np.square(errors))))}


def thermal_conductivity(profiles: list[dict], pieces: list[tuple[np.ndarray, np.ndarray]], length: float,
                         p: dict) -> dict:
    """kappa (W/m/K) with its fit quality: ``{'kappa', 'kappa_err', 'linear', 'gradient': {...}, 'flux': {...}}``."""
    grad = temperature_gradient(profiles, length, p)
    flux = heat_flux(pieces, p)
    if grad['gradient'] <= 0:
        raise ValueError('no temperature gradient')
    kappa = flux['flux'] / grad['gradient']
    rel = math.hypot(flux['flux_se'] / flux['flux'] if flux['flux'] else 0.0, grad['gradient_se'] / grad['gradient'])
    return {'kappa': float(kappa), 'kappa_err': float(abs(kappa) * rel), 'linear': grad['linear'], 'gradient': grad, 'flux': flux}


def thermal_diffusivity(kappa: float, density_g_cm3: float, cp_j_kg_k: float) -> float:
    """kappa / (rho Cp) in m^2/s."""
    return kappa / (density_g_cm3 * 1000.0 * cp_j_kg_k)


def skip_reason(p: dict, converged: bool | None, nematic: float | None) -> str | None:
    """RadonPy's rule for not computing kappa; None when the NEMD may run."""
    if p.get('skip_if_not_equilibrated') and converged is False:
        return 'equilibration did not converge (check_eq failed)'
    limit = p.get('max_nematic_order')
    if limit is not None and nematic is not None and nematic >= limit:
        return f'nematic order parameter {nematic:.3f} >= {limit}'
    return None
