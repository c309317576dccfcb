"""GAFF2 typing with QM charges mapped onto RadonPy's monomer, chain and terminators (real RadonPy, no QM)."""

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdPartialCharges

from aiida_polyinf.ff import typing as T
from aiida_polyinf.polymers.oligomer import CAP_HEAD, CAP_TAIL, build_oligomer

PS = '*CC(*)c1ccccc1'


def fake_resp(smiles, n=1):
    """RESP-like charges of the capped n-mer: Gasteiger plus a distinct offset per site, summing to zero."""
    olig = build_oligomer(smiles, n)
    mol = Chem.Mol(olig.mol)
    rdPartialCharges.ComputeGasteigerCharges(mol)
    q = np.array([a.GetDoubleProp('_GasteigerCharge') for a in mol.GetAtoms()]) + 1e-3 * np.arange(mol.GetNumAtoms())
    return olig, q - q.mean()


def expected_charges(chain, olig, q):
    """Each chain atom's charge from the QM picture alone: its site's charge, plus the charge of the cap its site is
    bonded to in the QM molecule when, in the chain, that bond became a bond to the next repeat unit."""
    qm = olig.mol
    roles = olig.roles
    cap_charge = {side: sum(q[i] for i, r in enumerate(roles) if r == side) for side in (CAP_HEAD, CAP_TAIL)}
    out = []
    for atom in chain.GetAtoms():
        site = atom.GetIntProp(T.SITE)
        assert site >= 0, 'every chain atom names its QM site'
        value = q[site]
        if roles[site] >= 0:
            qm_caps = {roles[n.GetIdx()] for n in qm.GetAtomWithIdx(site).GetNeighbors() if roles[n.GetIdx()] < 0}
            chain_neighbour_roles = [roles[n.GetIntProp(T.SITE)] for n in atom.GetNeighbors()]
            for side in qm_caps:
                # in the chain this atom is bonded either to a terminator atom (a cap site) or to another unit
                if not any(r < 0 for r in chain_neighbour_roles):
                    value += cap_charge[side]
        out.append(value)
    return np.array(out)


def test_polystyrene_every_atom_and_neutral():
    olig, q = fake_resp(PS)
    typed = T.type_polymer(PS, q, olig.roles, olig.smiles_mapped, dp=6, seed=11)
    chain = typed.chain
    assert typed.capped is not None and typed.monomer_failure is None
    assert chain.GetNumAtoms() == 6 * 16 + 2 * 4
    charges = np.array([a.GetDoubleProp(T.CHARGE) for a in chain.GetAtoms()])
    assert abs(charges.sum()) < 1e-6
    np.testing.assert_allclose(charges, expected_charges(chain, olig, q), atol=1e-12)
    # every repeat unit site appears once per unit, every cap site once per chain end
    sites = [a.GetIntProp(T.SITE) for a in chain.GetAtoms()]
    for s, role in enumerate(olig.roles):
        assert sites.count(s) == (6 if role >= 0 else 1)
    assert all(a.HasProp('ff_type') for a in chain.GetAtoms())
    types = {chain.GetAtomWithIdx(i).GetProp('ff_type') for i in range(chain.GetNumAtoms())}
    assert {'c3', 'ca', 'ha', 'hc'} <= types


def test_inner_units_are_neutral_and_ends_match_the_capped_molecule():
    olig, q = fake_resp(PS)
    typed = T.type_polymer(PS, q, olig.roles, olig.smiles_mapped, dp=5, seed=2)
    by_residue = {}
    for atom in typed.chain.GetAtoms():
        res = atom.GetPDBResidueInfo()
        by_residue.setdefault((res.GetResidueName(), res.GetResidueNumber()), []).append(atom.GetDoubleProp(T.CHARGE))
    sums = {k: sum(v) for k, v in by_residue.items()}
    inner = [s for (name, _), s in sums.items() if name not in ('TU0', 'TU1')]
    assert len(inner) == 5
    assert sorted(abs(s) < 1e-12 for s in inner).count(True) >= 3  # inner units exactly neutral


@pytest.mark.parametrize('smiles', ['*CC*', PS, '*C=CCC*'])
def test_other_routes_are_neutral(smiles):
    olig, q = fake_resp(smiles, n=2)
    assert abs(T.type_polymer(smiles, q, olig.roles, olig.smiles_mapped, dp=4, seed=1).total_charge) < 1e-6
    olig, q = fake_resp(smiles)
    assert abs(T.type_polymer(smiles, q, olig.roles, olig.smiles_mapped, dp=4, seed=1, terminator='H').total_charge) < 1e-6
    assert abs(T.type_polymer(smiles, charge_model='gasteiger', dp=4, seed=1).total_charge) < 1e-6


def test_monomer_typing_failure_falls_back_to_the_chain(monkeypatch):
    olig, q = fake_resp('*C=CCC*')

    def fail(*args, **kwargs):
        raise T.TypingError('typing', 'forced')

    monkeypatch.setattr(T, 'type_capped_monomer', fail)
    typed = T.type_polymer('*C=CCC*', q, olig.roles, olig.smiles_mapped, dp=4, seed=1)
    assert typed.monomer_failure == 'monomer_typing'
    assert typed.capped is None
    assert all(a.HasProp('ff_type') for a in typed.chain.GetAtoms())


def test_chain_typing_failure_is_named(monkeypatch):
    ff = T.forcefield()
    monkeypatch.setattr(ff, 'ff_assign', lambda mol, **kw: False)
    with pytest.raises(T.TypingError) as err:
        T.type_polymer('*CC*', charge_model='gasteiger', dp=3, seed=1)
    assert err.value.reason == 'typing'


def test_timeout_is_named(monkeypatch):
    import time

    from radonpy.core import poly

    monkeypatch.setattr(poly, 'polymerize_rw', lambda *a, **k: time.sleep(5))
    with pytest.raises(T.TypingError) as err:
        T.type_polymer('*CC*', charge_model='gasteiger', dp=3, seed=1, timeout=0.5)
    assert err.value.reason == 'timeout'


def test_bad_input_is_named():
    olig, q = fake_resp('*CC*')
    with pytest.raises(T.TypingError) as err:
        T.type_polymer('*CC*', q[:-1], olig.roles, olig.smiles_mapped, dp=3)
    assert err.value.reason == 'bad_input'
    with pytest.raises(T.TypingError) as err:
        T.type_polymer('*CC*', q, olig.roles, olig.smiles_mapped, dp=3, charge_model='mulliken')
    assert err.value.reason == 'bad_input'


def test_same_seed_same_chain():
    a = T.type_polymer(PS, charge_model='gasteiger', dp=4, seed=5).chain.GetConformer().GetPositions()
    b = T.type_polymer(PS, charge_model='gasteiger', dp=4, seed=5).chain.GetConformer().GetPositions()
    np.testing.assert_allclose(a, b)
