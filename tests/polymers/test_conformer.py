"""Conformers: deterministic for a seed, different across seeds, lowest of several."""

import numpy as np

from aiida_polyinf.polymers import build_oligomer, embed_conformer, lowest_conformer
from aiida_polyinf.polymers.oligomer import mol_from_mapped_smiles


def test_deterministic_for_a_seed():
    mol = build_oligomer('*CC(*)c1ccccc1').mol
    first, second = embed_conformer(mol, seed=7), embed_conformer(mol, seed=7)
    assert first.shape == (24, 3)
    assert np.array_equal(first, second)
    assert not np.allclose(first, embed_conformer(mol, seed=8))


def test_bond_lengths_are_physical():
    oligomer = build_oligomer('*CC*', 2)
    xyz = embed_conformer(oligomer.mol, seed=1)
    for bond in oligomer.mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        length = np.linalg.norm(xyz[i] - xyz[j])
        assert 1.0 < length < 1.6


def test_lowest_of_several_is_not_higher_than_one():
    mol = build_oligomer('*CCCCO*').mol
    _, e1 = lowest_conformer(mol, num_conformers=1, seed=3)
    _, e5 = lowest_conformer(mol, num_conformers=5, seed=3)
    assert e5 <= e1 + 1e-9


def test_mapped_smiles_restores_atom_order():
    oligomer = build_oligomer('*Oc1ccc(cc1)C(C)(C)c1ccc(cc1)OC(*)=O')
    mol = mol_from_mapped_smiles(oligomer.smiles_mapped)
    assert [a.GetSymbol() for a in mol.GetAtoms()] == oligomer.symbols
    bonds = {tuple(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))) for b in mol.GetBonds()}
    expected = {tuple(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))) for b in oligomer.mol.GetBonds()}
    assert bonds == expected
