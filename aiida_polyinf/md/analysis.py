"""Properties of a sampling run (NPT), each a value with an uncertainty, named as in ``aiida_polyinf.common.properties``.

Inputs: the sampling log's thermo block (``logs.LogResult.joined()``), optionally the ``<stage>.dump`` (unwrapped
coordinates) with the cell's ``topology.json``, and optionally the QM polarizability for the refractive index.

- fluctuation properties use RadonPy's pure class methods of ``radonpy.sim.lammps.Analyze`` (``heat_capacity_Cp``,
  ``heat_capacity_Cv``, ``isothermal_compressibility``, ``bulk_modulus``, ``isentropic_compressibility``,
  ``isentropic_bulk_modulus``, ``volume_expansion``, ``linear_expansion``) on the analysis window;
- density: the window mean; self-diffusion: slope of the atom MSD (``compute msd com yes``) / 6 (a slope <= 0, which
  short glassy runs give within noise, is not a diffusion coefficient: it is missing with ``negative_msd_slope``);
- static dielectric constant: ``1 + (<M^2> - <M>^2) / (3 eps0 V kB T)`` from the total dipole ``c_dip`` in the thermo
  output (the formula of mdtraj's ``static_dielectric`` that RadonPy uses); ``dielectric_const_dc`` = that + n^2 - 1;
- Rg (mass-weighted, per chain), r2 (squared distance of the two end heavy atoms of each chain, nm^2) and the nematic
  order parameter (largest eigenvalue of Q = <3/2 u u - 1/2 I> over the long axes u of all repeat units, as mdtraj's
  ``compute_nematic_order(indices='residues')``) from the dump frames in the window;
- refractive index: RadonPy's ``calc.refractive_index`` (Lorentz-Lorenz) from the polarizability (A^3) and the
  molecular weight of the same molecule (g/mol), and the density.

Window: RadonPy skips the first ``init`` thermo rows and averages the last ``width``; the protocol gives either rows
(``init``, ``width``) or fractions (``init_fraction``, ``width_fraction``). Uncertainty: the standard error over
``n_blocks`` equal blocks of the window (the property computed per block). A property that cannot be computed is
left out of ``values`` and named in ``missing`` with the reason; no NaN is ever returned.
"""

from __future__ import annotations

import json
import math

import numpy as np

from aiida_polyinf.common.properties import PROPERTIES

KB = 1.380649e-23
EPS0 = 8.8541878128e-12
E_ANGSTROM = 1.602176634e-19 * 1e-10  # e*A in C*m

FLUCTUATION = {
    'Cp': 'heat_capacity_Cp',
    'Cv': 'heat_capacity_Cv',
    'compressibility': 'isothermal_compressibility',
    'bulk_modulus': 'bulk_modulus',
    'isentropic_compressibility': 'isentropic_compressibility',
    'isentropic_bulk_modulus': 'isentropic_bulk_modulus',
    'volume_expansion': 'volume_expansion',
    'linear_expansion': 'linear_expansion',
}


def window(n_rows: int, analysis: dict) -> tuple[int, int]:
    """(start, stop) rows of the analysis window."""
    if 'init_fraction' in analysis:
        start = int(n_rows * analysis['init_fraction'])
        width = int(n_rows * analysis.get('width_fraction', 1.0 - analysis['init_fraction']))
    else:
        start, width = int(analysis.get('init', 0)), int(analysis.get('width', n_rows))
    start = max(start, n_rows - width)
    return max(0, start), n_rows


def _blocks(start: int, stop: int, n_blocks: int) -> list[tuple[int, int]]:
    edges = np.linspace(start, stop, n_blocks + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b - a >= 2]


