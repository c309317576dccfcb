"""NEMD, ion and Tg work chains with real LAMMPS (fast protocols) on a recorded fast polyethylene cell, and RadonPy's
skip rule. The cell (tests/fixtures/md/cell_pe_fast.data) is the final_cell of a fast MD trial of *CC*."""

import pathlib

import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_polyinf.data.polymer import PolymerData
from aiida_polyinf.workchains.ions import IonMobilityWorkChain
from aiida_polyinf.workchains.nemd import NemdThermalConductivityWorkChain
from aiida_polyinf.workchains.tg import TgWorkChain

CELL = pathlib.Path(__file__).resolve().parents[1] / 'fixtures' / 'md' / 'cell_pe_fast.data'


@pytest.fixture
def pe_cell():
    polymer = PolymerData('*CC*').store()
    return polymer, orm.SinglefileData(CELL, filename='cell.data').store()


def test_nemd_skipped_by_radonpy_rule(pe_cell, polyinf_codes):
    polymer, cell = pe_cell
    props = orm.Dict({'density': 0.85, 'Cp': 1900.0, 'nematic_order_parameter': 0.25,
                      'settings': {'converged': True}}).store()
    builder = NemdThermalConductivityWorkChain.get_builder_from_protocol(
        polyinf_codes['lmp'], polymer, cell, 'moderate', md_properties=props
    )
    _, node = run_get_node(builder)
    assert node.exit_status == NemdThermalConductivityWorkChain.exit_codes.ERROR_CELL_ORDERED.status
    assert 'nematic' in node.exit_message and not node.called  # nothing was run


@pytest.mark.slow
def test_nemd_fast_real_lammps(pe_cell, polyinf_codes):
    polymer, cell = pe_cell
    props = orm.Dict({'density': 0.85, 'Cp': 1900.0, 'nematic_order_parameter': 0.29,
                      'settings': {'converged': False}}).store()
    builder = NemdThermalConductivityWorkChain.get_builder_from_protocol(
        polyinf_codes['lmp'], polymer, cell, 'fast', md_properties=props, seed=7
    )
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    kappa = node.outputs.thermal_conductivity
    assert kappa['thermal_conductivity'] > 0 and kappa['thermal_conductivity_err'] >= 0
    fit = kappa['settings']
    assert 0 <= fit['r2_left'] <= 1 and fit['runs'] in (1, 2) and fit['profiles_used'] > 10
    assert fit['runs'] == 1 + (not fit['linear']) or fit['linear']  # extended once when not linear
    assert kappa['thermal_diffusivity'] == pytest.approx(
        kappa['thermal_conductivity'] / (0.85e3 * 1900.0), rel=1e-9)
    assert kappa['seed'] == 7 and kappa['protocol'] == 'fast'
    assert node.outputs.thermal_conductivity.creator.inputs.polymer.uuid == polymer.uuid  # provenance convention


@pytest.mark.slow
def test_ions_fast_real_lammps(pe_cell, polyinf_codes):
    polymer, cell = pe_cell
    builder = IonMobilityWorkChain.get_builder_from_protocol(polyinf_codes['lmp'], polymer, cell, 'fast', seed=11)
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    values = node.outputs.ion_mobility
    for species in ('Na', 'Cl'):
        assert f'ion_msd_exponent_{species}' in values.keys()
        assert f'ion_diffusion_{species}' in values.keys() or f'ion_diffusion_{species}' in values['_missing']
    assert values['settings']['frames'] >= 50 and values['settings']['lag_end_fs'] > values['settings']['lag_start_fs']
    lammps = [n for n in node.called_descendants if n.process_label == 'LammpsCalculation'][0]
    assert 'create_atoms 3 random 4 11' in lammps.base.repository.get_object_content('ions.in')


@pytest.mark.slow
def test_tg_fast_real_lammps(pe_cell, polyinf_codes):
    """The Tg stage on the recorded cell, fast protocol with 3 plateaus of 600 steps: the values Dict always holds
    the fit and its quality; a clear kink finishes ok, none ends with the physics code 510 and keeps the data."""
    polymer, cell = pe_cell
    overrides = {'parameters': {'t_start': 450.0, 't_end': 250.0, 't_step': 100.0, 'steps_per_temperature': 600,
                                'heat_steps': 200, 'equil_steps': 200}}
    builder = TgWorkChain.get_builder_from_protocol(polyinf_codes['lmp'], polymer, cell, 'fast', overrides, seed=13)
    _, node = run_get_node(builder)
    assert node.is_finished_ok or node.exit_status == TgWorkChain.exit_codes.ERROR_NO_CLEAR_KINK.status, node.exit_message
    result = node.outputs.glass_transition
    fit = result['settings']
    assert fit['plateau_temperatures'] == [450.0, 350.0, 250.0]
    assert all(0.3 < rho < 1.5 for rho in fit['plateau_densities'])
    assert result['seed'] == 13 and result['trial'] == 0 and result['protocol'] == 'fast'
    assert result.creator.inputs.polymer.uuid == polymer.uuid  # provenance convention: the export finds it
    if not fit['clear_kink']:  # three plateaus cannot show a kink with 3 points per branch
        assert node.exit_status == 510 and fit['reason'] in node.exit_message
    lammps = [n for n in node.called_descendants if n.process_label == 'LammpsCalculation'][0]
    assert 'velocity all create' in lammps.base.repository.get_object_content('tg.in')
