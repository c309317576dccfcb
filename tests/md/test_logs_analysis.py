"""Log parsing on recorded real LAMMPS logs (tests/fixtures/md, see generate.py), analysis and aggregation."""

import math
import pathlib

import numpy as np
import pytest

from aiida_polyinf import protocols
from aiida_polyinf.md import aggregate, analysis, logs

FIX = pathlib.Path(__file__).resolve().parent.parent / 'fixtures' / 'md'


@pytest.mark.parametrize('name', ['lost_atoms', 'bond_atoms_missing', 'pppm_out_of_range'])
def test_blow_ups_are_named(name):
    result = logs.read_log(FIX / f'{name}.log')
    assert result.failure == name
    assert not result.complete and result.errors
    assert result.blocks and result.blocks[-1].columns[0] == 'Step'


def test_unstable_is_nan():
    assert logs.read_log(FIX / 'unstable.log').failure == 'nan'


def test_timeout():
    result = logs.read_log(FIX / 'timeout.log')
    assert result.failure == 'timeout'
    assert result.last_step and result.last_step > 0
    assert (FIX / 'timeout.rc').read_text().strip() == '3'


def test_killed_is_incomplete():
    result = logs.read_log(FIX / 'killed.log')
    assert result.failure == 'incomplete' and not result.has_total_wall_time


def test_complete_run():
    for stage in ('packing', 'eq21', 'sampling'):
        result = logs.read_log(FIX / 'complete' / f'{stage}.log')
        assert result.complete and result.stage_complete, stage
    eq21 = logs.read_log(FIX / 'complete' / 'eq21.log')
    assert len(eq21.blocks) == 21
    sampling = logs.read_log(FIX / 'complete' / 'sampling.log').joined()
    assert {'Density', 'TotEng', 'v_msd', 'c_dip[1]', 'Volume'} <= set(sampling.columns)


def test_analysis_of_the_complete_run():
    block = logs.read_log(FIX / 'complete' / 'sampling.log').joined()
    out = analysis.analyze_sampling(
        block, analysis={'init_fraction': 0.4, 'width_fraction': 0.6},
        dump_path=str(FIX / 'complete' / 'sampling.dump'), topology=str(FIX / 'complete' / 'topology.json'),
        polarizability=8.0, polarizability_mol_weight=58.12)
    values = out['values']
    expected = {'density', 'Cp', 'Cv', 'compressibility', 'bulk_modulus', 'isentropic_compressibility',
                'isentropic_bulk_modulus', 'volume_expansion', 'linear_expansion', 'self-diffusion', 'Rg', 'r2',
                'nematic_order_parameter', 'static_dielectric_const', 'refractive_index', 'dielectric_const_dc'}
    assert expected <= set(values) | set(out['missing'])
    assert {'density', 'Rg', 'r2', 'nematic_order_parameter', 'refractive_index'} <= set(values)
    assert all(math.isfinite(v) for v in values.values()) and all(math.isfinite(v) for v in out['errors'].values())
    assert 0.3 < values['density'] < 1.5
    assert 0 < values['nematic_order_parameter'] <= 1
    assert out['units']['density'] == 'g/cm^3'
    criteria = protocols.parameters('md', 'fast')['check_eq']
    conv = analysis.check_eq(block, analysis={'init_fraction': 0.4, 'width_fraction': 0.6}, criteria=criteria)
    assert isinstance(conv['converged'], bool) and 'dens' in conv['checks']


def test_missing_is_absent_with_reason():
    block = logs.read_log(FIX / 'complete' / 'sampling.log').joined()
    out = analysis.analyze_sampling(block)
    assert 'refractive_index' not in out['values'] and 'refractive_index' in out['missing']
    assert 'Rg' in out['missing']


def test_aggregate():
    trials = [{'values': {'density': 1.0, 'Cp': 1500.0}}, {'values': {'density': 1.2}, 'missing': {'Cp': 'x'}},
              None, {'failed': 'lost_atoms'}, {'density': float('nan')}]
    out = aggregate.aggregate(trials)
    assert out['density'] == pytest.approx(1.1) and out['density_count'] == 2
    assert out['density_std'] == pytest.approx(np.std([1.0, 1.2], ddof=1))
    assert out['density_min'] == 1.0 and out['density_max'] == 1.2
    assert out['Cp'] == 1500.0 and out['Cp_std'] == 0.0 and out['Cp_count'] == 1
    assert out['n_trials'] == 5 and out['n_trials_used'] == 3 and out['n_trials_failed'] == 2
    assert aggregate.aggregate([None])['n_trials_used'] == 0


def test_negative_diffusion_is_missing_with_reason():
    """A decreasing MSD (noise in a short glassy run) gives no self-diffusion value, never a negative one or NaN."""
    block = logs.read_log(FIX / 'complete' / 'sampling.log').joined()
    df = block.dataframe().copy()
    df['v_msd'] = np.linspace(5.0, 1.0, len(df))  # MSD falling with time: negative slope
    out = analysis.analyze_sampling(df)
    assert 'self-diffusion' not in out['values'] and 'self-diffusion' not in out['errors']
    assert out['missing']['self-diffusion'] == 'negative_msd_slope'
    assert 'density' in out['values']  # the rest of the analysis is unaffected

    df['v_msd'] = np.linspace(1.0, 5.0, len(df))  # a rising MSD still gives a positive value
    out = analysis.analyze_sampling(df)
    assert out['values']['self-diffusion'] > 0 and 'self-diffusion' not in out['missing']
