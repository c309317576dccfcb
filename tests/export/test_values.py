"""The values-Dict convention."""

import math

import pytest

from aiida_polyinf.common import values as V
from aiida_polyinf.data.values import values_dict


def test_build_values_reserved_keys_units_and_missing():
    attributes = V.build_values({'density': 1.0, 'Rg': math.nan, 'density_count': 3}, protocol='fast', seed=7,
                                trial=1, missing={'Cp': 'trajectory too short'})
    assert attributes['density'] == 1.0 and attributes['density_count'] == 3
    assert attributes['units'] == {'density': 'g/cm^3', 'density_count': ''}
    assert attributes['_missing'] == {'Cp': 'trajectory too short', 'Rg': 'not a number'}
    assert (attributes['protocol'], attributes['seed'], attributes['trial']) == ('fast', 7, 1)
    values, meta = V.split_values(attributes)
    assert values == {'density': 1.0, 'density_count': 3}
    assert meta['protocol'] == 'fast' and 'units' in meta


def test_build_values_refuses_reserved_names_and_non_numbers():
    with pytest.raises(ValueError):
        V.build_values({'protocol': 1.0})
    with pytest.raises(TypeError):
        V.build_values({'density': 'high'})


def test_values_dict_records_the_package_version():
    from aiida_polyinf import __version__

    node = values_dict({'homo_eV': -6.1}, units={'homo_eV': 'eV'}, descriptor_set='qmex', protocol='fast')
    assert node['version'] == __version__ and node['descriptor_set'] == 'qmex' and node['units'] == {'homo_eV': 'eV'}


def test_stage_of_process():
    assert V.stage_of_process('QmWorkChain') == 'qm'
    assert V.stage_of_process('anything', 'md') == 'md'
    assert V.stage_of_link('aggregate') == 'md'
