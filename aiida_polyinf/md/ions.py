"""Na+ and Cl- mobility in the equilibrated polymer matrix (pure code). RadonPy has no such property.

The ``ions`` stage reads the equilibrated cell with two extra atom types, inserts ``n_pairs`` Na+ and Cl- at random
positions at least ``overlap`` angstrom from every atom (LAMMPS ``create_atoms random ... overlap``), minimises,
relaxes them briefly (NVT, then NPT at the MD temperature and pressure), and runs an NPT production whose ion
positions (unwrapped) are dumped to ``ions.dump``. Several pairs per cell by default: a single pair in a low-epsilon
matrix stays bound and tells little.

Ion parameters: Joung and Cheatham, J. Phys. Chem. B 112, 9020 (2008), the set for TIP3P water (AMBER's
``frcmod.ionsjc_tip3p``): Na+ epsilon 0.0874393 kcal/mol, Rmin/2 1.369 A; Cl- epsilon 0.0355910 kcal/mol,
Rmin/2 2.513 A; sigma = 2 Rmin/2 / 2^(1/6). They are 12-6 LJ with Lorentz-Berthelot combining rules, the functional
form and mixing of GAFF2 (``pair_modify mix arithmetic``), and the standard choice with GAFF/GAFF2 solutes.

Analysis: the mean-squared displacement of each ion over all time origins of the production frames; in the fit
window (lag times between ``fit_start`` and ``fit_end`` of the production length) D = slope / 6 per ion, reported per
species as the mean with the standard error over its ions, and the MSD exponent alpha = d log MSD / d log t of the
species mean. Where alpha < ``min_msd_exponent`` the motion is not diffusive (caged, sub-diffusive) and no D is
reported for that species: D ~ 1e-12 m^2/s moves an ion less than 1 A in 1 ns, so a short run cannot tell.
"""

from __future__ import annotations

import math

import numpy as np

from .inputs import Segment, render_segments, stage_files

#: Joung-Cheatham (2008) TIP3P ions: mass (g/mol), charge (e), epsilon (kcal/mol), sigma (A).
IONS = {
    'Na': {'mass': 22.98977, 'charge': 1.0, 'epsilon': 0.0874393, 'sigma': 2 * 1.369 / 2 ** (1 / 6)},
    'Cl': {'mass': 35.453, 'charge': -1.0, 'epsilon': 0.0355910, 'sigma': 2 * 2.513 / 2 ** (1 / 6)},
}
SPECIES = ('Na', 'Cl')
DUMP = 'ions.dump'
INSERT_FAILED_MARK = 'POLYINF_ION_INSERTION_FAILED'
INSERT_FAILED_EXIT = 4
ANGSTROM2_PER_FS_TO_M2_PER_S = 1e-20 / 1e-15

def atom_types_in(data_text: str) -> int:
    """The ``N atom types`` of a LAMMPS data file's header."""
    for line in data_text.splitlines()[:40]:
        parts = line.split()
        if len(parts) >= 3 and parts[1:3] == ['atom', 'types']:
            return int(parts[0])
    raise ValueError('no "atom types" line in the data file header')


def production_start(p: dict) -> int:
    """The time step at which the production run starts (the relaxation steps come first)."""
    return int(p['relax_steps']) + int(p['eq_steps'])


def insertion_lines(p: dict, atom_types: int, seed: int) -> list[str]:
    """Commands after ``read_data ... extra/atom/types 2``: masses, LJ, the random insertion and its check."""
    na, cl = atom_types + 1, atom_types + 2
    n = int(p['n_pairs'])
    lines = []
    for species, kind in zip(SPECIES, (na, cl)):
        ion = IONS[species]
        lines += [f'mass {kind} {ion["mass"]}', f'pair_coeff {kind} {kind} {ion["epsilon"]} {ion["sigma"]:.6f}']
    lines += [
        f'create_atoms {na} random {n} {seed} NULL overlap {p["overlap"]} maxtry 1000',
        f'create_atoms {cl} random {n} {seed + 1} NULL overlap {p["overlap"]} maxtry 1000',
        f'group Na type {na}',
        f'group Cl type {cl}',
        'group ions union Na Cl',
        f'set group Na charge {IONS["Na"]["charge"]}',
        f'set group Cl charge {IONS["Cl"]["charge"]}',
        f'if "$(count(Na)) < {n} || $(count(Cl)) < {n}" then '
        f'"print \'{INSERT_FAILED_MARK} $(count(Na)) Na and $(count(Cl)) Cl of {n}\'" "quit {INSERT_FAILED_EXIT}"',
    ]
    return lines


def ion_segments(p: dict) -> list[Segment]:
    """Minimise the inserted ions, NVT, NPT, then the NPT production."""
    return [
        Segment('min', p['min_maxiter']),
        Segment('nvt', p['relax_steps'], p['dt'], p['temp'], p['temp']),
        Segment('npt', p['eq_steps'], p['dt'], p['temp'], p['temp'], p['press'], p['press']),
        Segment('npt', p['steps'], p['dt'], p['temp'], p['temp'], p['press'], p['press']),
    ]


