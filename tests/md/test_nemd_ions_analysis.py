"""Pure analysis of the NEMD (kappa) and ion (MSD) stages against hand-computed values."""

import numpy as np
import pytest

from aiida_polyinf import protocols
from aiida_polyinf.md import inputs, ions, nemd


def _profile_text(steps, coords, temps):
    lines = ['# Chunk-averaged data for fix tprof and group all', '# Timestep Number-of-chunks Total-count',
             '# Chunk Coord1 Ncount temp']
    for step, row in zip(steps, temps):
        lines.append(f'{step} {len(coords)} 1200')
        lines += [f'  {i + 1} {c} 60 {t}' for i, (c, t) in enumerate(zip(coords, row))]
    return '\n'.join(lines) + '\n'


def test_profile_parse_and_kappa_by_hand():
    n = 20
    coords = (np.arange(n) + 0.5) / n
    # cold slab 0 at 250 K, hot slab 10 at 350 K, linear in between: 100 K over half the box
    base = 350 - 100 * np.abs(coords - coords[10]) / 0.5
    rng = np.random.default_rng(0)
    temps = [base + rng.normal(0, 0.5, n) for _ in range(40)]
    text = _profile_text(range(50, 50 * 41, 50), coords, temps)
    text += '2100 20 1200\n  1 0.025 60 250\n'  # a block cut short by a kill: dropped
    profile = nemd.parse_profile(text)
    assert profile['temp'].shape == (40, 20) and profile['step'][-1] == 2000
    length = 50.0  # angstrom
    p = protocols.parameters('nemd', 'fast')
    grad = nemd.temperature_gradient([profile], length, p)
    expected = 100 / 0.5 / (length * 1e-10)  # K per reduced unit -> K/m
    assert grad['gradient'] == pytest.approx(expected, rel=0.01)
    assert grad['linear'] and grad['r2_left'] > 0.99
    # heat flux: 2e9 W/m^2 in two runs (the cumulative flux restarts at 0 in the second)
    t1, t2 = np.arange(0, 1000, 10.0), np.arange(1000, 2000, 10.0)
    pieces = [(t1, 2e9 * t1 * 1e-15), (t2, 2e9 * (t2 - 1000) * 1e-15)]
    result = nemd.thermal_conductivity([profile], pieces, length, p)
    assert result['kappa'] == pytest.approx(2e9 / expected, rel=0.01)
    # a flat (noisy) profile is not linear
    flat = nemd.parse_profile(_profile_text(range(50, 2050, 50), coords, [300 + rng.normal(0, 5, n) for _ in range(40)]))
    assert not nemd.temperature_gradient([flat], length, p)['linear']


def test_radonpy_skip_rule():
    moderate, fast = protocols.parameters('nemd', 'moderate'), protocols.parameters('nemd', 'fast')
    assert 'check_eq' in nemd.skip_reason(moderate, False, 0.05)
    assert 'nematic' in nemd.skip_reason(moderate, True, 0.12)
    assert nemd.skip_reason(moderate, True, 0.05) is None
    assert nemd.skip_reason(fast, False, 0.3) is None  # fast applies neither check


def test_nemd_input_replicates_and_continues():
    p = protocols.parameters('nemd', 'fast')
    text = nemd.render('nemd', p, data_file='input.data', seed=5)
    assert 'replicate 3 1 1' in text and 'fix mp all thermal/conductivity 50 x 20' in text
    assert f'run {nemd.total_steps(p)} upto' in text and f'write_restart nemd.restart.{nemd.total_steps(p)}' in text
    extended = dict(p, steps=p['steps'] + p['extension_steps'])
    cont = nemd.render('nemd', extended, data_file='input.data', seed=5,
                       restart=inputs.RestartPoint('nemd.restart.4500', 4500))
    assert 'read_restart nemd.restart.4500' in cont and 'replicate' not in cont and 'velocity' not in cont
    assert 'run 6500 upto' in cont


def _dump(steps, types, frames):
    out = []
    for step, xyz in zip(steps, frames):
        out += ['ITEM: TIMESTEP', str(step), 'ITEM: NUMBER OF ATOMS', str(len(types)),
                'ITEM: BOX BOUNDS pp pp pp', '0 10', '0 10', '0 10', 'ITEM: ATOMS id type xu yu zu']
        out += [f'{i + 1} {t} {x} {y} {z}' for i, (t, (x, y, z)) in enumerate(zip(types, xyz))]
    return '\n'.join(out) + '\n'


def test_ion_msd_random_walk_and_cage():
    p = protocols.parameters('ions', 'fast', {'min_msd_exponent': 0.8})
    start = ions.production_start(p)
    n_frames, n_ions, sigma = 400, 40, 0.3  # angstrom per frame per axis
    rng = np.random.default_rng(1)
    walk = np.cumsum(rng.normal(0, sigma, (n_frames, n_ions, 3)), axis=0)
    cage = rng.normal(0, 0.5, (n_frames, n_ions, 3))  # vibrating about fixed sites: no diffusion
    types = np.array([3] * n_ions + [4] * n_ions)
    frames = np.concatenate([walk, cage], axis=1)
    steps = start + np.arange(n_frames) * p['dump_every']
    s, t, pos = ions.read_ion_dump(_dump(steps, types, frames))
    result = ions.ion_mobility(s, t, pos, p, atom_types=2)
    dt_fs = p['dump_every'] * p['dt']
    expected = sigma**2 / (2 * dt_fs) * 1e-5  # MSD = 6 D t with 3 sigma^2 per frame
    assert result['values']['ion_diffusion_Na'] == pytest.approx(expected, rel=0.25)
    assert result['values']['ion_msd_exponent_Na'] == pytest.approx(1.0, abs=0.15)
    assert 'ion_diffusion_Cl' not in result['values']
    assert result['missing']['ion_diffusion_Cl'].startswith('not diffusive')
    assert result['values']['ion_msd_exponent_Cl'] < 0.3


def test_ion_insertion_input():
    p = protocols.parameters('ions', 'fast')
    text = ions.render('ions', p, data_file='input.data', seed=9, data_text='LAMMPS data\n\n392 atoms\n2 atom types\n')
    assert 'read_data input.data extra/atom/types 2' in text
    assert 'create_atoms 3 random 4 9 NULL overlap 2.0' in text and 'create_atoms 4 random 4 10' in text
    assert 'pair_coeff 3 3 0.0874393 2.439281' in text  # Joung-Cheatham TIP3P Na+
    # the dump comes after the minimisation (reset_timestep refuses an active dump)
    assert text.index('reset_timestep 0') < text.index('dump ions ions custom')
    assert ions.atom_types_in('LAMMPS data file\n\n392 atoms\n2 atom types\n') == 2
