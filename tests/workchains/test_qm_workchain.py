"""QmWorkChain end to end on butane (CH3-capped polyethylene) with the fast protocol: real PySCF, no mocks."""

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_polyinf.calculations.intake import register_polymer
from aiida_polyinf.workchains.qm import QmWorkChain


@pytest.mark.slow
def test_qm_fast_on_capped_polyethylene(polyinf_codes):
    polymer = register_polymer(orm.Str('*CC*'))
    builder = QmWorkChain.get_builder_from_protocol(polyinf_codes['pyscf'], polymer, protocol='fast')
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message

    structure = results['structure']
    assert structure.get_formula() == 'C4H10'
    descriptors = results['descriptors'].get_dict()
    assert descriptors['protocol'] == 'fast' and descriptors['descriptor_set'] == 'qmex'
    assert descriptors['settings']['versions']['pyscf'].startswith('2.14')
    assert descriptors['units']['homo_eV'] == 'eV'
    assert descriptors['homo_eV'] < descriptors['lumo_eV']
    assert descriptors['gap_eV'] == pytest.approx(descriptors['lumo_eV'] - descriptors['homo_eV'], abs=1e-6)
    assert descriptors['polarizability_iso_bohr3'] > 20
    assert 'solvation_energy_water_kcal_mol' in descriptors and 'solvation_energy_octanol_kcal_mol' in descriptors

    charges = results['charges'].get_array('charges')
    assert charges.shape == (14,)
    assert abs(charges.sum()) < 1e-6
    # Butane is symmetric: its two CH3 carbons, and its two CH2 carbons, get the same charge.
    symbols = results['charges'].base.attributes.get('symbols')
    carbons = sorted(charges[i] for i, s in enumerate(symbols) if s == 'C')
    assert carbons[0] == pytest.approx(carbons[1], abs=1e-4) and carbons[2] == pytest.approx(carbons[3], abs=1e-4)

    # Provenance: descriptors and charges come from a calcfunction that takes the polymer as a direct input.
    creator = results['descriptors'].creator
    assert creator.process_label == 'qm_descriptors' and creator.inputs.polymer.uuid == polymer.uuid
    assert results['charges'].creator.uuid == creator.uuid
    calcjob = next(d for d in node.called_descendants if d.process_label == 'PyscfCalculation')
    assert calcjob.is_finished_ok
    assert 'driver.py' in calcjob.base.repository.list_object_names()
