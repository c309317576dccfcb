"""The Tg stage's pure code (aiida_polyinf.md.tg): schedule, LAMMPS input, plateau means, the bilinear fit and its
"clear kink" verdict, the protocol file, and one short real LAMMPS run (slow) on the recorded fast PE cell."""

import copy
import math
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
import yaml

from aiida_polyinf.md import logs, tg
from aiida_polyinf.md.inputs import COMPLETE_MARK, TIMEOUT_MARK, RestartPoint

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTOCOLS = ROOT / 'aiida_polyinf' / 'protocols' / 'tg.yaml'
CELL = ROOT / 'tests' / 'fixtures' / 'md' / 'cell_pe_fast.data'
LMP = ROOT / '.venv' / 'bin' / 'lmp'
FIT = {'min_points_per_branch': 3, 'min_slope_ratio': 1.5, 'max_tg_uncertainty': 25.0}
T_GRID = np.arange(600.0, 99.0, -20.0)  # 26 plateaus as the moderate protocol


def load(name: str) -> dict:
    with open(PROTOCOLS) as handle:
        return yaml.safe_load(handle)['protocols'][name]['parameters']


def bilinear(t, tg_true, v_g, b_glass, b_rubber):
    t = np.asarray(t, dtype=float)
    return v_g + np.where(t < tg_true, b_glass, b_rubber) * (t - tg_true)