def _stderr(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


class _Result:
    def __init__(self):
        self.values, self.errors, self.missing = {}, {}, {}

    def put(self, name, value, error=0.0):
        if value is None or not np.isfinite(value):
            self.missing[name] = 'not finite'
            return
        self.values[name] = float(value)
        self.errors[name] = float(error) if error is not None and np.isfinite(error) else 0.0

    def miss(self, name, reason):
        self.missing.setdefault(name, reason)

    def as_dict(self):
        return {
            'values': self.values,
            'errors': self.errors,
            'units': {k: PROPERTIES[k].unit for k in self.values},
            'missing': self.missing,
        }


def thermo_properties(df, temp: float, press: float, analysis: dict, n_blocks: int = 4, res: _Result | None = None):
    """Density, self-diffusion, Cp ... linear expansion and the static dielectric constant from a thermo DataFrame."""
    from radonpy.sim.lammps import Analyze

    res = res or _Result()
    start, stop = window(len(df), analysis)
    blocks = _blocks(start, stop, n_blocks)
    if stop - start < 4 or not blocks:
        for name in ('density', 'self-diffusion', 'static_dielectric_const', *FLUCTUATION):
            res.miss(name, f'too few thermo rows ({stop - start}) in the window')
        return res

    dens = df['Density'].to_numpy()
    res.put('density', dens[start:stop].mean(), _stderr([dens[a:b].mean() for a, b in blocks]))

    for name, method in FLUCTUATION.items():
        func = getattr(Analyze, method)
        try:
            with np.errstate(all='ignore'):
                value = func(df, temp=temp, press=press, init=start, last=stop)
                per_block = [func(df, temp=temp, press=press, init=a, last=b) for a, b in blocks]
            res.put(name, value, _stderr(per_block))
        except Exception as exc:  # noqa: BLE001
            res.miss(name, f'{type(exc).__name__}: {exc}')

    if 'v_msd' in df.columns:
        t = df['Time'].to_numpy() * 1e-15
        msd = df['v_msd'].to_numpy() * 1e-20

        def slope(a, b):
            return np.polyfit(t[a:b], msd[a:b], 1)[0] / 6.0

        diffusion = slope(start, stop)
        if not np.isfinite(diffusion):
            res.miss('self-diffusion', 'msd_fit_not_finite')
        elif diffusion <= 0.0:  # a glassy, short run: the MSD drifts down within noise; no physical D
            res.miss('self-diffusion', 'negative_msd_slope')
        else:
            res.put('self-diffusion', diffusion, _stderr([slope(a, b) for a, b in blocks]))
    else:
        res.miss('self-diffusion', 'no v_msd column in the thermo output')

    if all(f'c_dip[{i}]' in df.columns for i in (1, 2, 3)):
        M = np.stack([df[f'c_dip[{i}]'].to_numpy() for i in (1, 2, 3)], axis=1) * E_ANGSTROM
        V = df['Volume'].to_numpy() * 1e-30

        def eps(a, b):
            m = M[a:b]
            fluct = np.mean(np.sum(m * m, axis=1)) - np.sum(np.mean(m, axis=0) ** 2)
            return 1.0 + fluct / (3.0 * EPS0 * V[a:b].mean() * KB * temp)

        res.put('static_dielectric_const', eps(start, stop), _stderr([eps(a, b) for a, b in blocks]))
    else:
        res.miss('static_dielectric_const', 'no c_dip columns in the thermo output')
    return res


def parse_dump(text: str, columns: tuple[str, ...] = ()):
    """Frames of a ``custom id ... xu yu zu`` dump text, sorted by id: (timesteps, xyz[frames, atoms, 3] in A,
    ``{column: values of the first frame}`` for the extra ``columns``, e.g. ``('type',)``)."""
    steps, frames, first = [], [], {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith('ITEM: TIMESTEP'):
            step = int(lines[i + 1])
            n = int(lines[i + 3])
            header = lines[i + 8].split()[2:]
            cols = [header.index(c) for c in ('xu', 'yu', 'zu')]
            idc = header.index('id')
            block = np.array([line.split() for line in lines[i + 9: i + 9 + n]], dtype=float)
            if len(block) < n:
                break  # truncated last frame (killed run)
            order = np.argsort(block[:, idc])
            if not frames:
                first = {c: block[order][:, header.index(c)] for c in columns}
            steps.append(step)
            frames.append(block[order][:, cols])
            i += 9 + n
        else:
            i += 1
    return np.array(steps), np.array(frames), first


def read_dump(path: str):
    """Frames of a ``custom id mol xu yu zu`` dump (sorted by id): (timesteps, xyz[frames, atoms, 3] in A)."""
    with open(path) as handle:
        steps, frames, _ = parse_dump(handle.read())
    return steps, frames


def _nematic(xyz: np.ndarray, groups: list[np.ndarray]) -> float:
    """Largest eigenvalue of Q = <3/2 u u - 1/2 I> over the long axes of the groups, averaged over frames."""
    values = []
    for frame in xyz:
        axes = []
        for g in groups:
            pos = frame[g] - frame[g].mean(axis=0)
            w, v = np.linalg.eigh(pos.T @ pos)
            axes.append(v[:, -1])
        u = np.array(axes)
        Q = 1.5 * (u.T @ u) / len(u) - 0.5 * np.eye(3)
        values.append(np.linalg.eigvalsh(Q)[-1])
    return float(np.mean(values))


def trajectory_properties(dump_path: str, topology: dict, analysis: dict, n_blocks: int = 4,
                          res: _Result | None = None):
    """Rg, r2 and the nematic order parameter from the dump frames in the analysis window."""
    res = res or _Result()
    try:
        steps, xyz = read_dump(dump_path)
    except (OSError, ValueError, IndexError) as exc:
        for name in ('Rg', 'r2', 'nematic_order_parameter'):
            res.miss(name, f'dump unreadable: {exc}')
        return res
    if len(xyz) < 2:
        for name in ('Rg', 'r2', 'nematic_order_parameter'):
            res.miss(name, f'{len(xyz)} dump frames')
        return res
    start, stop = window(len(xyz), analysis)
    xyz = xyz[start:stop]
    mol = np.asarray(topology['mol_id'])
    mass = np.asarray(topology['mass'])
    chains = [np.flatnonzero(mol == m) for m in np.unique(mol)]

    rg_chain = []
    for idx in chains:
        w = mass[idx] / mass[idx].sum()
        pos = xyz[:, idx, :]
        com = np.einsum('fai,a->fi', pos, w)
        rg2 = np.einsum('fa,a->f', np.sum((pos - com[:, None, :]) ** 2, axis=2), w)
        rg_chain.append(np.sqrt(rg2).mean())
    res.put('Rg', np.mean(rg_chain), _stderr(rg_chain))

    ends = topology.get('chain_ends') or []
    if ends:
        r2_chain = [np.mean(np.sum((xyz[:, a, :] - xyz[:, b, :]) ** 2, axis=1)) * 1e-2 for a, b in ends]  # A^2->nm^2
        res.put('r2', np.mean(r2_chain), _stderr(r2_chain))
    else:
        res.miss('r2', 'no chain ends in the topology')

    residues = np.asarray(topology['residue'])
    groups = []
    for m in np.unique(mol):
        for r in np.unique(residues[mol == m]):
            g = np.flatnonzero((mol == m) & (residues == r))
            if len(g) >= 3:
                groups.append(g)
    if groups:
        blocks = _blocks(0, len(xyz), n_blocks)
        per_block = [_nematic(xyz[a:b], groups) for a, b in blocks] if blocks else []
        res.put('nematic_order_parameter', _nematic(xyz, groups), _stderr(per_block) if per_block else 0.0)
    else:
        res.miss('nematic_order_parameter', 'no repeat units of 3 or more atoms')
    return res


def analyze_sampling(
    thermo,
    *,
    temp: float = 300.0,
    press: float = 1.0,
    analysis: dict | None = None,
    dump_path: str | None = None,
    topology: dict | str | None = None,
    polarizability: float | None = None,
    polarizability_mol_weight: float | None = None,
    n_blocks: int = 4,
) -> dict:
    """All MD properties of one trial.

    Args:
        thermo: the sampling stage's thermo block (``logs.ThermoBlock``) or a pandas DataFrame with LAMMPS headings.
        analysis: the protocol's ``analysis`` dict (window in rows or fractions).
        dump_path, topology: the sampling dump and the cell's ``topology.json`` (dict or path) for Rg, r2, nematic.
        polarizability, polarizability_mol_weight: isotropic QM polarizability (A^3) and the molecular weight (g/mol)
            of the molecule it belongs to (e.g. the CH3-capped monomer), for the refractive index.

    Returns:
        ``{'values': {name: value}, 'errors': {name: standard error}, 'units': {name: unit},
        'missing': {name: reason}}`` with names of ``aiida_polyinf.common.properties.PROPERTIES``.
    """
    analysis = analysis or {'init_fraction': 0.4, 'width_fraction': 0.6}
    df = thermo.dataframe() if hasattr(thermo, 'dataframe') else thermo
    res = thermo_properties(df, temp, press, analysis, n_blocks)
    if dump_path and topology is not None:
        if isinstance(topology, str):
            with open(topology) as handle:
                topology = json.load(handle)
        trajectory_properties(dump_path, topology, analysis, n_blocks, res)
    else:
        for name in ('Rg', 'r2', 'nematic_order_parameter'):
            res.miss(name, 'no dump/topology given')

    if polarizability is not None and polarizability_mol_weight and 'density' in res.values:
        from radonpy.core import calc

        rho, drho = res.values['density'], res.errors['density']
        n = float(np.ravel(calc.refractive_index(float(polarizability), rho, float(polarizability_mol_weight)))[0])
        n_hi = calc.refractive_index(float(polarizability), rho + drho, float(polarizability_mol_weight))
        res.put('refractive_index', n, abs(float(np.ravel(n_hi)[0]) - n))
    else:
        res.miss('refractive_index', 'needs the QM polarizability, its molecular weight and the density')

    if 'static_dielectric_const' in res.values and 'refractive_index' in res.values:
        n = res.values['refractive_index']
        res.put('dielectric_const_dc', res.values['static_dielectric_const'] + n * n - 1.0,
                res.errors['static_dielectric_const'])
    else:
        res.miss('dielectric_const_dc', 'needs static_dielectric_const and refractive_index')
    return res.as_dict()


def check_eq(thermo, analysis: dict | None, criteria: dict, rg: dict | None = None) -> dict:
    """RadonPy's ``check_eq``: the SD of the simple moving average (over ``width`` rows) of each energy term and the
    density, relative to the mean (absolute for vdW), against the thresholds ``criteria`` (the MD protocol's
    ``check_eq``: ``<term>_sma_sd_crit``, None to skip a term, and ``rg_sd_crit``).

    Returns ``{'converged': bool, 'checks': {term: {'sma_sd', 'mean', 'limit', 'ok'}}, 'missing': [...]}``.
    """
    df = thermo.dataframe() if hasattr(thermo, 'dataframe') else thermo
    analysis = analysis or {'init_fraction': 0.4, 'width_fraction': 0.6}
    start, stop = window(len(df), analysis)
    width = max(2, (stop - start) // 2)
    terms = {
        'totene': ('TotEng', True), 'kinene': ('KinEng', True), 'ebond': ('E_bond', True),
        'eangle': ('E_angle', True), 'edihed': ('E_dihed', True), 'evdw': ('E_vdwl', False),
        'ecoul': ('E_coul', False), 'elong': ('E_long', True), 'dens': ('Density', True),
    }
    checks, missing, converged = {}, [], True
    for term, (column, relative) in terms.items():
        limit = criteria.get(f'{term}_sma_sd_crit')
        if limit is None:
            continue
        if column not in df.columns:
            missing.append(term)
            continue
        x = df[column].to_numpy()[start:stop] * (4.184 if column != 'Density' else 1.0)  # kcal -> kJ, as RadonPy
        if len(x) < width + 1:
            missing.append(term)
            continue
        sma = np.convolve(x, np.ones(width) / width, mode='valid')
        sma_sd = float(np.std(sma[-width - 1:]))
        mean = float(sma[-1])
        bound = abs(mean) * limit if relative else limit
        ok = sma_sd <= bound
        checks[term] = {'sma_sd': sma_sd, 'mean': mean, 'limit': float(bound), 'ok': bool(ok)}
        converged &= ok
    if rg is not None and criteria.get('rg_sd_crit') is not None and 'Rg' in rg.get('values', {}):
        bound = rg['values']['Rg'] * criteria['rg_sd_crit']
        checks['rg'] = {'sd': rg['errors']['Rg'], 'mean': rg['values']['Rg'], 'limit': bound,
                        'ok': rg['errors']['Rg'] <= bound}
        converged &= checks['rg']['ok']
    return {'converged': bool(converged and 'totene' not in missing and 'dens' not in missing), 'checks': checks,
            'missing': missing}
