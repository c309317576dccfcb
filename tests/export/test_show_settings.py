"""`polyinf show` lists the settings of a values Dict one per line; the QM basis of each element reads as pairs."""

import pytest
from aiida import orm
from aiida.engine import calcfunction

from aiida_polyinf.data.values import values_dict


@pytest.mark.usefixtures('aiida_profile_clean')
def test_show_lists_the_basis_of_each_element():
    from aiida_polyinf.campaign.intake import import_rows
    from aiida_polyinf.export.show import describe

    polymer = import_rows([{'id': 'PVI', 'smiles': '*CC(*)I'}], 'test/show', source='test').polymers[0]

    @calcfunction
    def qm_descriptors(polymer):
        settings = {'geometry_converged': True, 'basis': {'C': '6-31g', 'H': '6-31g', 'I': 'def2-svp'},
                    'ecp': {'I': 'def2-svp'}, 'resp_basis': {'C': '6-31g*', 'H': '6-31g*', 'I': 'lanl2dz'},
                    'resp_ecp': {'I': 'lanl2dz'}, 'plateaus': list(range(10))}
        return {'descriptors': values_dict({'homo_eV': -6.6}, units={'homo_eV': 'eV'}, protocol='fast',
                                           descriptor_set='qmex', settings=settings)}

    qm_descriptors(polymer)
    lines = describe(polymer.pk).splitlines()
    settings = {line.split()[0]: line.split(None, 1)[1] for line in lines[lines.index('      settings') + 1:]}
    assert settings['basis'] == 'C 6-31g, H 6-31g, I def2-svp'
    assert settings['ecp'] == 'I def2-svp'
    assert settings['resp_basis'] == 'C 6-31g*, H 6-31g*, I lanl2dz' and settings['resp_ecp'] == 'I lanl2dz'
    assert settings['geometry_converged'] == 'True' and settings['plateaus'] == '[10 values]'
