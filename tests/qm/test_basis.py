"""Basis sets per element: every element intake accepts has a basis (and its ECP) in every shipped QM protocol, names
resolve or are refused at set-up, and the ECP is applied where the basis needs one. Cheap: PySCF's library and
``Mole.build`` only, no SCF."""

import pytest

pytest.importorskip('pyscf')

from aiida_polyinf import protocols  # noqa: E402
from aiida_polyinf.polymers import ALLOWED_ELEMENTS  # noqa: E402
from aiida_polyinf.qm import basis as B  # noqa: E402
from aiida_polyinf.qm import driver  # noqa: E402


@pytest.mark.parametrize('given, pyscf_name', [
    ('6-31g(d)', '6-31g*'), ('6-31G(d,p)', '6-31g**'), ('6-31+G(d)', '6-31+g*'), ('6-311G(d,p)', '6-311g**'),
    ('6-31g*', '6-31g*'), (' Def2-SVP ', 'def2-svp'), ('6-311g(2d,p)', '6-311g(2d,p)'), ('LANL2DZ', 'lanl2dz'),
])
def test_canonical_basis_names(given, pyscf_name):
    assert driver.canonical_basis_name(given) == pyscf_name


@pytest.mark.parametrize('protocol', protocols.names('qm'))
def test_every_allowed_element_has_a_basis_in_every_protocol(protocol):
    """The issue: `fast` failed on poly(vinyl bromide) with "Basis set not found for Br in 6-31g"."""
    parameters = protocols.parameters('qm', protocol)
    assert B.unsupported(parameters, ALLOWED_ELEMENTS) == {}
    assert protocols.qm_unsupported(protocol, ALLOWED_ELEMENTS) == {}
    assert all(protocols.qm_supports(protocol, element) for element in ALLOWED_ELEMENTS)
    for block in (parameters['method'], parameters['properties']['resp']):
        assert block.get('enabled', True)  # RESP is part of every protocol: its basis counts
        plan, ecp = driver.basis_plan(block, ALLOWED_ELEMENTS)
        for element in ALLOWED_ELEMENTS:
            assert B.has_basis(plan[element], element), (protocol, element, plan[element])
            # an ECP exactly where the element's basis is made for one, and the same one
            assert (element in ecp) == B.has_ecp(plan[element], element), (protocol, element)
        assert set(ecp) == {'I'}  # def2 (Rb-Rn) and LANL2DZ carry an ECP for iodine; Br stays all-electron


def test_the_chosen_bases():
    fast = protocols.parameters('qm', 'fast')
    assert driver.basis_plan(fast['method'], ['C', 'Br', 'I']) == (
        {'Br': '6-31g*', 'C': '6-31g', 'I': 'def2-svp'}, {'I': 'def2-svp'})
    for protocol in protocols.names('qm'):
        resp = protocols.parameters('qm', protocol)['properties']['resp']
        assert driver.basis_plan(resp, ['C', 'Br', 'I']) == (
            {'Br': '6-31g*', 'C': '6-31g*', 'I': 'lanl2dz'}, {'I': 'lanl2dz'})
    assert driver.basis_plan(protocols.parameters('qm', 'moderate')['method'], ['Br', 'I']) == (
        {'Br': '6-31g*', 'I': 'def2-svp'}, {'I': 'def2-svp'})
    assert driver.basis_plan(protocols.parameters('qm', 'precise')['method'], ['Br', 'I']) == (
        {'Br': 'def2-tzvpd', 'I': 'def2-tzvpd'}, {'I': 'def2-tzvpd'})


@pytest.mark.parametrize('protocol', protocols.names('qm'))
def test_per_element_settings_build_in_pyscf(protocol):
    """The molecule the driver builds for CH2BrI at each protocol (main method and RESP): iodine with its ECP (28
    core electrons in def2, 46 in LANL2DZ), bromine all-electron. `moderate` and `precise` are checked here without
    running their (slow) QM."""
    inp = driver.deep_merge(driver.DEFAULT_INPUT, protocols.parameters('qm', protocol))
    inp['molecule'] = {'symbols': ['C', 'Br', 'I', 'H', 'H'], 'charge': 0, 'spin': 0,
                       'coords_angstrom': [[0, 0, 0], [1.94, 0, 0], [-0.7, 2.0, 0], [-0.36, -0.5, 0.9],
                                           [-0.36, -0.5, -0.9]]}
    inp['verbose'] = 0
    coords = inp['molecule']['coords_angstrom']
    for block, core in ((inp['method'], 28), (inp['properties']['resp'], 46)):
        mol = driver.build_mol(inp, coords, method=block)
        assert mol.atom_nelec_core(2) == core, (protocol, block['basis'])
        assert mol.atom_nelec_core(1) == 0 and mol.atom_charges()[2] == 53 - core
        assert mol.nelectron == 6 + 35 + 53 + 2 - core


