"""Validation, canonicalisation and capping of repeat units (pure RDKit)."""

import pytest
from rdkit import Chem

from aiida_polyinf.polymers import IntakeError, build_oligomer, parse_repeat_unit


def canon(smiles):
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


# name, repeat unit, CH3-capped monomer (written independently, compared after canonicalisation), formula
POLYMERS = [
    ('PE', '*CC*', 'CCCC', 'C2H4'),
    ('PP', '*CC(*)C', 'CCC(C)C', 'C3H6'),
    ('PS', '*CC(*)c1ccccc1', 'CC(CC)c1ccccc1', 'C8H8'),  # 2-phenylbutane
    ('PMMA', '*CC(*)(C)C(=O)OC', 'CCC(C)(C)C(=O)OC', 'C5H8O2'),
    ('PVC', '*CC(*)Cl', 'CCC(C)Cl', 'C2H3Cl'),
    ('PTFE', '*C(F)(F)C(*)(F)F', 'CC(F)(F)C(C)(F)F', 'C2F4'),
    ('PET', '*OCCOC(=O)c1ccc(cc1)C(*)=O', 'COCCOC(=O)c1ccc(cc1)C(C)=O', 'C10H8O4'),
    ('nylon-6', '*NCCCCCC(*)=O', 'CNCCCCCC(C)=O', 'C6H11NO'),
    ('PC', '*Oc1ccc(cc1)C(C)(C)c1ccc(cc1)OC(*)=O', 'COc1ccc(cc1)C(C)(C)c1ccc(cc1)OC(C)=O', 'C16H14O3'),
    ('PVA', '*CC(*)O', 'CCC(C)O', 'C2H4O'),
    ('PVAc', '*CC(*)OC(C)=O', 'CCC(C)OC(C)=O', 'C4H6O2'),
    ('PEO', '*CCO*', 'CCCOC', 'C2H4O'),
    ('PAN', '*CC(*)C#N', 'CCC(C)C#N', 'C3H3N'),
    ('PLA', '*OC(C)C(*)=O', 'COC(C)C(C)=O', 'C3H4O2'),
    (
        'Kapton',
        '*c1ccc(Oc2ccc(N3C(=O)c4cc5C(=O)N(*)C(=O)c5cc4C3=O)cc2)cc1',
        'Cc1ccc(Oc2ccc(N3C(=O)c4cc5C(=O)N(C)C(=O)c5cc4C3=O)cc2)cc1',
        'C22H10N2O5',
    ),
]


@pytest.mark.parametrize('name,smiles,capped,formula', POLYMERS, ids=[p[0] for p in POLYMERS])
def test_capping(name, smiles, capped, formula):
    unit = parse_repeat_unit(smiles)
    assert unit.formula == formula
    oligomer = build_oligomer(unit, 1)
    assert oligomer.smiles == canon(capped)
    # The capped monomer has exactly the repeat unit's atoms plus two CH3 groups.
    heavy = sum(1 for a in oligomer.mol.GetAtoms() if a.GetAtomicNum() > 1)
    assert heavy == unit.n_heavy_atoms + 2


@pytest.mark.parametrize('name,smiles,capped,formula', POLYMERS, ids=[p[0] for p in POLYMERS])
def test_canonical_identity_is_independent_of_writing(name, smiles, capped, formula):
    mol = Chem.MolFromSmiles(smiles)
    rewritten = Chem.MolToSmiles(mol, canonical=False, doRandom=True, rootedAtAtom=mol.GetNumAtoms() - 1)
    bracketed = smiles.replace('*', '[*]')
    assert parse_repeat_unit(rewritten).smiles == parse_repeat_unit(smiles).smiles
    assert parse_repeat_unit(bracketed).smiles == parse_repeat_unit(smiles).smiles


def test_polystyrene_monomer_is_2_phenylbutane():
    assert build_oligomer('*CC(*)c1ccccc1').smiles == canon('CCC(C)c1ccccc1')


def test_longer_oligomers():
    assert build_oligomer('*CC*', 3).smiles == 'CCCCCCCC'
    trimer = build_oligomer('*CC(*)c1ccccc1', 3)
    assert trimer.smiles == canon('CCC(c1ccccc1)CC(c1ccccc1)CC(C)c1ccccc1')  # CH3-[CH2-CH(Ph)]3-CH3
    assert set(trimer.roles) == {-1, -2, 0, 1, 2}
    # Each unit has 16 atoms (C8H8), each CH3 cap 4.
    for k in range(3):
        assert trimer.roles.count(k) == 16
    assert trimer.roles.count(-1) == trimer.roles.count(-2) == 4


def test_both_connection_points_on_one_atom():
    unit = parse_repeat_unit('*C(*)(F)F')
    assert build_oligomer(unit, 2).smiles == canon('CC(F)(F)C(C)(F)F')


def test_isotopes_are_kept_and_labels_dropped():
    assert parse_repeat_unit('[2H]C([2H])(*)C(*)([2H])[2H]').smiles != parse_repeat_unit('*CC*').smiles
    assert parse_repeat_unit('[1*]CC[2*]').smiles == parse_repeat_unit('*CC*').smiles


def test_stereo_is_kept_in_identity():
    assert parse_repeat_unit('*C[C@H](*)C').smiles != parse_repeat_unit('*C[C@@H](*)C').smiles


@pytest.mark.parametrize(
    'smiles,reason',
    [
        ('', 'empty_smiles'),
        ('*CC(*', 'unparsable_smiles'),
        ('C1CC', 'unparsable_smiles'),
        ('CCCC', 'connection_points'),
        ('*CCO', 'connection_points'),
        ('*CC(*)C*', 'connection_points'),
        ('**', 'connection_points'),
        ('*[Si](C)(C)O*', 'element'),  # PDMS: Si is outside GAFF2
        ('*CC(*)[B](O)O', 'element'),
        ('*CC(*)[N+](C)(C)C', 'charged'),
        ('*CC(*)C(=O)[O-]', 'charged'),
        ('*C[CH](*)', 'radical'),
    ],
)
def test_rejections(smiles, reason):
    with pytest.raises(IntakeError) as info:
        parse_repeat_unit(smiles)
    assert info.value.reason == reason
    assert info.value.message


def test_pdms_reason_names_the_element():
    with pytest.raises(IntakeError, match='element Si not covered by GAFF2'):
        parse_repeat_unit('*[Si](C)(C)O*')


def test_size_limit():
    parse_repeat_unit('*' + 'C' * 10 + '*', max_heavy_atoms=10)
    with pytest.raises(IntakeError, match='11 heavy atoms, the limit is 10') as info:
        parse_repeat_unit('*' + 'C' * 11 + '*', max_heavy_atoms=10)
    assert info.value.reason == 'too_large'


def test_zwitterionic_nitro_is_accepted():
    assert parse_repeat_unit('*CC(*)[N+](=O)[O-]').n_heavy_atoms == 5