def plain(value) -> bool:
    """Only plain Python types, no NaN/inf, all the way down."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    if isinstance(value, float):
        return type(value) is float and math.isfinite(value)
    return value is None or type(value) in (int, bool, str)


# ----------------------------------------------------------------------------------------------------- protocol file
def test_protocol_file_structure_and_numbers():
    with open(PROTOCOLS) as handle:
        data = yaml.safe_load(handle)
    assert data['default_protocol'] == 'moderate'
    assert data['default_inputs']['max_iterations'] == 5
    assert set(data['protocols']) == {'fast', 'moderate', 'precise'}
    for name, entry in data['protocols'].items():
        assert entry['description'].strip()
        p = entry['parameters']
        for key in ('t_start', 't_end', 't_step', 'steps_per_temperature', 'heat_steps', 'equil_steps', 'dt', 'press',
                    'ff', 'thermo_every', 'restart_every', 'analysis', 'fit'):
            assert key in p, (name, key)
        plateau_steps = len(tg.schedule(p)) * p['steps_per_temperature']
        assert tg.total_steps(p) == p['heat_steps'] + p['equil_steps'] + plateau_steps
    moderate, fast = load('moderate'), load('fast')
    assert load('precise') == moderate
    # PMD's TgMeasurement: 20 K every 1,000,000 steps of 1 fs = 20 K/ns, 600 -> 100 K
    rate_k_per_ns = moderate['t_step'] / (moderate['steps_per_temperature'] * moderate['dt'] * 1e-6)
    assert rate_k_per_ns == pytest.approx(20.0)
    assert [t for t, _, _ in tg.schedule(moderate)] == list(T_GRID)
    assert moderate['ff'] == {'cutoff_in': 8.0, 'cutoff_out': 12.0, 'kspace_accuracy': '1e-6'}
    assert fast['ff']['kspace_accuracy'] == '1e-5'
    assert [t for t, _, _ in tg.schedule(fast)] == [500.0, 450.0, 400.0, 350.0, 300.0, 250.0, 200.0]
    assert tg.total_steps(fast) == 16000


def test_no_aiida_import():
    source = (ROOT / 'aiida_polyinf' / 'md' / 'tg.py').read_text()
    assert not re.search(r'^\s*(from|import)\s+aiida(\.|\s|$)', source, re.M)
    code = ('import sys, aiida_polyinf.md.tg; '
            'sys.exit(any(m == "aiida" or m.startswith("aiida.") for m in sys.modules))')
    assert subprocess.run([sys.executable, '-c', code], cwd=ROOT).returncode == 0


# ----------------------------------------------------------------------------------------------------- schedule
def test_schedule_is_contiguous_after_heating():
    p = load('fast')
    plateaus = tg.schedule(p)
    assert plateaus[0] == (500.0, 2000, 4000)  # after 1,000 heating + 1,000 equilibration steps
    for (_, _, last), (_, first, _) in zip(plateaus, plateaus[1:]):
        assert first == last
    assert plateaus[-1][2] == tg.total_steps(p)
    uneven = {**p, 't_start': 500.0, 't_end': 210.0, 't_step': 50.0}  # stops at 250 K, never below t_end
    assert [t for t, _, _ in tg.schedule(uneven)][-1] == 250.0
    with pytest.raises(ValueError):
        tg.schedule({**p, 't_end': 600.0})
    with pytest.raises(ValueError):
        tg.schedule({**p, 't_step': 0.0})


# ----------------------------------------------------------------------------------------------------- input
def test_render_fast_protocol():
    p = load('fast')
    text = tg.render('tg', p, data_file='md.data', seed=4242)
    lines = text.splitlines()
    assert 'read_data md.data' in lines and 'log tg.log' in lines
    assert 'kspace_style pppm 1e-5' in lines
    assert 'pair_style lj/charmm/coul/long 8.0 12.0' in lines
    assert 'velocity all create 300.000000 4242 mom yes rot yes dist gaussian' in lines
    assert text.count('velocity all create') == 1
    assert 'thermo 20' in lines and 'restart 2000 tg.restart.*' in lines
    assert any(line.startswith('thermo_style custom step') and ' density ' in line for line in lines)
    runs = [int(m) for m in re.findall(r'^run (\d+) upto$', text, re.M)]
    assert runs == [1000, 2000] + [last for _, _, last in tg.schedule(p)]
    assert 'fix md1 all npt temp 300.000000 500.000000 100.0 iso 1.000000 1.000000 1000.0 nreset 1000' in lines
    for t in (500, 450, 400, 350, 300, 250, 200):
        assert f'npt temp {t:.6f} {t:.6f} 100.0 iso' in text
    assert len(re.findall(r'^fix shake\d+ all shake 1e-4 1000 0 m 1\.0$', text, re.M)) == len(runs)
    assert len(re.findall(r'^unfix shake\d+$', text, re.M)) == len(runs)
    assert text.count('timestep 1\n') == len(runs)
    assert lines[-3] == (f'if "$(step) < 16000" then "write_restart tg.restart.timeout" '
                         f'"print \'{TIMEOUT_MARK} step $(step) of 16000\'" "quit 3"')
    assert lines[-2] == 'write_data tg.data'
    assert lines[-1] == f'print "{COMPLETE_MARK} tg step $(step)"'
    assert 'timer timeout' not in text
    assert 'timer timeout 01:00:00 every 10' in tg.render('tg', p, data_file='md.data', seed=1, timeout='01:00:00')
    with pytest.raises(ValueError):
        tg.render('sampling', p, data_file='md.data', seed=1)
    with pytest.raises(TypeError):
        tg.render('tg', p, data_file='md.data')  # the seed is required


def test_render_restart_runs_only_what_is_left():
    p = load('fast')
    text = tg.render('tg', p, data_file='md.data', seed=1, restart=RestartPoint('tg.restart.5000', 5000, 0.5))
    lines = text.splitlines()
    assert 'read_restart tg.restart.5000' in lines and 'log tg.log append' in lines
    assert 'read_data md.data' not in lines and 'velocity' not in text
    runs = [int(m) for m in re.findall(r'^run (\d+) upto$', text, re.M)]
    assert runs == [6000, 8000, 10000, 12000, 14000, 16000]  # the 450 K plateau (4000-6000) is finished first
    assert 'npt temp 500.000000' not in text  # the heating, equilibration and 500 K plateau are done
    assert 'timestep 0.5' in lines and 'timestep 1' not in lines
    assert lines[-2] == 'write_data tg.data'
    # a restart inside the heating ramp resumes at the temperature it had reached
    ramp = tg.render('tg', p, data_file='md.data', seed=1, restart=RestartPoint('tg.restart.500', 500))
    assert 'fix md1 all npt temp 400.000000 500.000000 100.0' in ramp
    assert re.findall(r'^run (\d+) upto$', ramp, re.M)[0] == '1000'


# ----------------------------------------------------------------------------------------------------- plateaus
def synthetic_series(p, rho_of_t, *, wobble=0.0):
    """Thermo rows as LAMMPS writes them with `run N upto`: every thermo_every steps, the first row of each run
    repeating the last row of the one before; in the first half of each plateau the density is far off (relaxing)."""
    every = p['thermo_every']
    steps, temps, dens = [0], [p['t_start']], [rho_of_t(p['t_start']) + 0.3]
    begin = 0
    segments = [(tg.schedule(p)[0][1], p['t_start'])] + [(last - first, t) for t, first, last in tg.schedule(p)]
    for n, t in segments:
        steps.append(begin)  # the first row of a run repeats the last row of the one before
        temps.append(temps[-1])
        dens.append(dens[-1])
        for k, s in enumerate(range(begin + every, begin + n + 1, every)):
            late = s > begin + n / 2
            steps.append(s)
            temps.append(t)
            dens.append(rho_of_t(t) + (wobble * (-1) ** k if late else 0.3))
        begin += n
    return np.array(steps), np.array(temps), np.array(dens)


def test_plateau_means_of_a_synthetic_series():
    p = load('fast')
    rho = lambda t: 1.0 - 2e-4 * (t - 300.0)  # noqa: E731
    step, temp, dens = synthetic_series(p, rho, wobble=0.004)
    out = tg.plateau_means(step, temp, dens, p)
    expected_t = [t for t, _, _ in tg.schedule(p)]
    assert list(out['temperature']) == expected_t
    per_plateau = p['steps_per_temperature'] * (1 - p['analysis']['discard_fraction']) / p['thermo_every']
    assert list(out['samples']) == [int(per_plateau)] * len(expected_t)  # 50: the relaxing half left out
    # 50 alternating +-0.004 rows: block means of 13/13/12/12 rows; the mean is within 0.004/50 of rho
    assert np.allclose(out['density'], [rho(t) for t in expected_t], atol=0.004 / 40)
    assert np.all(out['density_err'] > 0) and np.all(out['density_err'] < 0.004)
    assert np.allclose(out['specific_volume'], 1.0 / out['density'])
    assert np.allclose(out['specific_volume_err'], out['density_err'] / out['density'] ** 2)
    assert np.allclose(out['temperature_measured'], expected_t)

    exact = tg.plateau_means(*synthetic_series(p, rho), p)
    assert np.allclose(exact['density'], [rho(t) for t in expected_t]) and np.allclose(exact['density_err'], 0.0)


def test_plateau_means_keeps_the_latest_rows_and_marks_missing_plateaus():
    p = load('fast')
    rho = lambda t: 0.9  # noqa: E731
    step, temp, dens = synthetic_series(p, rho)
    cut = step <= 7000  # killed at 7,000 in the 400 K plateau (6000-8000) ...
    garbage = (step > 5000) & cut  # ... after writing its restart at 5,000; the continued run repeats 5,000-7,000
    step2 = np.concatenate([step[cut], step[garbage]])
    temp2 = np.concatenate([temp[cut], temp[garbage]])
    dens2 = np.concatenate([np.where(garbage[cut], 5.0, dens[cut]), dens[garbage]])
    out = tg.plateau_means(step2, temp2, dens2, p)
    assert np.allclose(out['density'][:2], 0.9)  # the rows of the killed run (5.0) were replaced
    assert list(out['samples']) == [50, 50, 0, 0, 0, 0, 0]  # 400 K: only rows up to 7,000 = the discarded half
    assert np.all(np.isnan(out['density'][2:]))

    result = tg.analyse(step2, temp2, dens2, p)
    assert result['settings']['plateau_temperatures'] == [500.0, 450.0]
    assert result['settings']['plateaus_without_data'] == [400.0, 350.0, 300.0, 250.0, 200.0]
    assert result['values'] == {} and not result['settings']['clear_kink']
    assert set(result['missing']) == {'glass_transition_temperature', 'glass_transition_temperature_err',
                                      'volume_expansion_rubber', 'volume_expansion_glass'}
    assert all(isinstance(reason, str) and reason for reason in result['missing'].values())
    assert plain(result)


# ----------------------------------------------------------------------------------------------------- the fit
@pytest.mark.parametrize('tg_true, v_g, b_glass, b_rubber, seed', [
    (250.0, 1.10, 2.0e-4, 6.0e-4, 1),
    (330.0, 0.95, 2.5e-4, 6.5e-4, 2),
    (372.5, 0.85, 1.5e-4, 5.0e-4, 3),  # between two plateaus
    (420.0, 1.05, 3.0e-4, 7.5e-4, 4),
    (480.0, 0.80, 2.2e-4, 8.0e-4, 5),
])
def test_bilinear_fit_recovers_tg(tg_true, v_g, b_glass, b_rubber, seed):
    noise = np.random.default_rng(seed).normal(0.0, 5e-4, len(T_GRID))
    v = bilinear(T_GRID, tg_true, v_g, b_glass, b_rubber) + noise
    fit = tg.fit_bilinear(T_GRID, v, FIT)
    assert plain(fit)
    assert fit['clear_kink'] is True and fit['reason'] is None
    assert fit['tg'] == pytest.approx(tg_true, abs=4.0)  # sd of Tg at this noise: about 1 K
    assert 0.0 < fit['tg_err'] < 5.0 and fit['tg_low'] <= fit['tg'] <= fit['tg_high']
    assert fit['tg_interval_bounded'] is True and fit['tg_uncertainty_method'] == 'profile_rss'
    assert fit['r2_glass'] > 0.97 and fit['r2_rubber'] > 0.99
    assert fit['slope_glass'] == pytest.approx(b_glass, rel=0.15)
    assert fit['slope_rubber'] == pytest.approx(b_rubber, rel=0.05)
    assert fit['alpha_rubber'] > fit['alpha_glass'] > 0
    assert fit['alpha_rubber'] == pytest.approx(b_rubber / v_g, rel=0.06)
    assert fit['n_glass'] + fit['n_rubber'] == len(T_GRID) == fit['n_points']
    assert fit['n_glass'] == int(np.sum(T_GRID < fit['tg']))


def test_bilinear_fit_is_deterministic_and_order_free():
    v = bilinear(T_GRID, 345.0, 1.0, 2e-4, 6e-4) + 1e-3 * np.sin(np.arange(len(T_GRID)) * 1.7)
    first = tg.fit_bilinear(T_GRID, v, FIT)
    assert tg.fit_bilinear(T_GRID, v, FIT) == first
    order = np.random.default_rng(0).permutation(len(T_GRID))
    shuffled = tg.fit_bilinear(list(T_GRID[order]) + [np.nan], list(v[order]) + [1.0], FIT)
    assert shuffled['tg'] == pytest.approx(first['tg'], abs=1e-6) and shuffled['n_points'] == len(T_GRID)
    exact = tg.fit_bilinear(T_GRID, bilinear(T_GRID, 345.0, 1.0, 2e-4, 6e-4), FIT)
    assert exact['tg'] == pytest.approx(345.0, abs=1e-3) and exact['tg_err'] < 0.1


def test_straight_line_has_no_clear_kink():
    v = 1.0 + 5e-4 * (T_GRID - 300.0) + np.random.default_rng(7).normal(0.0, 1e-3, len(T_GRID))
    fit = tg.fit_bilinear(T_GRID, v, FIT)
    assert plain(fit)
    assert fit['clear_kink'] is False and fit['reason']
    assert fit['tg'] is not None  # the fit is returned all the same
    exact = tg.fit_bilinear(T_GRID, 1.0 + 5e-4 * (T_GRID - 300.0), FIT)
    assert exact['clear_kink'] is False and 'slope ratio' in exact['reason']


def test_kink_at_the_edge_has_no_clear_kink():
    fit = tg.fit_bilinear(T_GRID, bilinear(T_GRID, 140.0, 1.0, 2e-4, 6e-4), FIT)
    assert fit['tg'] == pytest.approx(140.0, abs=0.5)
    assert fit['n_glass'] == 2 and fit['clear_kink'] is False and 'edge' in fit['reason']
    high = tg.fit_bilinear(T_GRID, bilinear(T_GRID, 575.0, 1.0, 2e-4, 6e-4), FIT)
    assert high['n_rubber'] < 3 and high['clear_kink'] is False and 'edge' in high['reason']


def test_weak_kink_and_large_uncertainty_are_flagged():
    weak = tg.fit_bilinear(T_GRID, bilinear(T_GRID, 350.0, 1.0, 4e-4, 5e-4), FIT)  # ratio 1.25
    assert weak['clear_kink'] is False and 'slope ratio' in weak['reason']
    noisy_v = bilinear(T_GRID, 350.0, 1.0, 2e-4, 6e-4) + np.random.default_rng(11).normal(0.0, 8e-3, len(T_GRID))
    noisy = tg.fit_bilinear(T_GRID, noisy_v, {**FIT, 'max_tg_uncertainty': 2.0})
    assert noisy['tg_err'] > 2.0 and noisy['clear_kink'] is False and 'uncertainty' in noisy['reason']
    few = tg.fit_bilinear([300.0, 400.0], [1.0, 1.1], FIT)
    assert few['tg'] is None and few['clear_kink'] is False and few['reason'] and plain(few)


def test_analyse_of_a_synthetic_run():
    p = copy.deepcopy(load('moderate'))
    p.update({'steps_per_temperature': 20000, 'heat_steps': 10000, 'equil_steps': 10000, 'thermo_every': 1000})
    tg_true = 390.0
    rho = lambda t: 1.0 / bilinear(t, tg_true, 0.95, 2.4e-4, 6.2e-4)  # noqa: E731
    step, temp, dens = synthetic_series(p, rho, wobble=2e-4)
    result = tg.analyse(step, temp, dens, p)
    assert plain(result)
    values, settings = result['values'], result['settings']
    assert result['missing'] == {}
    assert values['glass_transition_temperature'] == pytest.approx(tg_true, abs=3.0)
    assert values['volume_expansion_rubber'] > values['volume_expansion_glass'] > 0
    assert values['glass_transition_temperature_err'] < settings['max_tg_uncertainty']
    assert settings['clear_kink'] is True and settings['reason'] is None
    assert settings['plateau_temperatures'] == list(T_GRID)
    assert len(settings['plateau_specific_volumes']) == len(T_GRID)
    assert settings['n_glass'] + settings['n_rubber'] == len(T_GRID)
    assert settings['tg_uncertainty_method'] == 'profile_rss'


# ----------------------------------------------------------------------------------------------------- real run
def run_lmp(directory):
    return subprocess.run([str(LMP), '-in', 'tg.in', '-log', 'none', '-screen', 'none'], cwd=directory, timeout=300,
                          env={**os.environ, 'OMP_NUM_THREADS': '1'}).returncode


@pytest.mark.slow
@pytest.mark.skipif(not LMP.exists(), reason='no lmp in .venv')
def test_lammps_run_on_the_fast_cell_and_its_continuation(tmp_path):
    p = copy.deepcopy(load('fast'))
    p.update({'t_start': 450.0, 't_end': 250.0, 't_step': 50.0, 'steps_per_temperature': 400, 'heat_steps': 200,
              'equil_steps': 200, 'restart_every': 500})  # 5 plateaus, 2,400 steps
    (tmp_path / 'cell.data').write_text(CELL.read_text())
    (tmp_path / 'tg.in').write_text(tg.render('tg', p, data_file='cell.data', seed=11))
    assert run_lmp(tmp_path) == 0
    first = logs.read_log(tmp_path / 'tg.log')
    assert first.stage_complete and first.last_step == tg.total_steps(p) == 2400
    assert (tmp_path / 'tg.data').exists() and (tmp_path / 'tg.restart.1000').exists()

    # continue from the restart at 1,000 (inside the 400 K plateau, 800-1200), as after a kill
    (tmp_path / 'tg.data').unlink()
    text = tg.render('tg', p, data_file='cell.data', seed=11, restart=RestartPoint('tg.restart.1000', 1000))
    (tmp_path / 'tg.in').write_text(text)
    assert run_lmp(tmp_path) == 0
    log_text = (tmp_path / 'tg.log').read_text()
    result = logs.parse_log(log_text)
    assert result.stage_complete and (tmp_path / 'tg.data').exists()
    assert log_text.count(f'{COMPLETE_MARK} tg step 2400') == 2  # the first run and its continuation
    thermo = result.joined()
    out = tg.analyse(thermo.column('Step'), thermo.column('Temp'), thermo.column('Density'), p)
    assert plain(out)
    settings = out['settings']
    assert settings['plateau_temperatures'] == [450.0, 400.0, 350.0, 300.0, 250.0]
    assert settings['plateau_samples'] == [10] * 5  # the last 200 of 400 steps, thermo every 20
    assert all(0.5 < d < 1.2 for d in settings['plateau_densities'])
    assert isinstance(settings['clear_kink'], bool) and (settings['clear_kink'] or settings['reason'])
    assert set(out['values']) | set(out['missing']) == {
        'glass_transition_temperature', 'glass_transition_temperature_err', 'volume_expansion_rubber',
        'volume_expansion_glass'}
