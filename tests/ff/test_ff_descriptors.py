"""GAFF2 typing of a cyclic polymer and the FF descriptors (RadonPy)."""

import pytest

from aiida_polyinf.ff import descriptors as ffd


def test_ring_units():
    assert ffd.ring_units('*CC*') == 5  # 2 backbone atoms: a ring of 10
    assert ffd.ring_units('*Oc1ccc(C(C)(C)c2ccc(OC(=O)*)cc2)cc1') == 2


def test_polystyrene_descriptors():
    smiles, values, reason, seconds = ffd.compute_one('*CC(*)c1ccccc1', timeout=120)
    assert reason is None, reason
    assert values['ff.mean_atomic_mass'] == pytest.approx(104.15 / 16, rel=1e-3)  # C8H8: 16 atoms
    assert values['ff.electrons_per_atom'] == pytest.approx(56 / 16)
    assert 40 < values['ff.mean_k_angle'] < 80
    assert sum(1 for k in values if k.startswith('ffkm.')) > 100


def test_failure_recorded_by_name():
    values, failures, _ = ffd.compute_many(['*CC*', 'not a smiles'], timeout=60, processes=1)
    assert '*CC*' in values and failures['not a smiles'].startswith(('cyclic', 'error'))
