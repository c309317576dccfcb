"""The intake work chain: polymer -> capped 3D oligomer, with provenance."""

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_polyinf.calculations.intake import register_polymer
from aiida_polyinf.workchains.intake import IntakeWorkChain


@pytest.fixture
def polystyrene(aiida_profile):
    return register_polymer(orm.Str('*CC(*)c1ccccc1'))


def test_intake_builds_capped_monomer(polystyrene):
    results, node = run_get_node(IntakeWorkChain, polymer=polystyrene, seed=orm.Int(5))
    assert node.is_finished_ok
    structure = results['structure']
    assert len(structure.sites) == 24
    assert structure.get_formula() == 'C10H14'
    assert structure.base.attributes.get('smiles') == 'CCC(C)c1ccccc1'
    assert structure.base.attributes.get('conformer_seed') == 5
    assert len(structure.base.attributes.get('atom_roles')) == 24
    # Provenance: the structure was made by build_oligomer, called by the work chain, from the polymer.
    creator = structure.creator
    assert creator.process_label == 'build_oligomer'
    assert creator.inputs.polymer.uuid == polystyrene.uuid
    assert creator.caller.uuid == node.uuid


def test_intake_is_deterministic_for_a_seed(polystyrene):
    first = run_get_node(IntakeWorkChain, polymer=polystyrene, seed=orm.Int(9))[0]['structure']
    second = run_get_node(IntakeWorkChain, polymer=polystyrene, seed=orm.Int(9))[0]['structure']
    assert np.array_equal([s.position for s in first.sites], [s.position for s in second.sites])


def test_trimer(polystyrene):
    structure = run_get_node(IntakeWorkChain, polymer=polystyrene, n=orm.Int(3), seed=orm.Int(5))[0]['structure']
    assert structure.get_formula() == 'C26H30'
    assert structure.base.attributes.get('n_repeat_units') == 3
