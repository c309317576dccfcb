"""One polymer per halogen through the QM stage at `fast` (real PySCF), then the FF stage's typing with its charges.

Issue #18: `fast` failed on poly(vinyl bromide) (no Br in 6-31G) and nothing computed iodine. Each element now gets a
basis (and iodine its ECP) from the protocol, recorded per element on the descriptors.
"""

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_polyinf.calculations.intake import register_polymer
from aiida_polyinf.calculations.md import ff_descriptors
from aiida_polyinf.workchains.qm import QmWorkChain

#: The `fast` level with the costly properties off (as tests/workchains/test_caching.py): two optimisation steps, no
#: polarizability, PCM, ions, ESP surface or bond orders; the geometry, the RESP charges and the descriptors of the
#: final SCF stay.
CHEAP = {
    'optimization': {'max_steps': 2},
    'properties': {
        'polarizability': False, 'solvation': None, 'ionization': False, 'esp_surface': False, 'bond_orders': False,
        'volume_grid_spacing_bohr': 0.6,
    },
}

#: element: (repeat unit, basis of the element in the main method, its ECP, its basis in RESP, its ECP in RESP)
HALOGENS = {
    'F': ('*CC(*)F', '6-31g', None, '6-31g*', None),
    'Cl': ('*CC(*)Cl', '6-31g', None, '6-31g*', None),
    'Br': ('*CC(*)Br', '6-31g*', None, '6-31g*', None),
    'I': ('*CC(*)I', 'def2-svp', 'def2-svp', 'lanl2dz', 'lanl2dz'),
}
GAFF2_TYPE = {'F': 'f', 'Cl': 'cl', 'Br': 'br', 'I': 'i'}


@pytest.mark.slow
@pytest.mark.parametrize('element', list(HALOGENS))
def test_halogen_polymer_through_qm_and_ff_at_fast(polyinf_codes, element):
    from aiida_polyinf.ff.typing import type_polymer

    smiles, basis, ecp, resp_basis, resp_ecp = HALOGENS[element]
    polymer = register_polymer(orm.Str(smiles))
    builder = QmWorkChain.get_builder_from_protocol(
        polyinf_codes['pyscf'], polymer, protocol='fast', overrides={'parameters': CHEAP}
    )
    # the job's input holds the per-element entries of this molecule's elements only
    method = builder.pyscf.pyscf.parameters['method']
    assert method.get('basis_by_element', {}) == ({element: basis} if basis != '6-31g' else {})
    assert method.get('ecp_by_element', {}) == ({element: ecp} if ecp else {})
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message

    structure = results['structure']
    assert structure.get_formula() == f'C4H9{element}'
    symbols = [site.kind_name for site in structure.sites]

    descriptors = results['descriptors'].get_dict()
    assert descriptors['protocol'] == 'fast'
    assert descriptors['homo_eV'] < descriptors['lumo_eV'] and descriptors['dipole_moment_debye'] > 0.5
    settings = descriptors['settings']
    assert settings['basis'] == {'C': '6-31g', 'H': '6-31g', element: basis}
    assert settings.get('ecp', {}) == ({element: ecp} if ecp else {})
    assert settings['resp_basis'] == {'C': '6-31g*', 'H': '6-31g*', element: resp_basis}
    assert settings.get('resp_ecp', {}) == ({element: resp_ecp} if resp_ecp else {})
    expected_electrons = 4 * 6 + 9 + {'F': 9, 'Cl': 17, 'Br': 35, 'I': 53 - 28}[element]
    assert descriptors['n_electrons'] == expected_electrons  # iodine: its 28 def2-ECP core electrons are not counted

    charges = results['charges'].get_array('charges')
    assert charges.shape == (14,) and abs(charges.sum()) < 1e-6
    halogen = symbols.index(element)
    assert -0.6 < charges[halogen] < 0.1, charges[halogen]

    # The FF stage: GAFF2 types every atom of a 3-mer with these charges, the halogen as GAFF2's own type.
    ff = ff_descriptors(polymer, results['charges'], orm.Dict({'n_units': 3, 'protocol': 'fast', 'seed': 5}))
    values = ff['ff_descriptors'].get_dict()
    assert ff['ff_descriptors'].creator.is_finished_ok
    assert np.isfinite([v for k, v in values.items() if k.startswith('ffresp')]).all()
    attributes = results['charges'].base.attributes
    typed = type_polymer(polymer.smiles, charges, attributes.get('atom_roles'), attributes.get('smiles_mapped'),
                         dp=3, seed=5)
    types = {atom.GetProp('ff_type') for atom in typed.chain.GetAtoms() if atom.GetSymbol() == element}
    assert types == {GAFF2_TYPE[element]}, types