def render(stage: str, protocol: dict, *, data_file: str, seed: int, timeout=None, restart=None,
           data_text: str | None = None) -> str:
    """The LAMMPS input of the ``ions`` stage: the cell read with two extra atom types (their number from
    ``data_text``, the cell's data file), the ions inserted, then :func:`ion_segments`, the ion positions dumped from
    the first MD segment on."""
    p = protocol
    after_read = [] if restart else insertion_lines(p, atom_types_in(data_text or ''), seed)
    return render_segments(
        stage, p, ion_segments(p), data_file=data_file, seed=seed, timeout=timeout, restart=restart,
        read_data_extra=' extra/atom/types 2', after_read=after_read,
        after_minimisation=[f'dump ions ions custom {p["dump_every"]} {DUMP} id type xu yu zu',
                            'dump_modify ions sort id' + (' append yes' if restart else '')],
    )


#: The CalcJob reads the cell's data file for :func:`render` (the number of atom types).
READS_DATA = True


def files(stage: str) -> dict[str, str]:
    """The stage's files: those of every stage and the ion trajectory (retrieved for the parser only)."""
    return {**stage_files(stage), 'dump': DUMP}


# ----------------------------------------------------------------------------------------------------- analysis
def analyse_dump(dump_text: str, data_text: str, p: dict) -> dict:
    """The stage's analysis, as the LAMMPS parser calls it: :func:`ion_mobility` of ``ions.dump`` (``data_text``: the
    cell's data file, for the number of matrix atom types)."""
    steps, types, positions = read_ion_dump(dump_text)
    return ion_mobility(steps, types, positions, p, atom_types_in(data_text))


def read_ion_dump(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ions.dump`` (``id type xu yu zu``, sorted): steps (n,), types (atoms,), positions (n, atoms, 3)."""
    from .analysis import parse_dump

    steps, frames, first = parse_dump(text, ('type',))
    if not len(frames):
        raise ValueError('no complete frame in the ion dump')
    return steps, first['type'].astype(int), frames


def msd_per_atom(positions: np.ndarray, max_lag: int) -> np.ndarray:
    """MSD (A^2) of each atom for lags 1..max_lag frames, averaged over every time origin: (max_lag, atoms)."""
    out = np.empty((max_lag, positions.shape[1]))
    for lag in range(1, max_lag + 1):
        d = positions[lag:] - positions[:-lag]
        out[lag - 1] = np.mean(np.sum(d * d, axis=-1), axis=0)
    return out


def ion_mobility(steps: np.ndarray, types: np.ndarray, positions: np.ndarray, p: dict, atom_types: int) -> dict:
    """D (m^2/s) and the MSD exponent per species, with the fit window; a species with no D says why.

    Returns ``{'values': {...}, 'errors': {...}, 'units': {...}, 'missing': {...}, 'fit': {...}}`` with names
    ``ion_diffusion_Na``, ``ion_msd_exponent_Na`` (and Cl) of :mod:`aiida_polyinf.common.properties`.
    """
    keep = steps >= production_start(p)
    steps, positions = steps[keep], positions[keep]
    if len(steps) < 5:
        raise ValueError(f'only {len(steps)} production frames of the ions')
    dt_frame = float(steps[1] - steps[0]) * float(p['dt'])  # fs
    n_frames = len(steps)
    lo = max(1, int(round(p['analysis']['fit_start'] * (n_frames - 1))))
    hi = max(lo + 2, int(round(p['analysis']['fit_end'] * (n_frames - 1))))
    msd = msd_per_atom(positions, hi)
    lags = np.arange(1, hi + 1) * dt_frame
    window = slice(lo - 1, hi)
    t = lags[window]
    out = {'values': {}, 'errors': {}, 'units': {}, 'missing': {},
           'fit': {'lag_start_fs': float(t[0]), 'lag_end_fs': float(t[-1]), 'frames': int(n_frames),
                   'frame_interval_fs': dt_frame}}
    limit = p.get('min_msd_exponent')
    for offset, species in enumerate(SPECIES, start=1):
        mask = types == atom_types + offset
        if not mask.any():
            out['missing'][f'ion_diffusion_{species}'] = 'no such ion in the dump'
            continue
        per_ion = msd[window][:, mask]
        slopes = np.array([np.polyfit(t, per_ion[:, k], 1)[0] for k in range(per_ion.shape[1])])
        d_ion = slopes / 6.0 * ANGSTROM2_PER_FS_TO_M2_PER_S
        mean_msd = per_ion.mean(axis=1)
        alpha = float(np.polyfit(np.log(t), np.log(np.maximum(mean_msd, 1e-12)), 1)[0])
        out['values'][f'ion_msd_exponent_{species}'] = alpha
        out['units'][f'ion_msd_exponent_{species}'] = ''
        out['fit'][f'msd_end_A2_{species}'] = float(mean_msd[-1])
        d = float(np.mean(d_ion))
        err = float(np.std(d_ion, ddof=1) / math.sqrt(len(d_ion))) if len(d_ion) > 1 else 0.0
        name = f'ion_diffusion_{species}'
        if limit is not None and alpha < limit:
            out['missing'][name] = f'not diffusive: MSD exponent {alpha:.2f} < {limit}'
        elif d <= 0:
            out['missing'][name] = 'negative_msd_slope'
        else:
            out['values'][name] = d
            out['errors'][name] = err
            out['units'][name] = 'm^2/s'
    return out