def test_what_cannot_be_computed_is_named():
    fast = protocols.parameters('qm', 'fast')
    no_br = protocols.merge(fast, {'method': {'basis_by_element': {'Br': None}}})
    assert set(B.unsupported(no_br, ['C', 'H', 'Br'])) == {'Br'}
    assert '6-31g' in B.unsupported(no_br, ['Br'])['Br'] and 'method' in B.unsupported(no_br, ['Br'])['Br']
    # 6-31G(d,p) is 6-31G** in PySCF, which has no Br
    assert 'Br' in B.unsupported(protocols.merge(fast, {'method': {'basis': '6-31g(d,p)',
                                                                   'basis_by_element': {'Br': None}}}), ['Br'])
    precise = protocols.parameters('qm', 'precise')
    why = B.unsupported(protocols.merge(precise, {'method': {'ecp_by_element': {'I': None}}}), ['I'])['I']
    assert 'def2-tzvpd' in why and 'effective core potential' in why
    wrong_ecp = protocols.merge(fast, {'properties': {'resp': {'basis_by_element': {'I': 'def2-svp'}}}})
    assert 'RESP' in B.unsupported(wrong_ecp, ['I'])['I']
    all_electron_with_ecp = protocols.merge(fast, {'method': {'basis_by_element': {'I': '6-311g**'}}})
    assert 'all-electron' in B.unsupported(all_electron_with_ecp, ['I'])['I']
    # RESP switched off: its basis does not count
    no_resp = protocols.merge(wrong_ecp, {'properties': {'resp': {'enabled': False}}})
    assert B.unsupported(no_resp, ['I']) == {}


def test_names_resolve_or_are_refused_at_set_up():
    moderate = protocols.parameters('qm', 'moderate')
    given = protocols.merge(moderate, {'method': {'basis': '6-31G(d)', 'basis_by_element': {'br': '6-31G(d)'}},
                                       'properties': {'resp': {'basis': '6-31g(d)'}}})
    resolved = B.resolve(given)
    assert resolved['method']['basis'] == '6-31g*' and resolved['method']['basis_by_element'] == {
        'I': 'def2-svp', 'Br': '6-31g*'}
    assert resolved['properties']['resp']['basis'] == '6-31g*'
    assert given['method']['basis'] == '6-31G(d)'  # a copy: the protocol's dict is left alone
    for bad, words in (({'method': {'basis': '6-31gx'}}, "method basis '6-31gx'"),
                       ({'method': {'basis_by_element': {'I': 'def2-svx'}}}, "'def2-svx' for I"),
                       ({'properties': {'resp': {'ecp_by_element': {'I': '6-31g*'}}}}, "ECP '6-31g*' for I"),
                       ({'method': {'basis_by_element': {'Xx': 'sto-3g'}}}, "'Xx' is not an element")):
        with pytest.raises(B.BasisError, match=words.replace('*', r'\*').replace('(', r'\(')):
            B.resolve(protocols.merge(moderate, bad))
    with pytest.raises(protocols.ProtocolError, match='QM protocol moderate'):
        protocols.qm_parameters('moderate', {'qm': {'parameters': {'method': {'basis': '6-31gx'}}}})
    with pytest.raises(B.BasisError, match=r'I: QM protocol fast cannot compute it'):
        B.check(protocols.merge(protocols.parameters('qm', 'fast'), {'method': {'basis_by_element': {'I': None}}}),
                ['C', 'H', 'I'], 'fast')


def test_job_input_keeps_the_entries_of_its_elements_only():
    fast = protocols.parameters('qm', 'fast')
    polyethylene = B.check(fast, ['C', 'H'], 'fast')
    assert 'basis_by_element' not in polyethylene['method'] and 'ecp_by_element' not in polyethylene['method']
    assert 'basis_by_element' not in polyethylene['properties']['resp']
    # the rest is the protocol's: a polymer without Br or I gets the job input it had before the per-element entries
    before = protocols.merge(fast, {})
    for block in (before['method'], before['properties']['resp']):
        del block['basis_by_element'], block['ecp_by_element']
    assert polyethylene == before
    vinyl_bromide = B.check(fast, ['C', 'H', 'Br'], 'fast')
    assert vinyl_bromide['method']['basis_by_element'] == {'Br': '6-31g*'}
    assert 'ecp_by_element' not in vinyl_bromide['method']
    vinyl_iodide = B.check(fast, ['C', 'H', 'I'], 'fast')
    assert vinyl_iodide['method']['ecp_by_element'] == {'I': 'def2-svp'}
    assert vinyl_iodide['properties']['resp']['basis_by_element'] == {'I': 'lanl2dz'}


def test_campaign_check_and_overrides():
    assert protocols.qm_unsupported('fast', ['I'], {'stages': ['intake']}) == {}  # no QM stage: nothing to compute
    overrides = {'qm': {'parameters': {'method': {'basis_by_element': {'I': None}}}}}
    assert set(protocols.qm_unsupported('fast', ['C', 'I'], overrides)) == {'I'}
    assert not protocols.qm_supports('fast', 'I', overrides)
    # a user's override may name any element in the per-element maps (their keys are element symbols)
    ok = {'qm': {'parameters': {'method': {'basis_by_element': {'Cl': 'def2-svp'}},
                                'properties': {'resp': {'ecp_by_element': {'I': 'lanl2dz'}}}}}}
    assert protocols.validate_overrides(ok, 'moderate') == ok
    with pytest.raises(protocols.ProtocolError, match='basis_by_elemnt'):
        protocols.validate_overrides({'qm': {'parameters': {'method': {'basis_by_elemnt': {}}}}}, 'moderate')
