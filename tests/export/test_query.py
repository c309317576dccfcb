"""`load_dataset` on computed values, failed stages and imported values side by side."""

import pytest

from aiida_polyinf.export.query import load_dataset
from aiida_polyinf.export.radonpy import import_radonpy


@pytest.mark.usefixtures('aiida_profile_clean')
def test_dataset_of_a_computed_group(computed_group):
    frame = load_dataset('test/computed')
    assert list(frame['smiles']) == sorted(frame['smiles'])
    assert list(frame.columns[:4]) == ['smiles', 'polymer_uuid', 'source_ids', 'protocol']
    by_id = frame.set_index('source_ids')
    pe, ps, pvc = by_id.loc['test:PE'], by_id.loc['test:PS'], by_id.loc['test:PVC']

    assert pe['density'] == pytest.approx(0.905) and pe['density_count'] == 2 and pe['protocol'] == 'fast'
    assert pe['qmex.homo_eV'] == pytest.approx(-6.2)
    assert pe['uuid.aggregate'] and pe['uuid.qmex'] and pe['missing.qm'] == '' and pe['missing.md'] == ''
    assert str(frame['density_count'].dtype) == 'Int64'

    # The failed stage: empty values and the process' exit status and message.
    assert ps['missing.qm'] == 'failing_qm [310] SCF did not converge'
    assert ps.isna()['qmex.homo_eV'] and ps.isna()['density'] and ps['uuid.qmex'] == ''
    assert pvc['missing.qm'] == 'not computed' and pvc['missing.ff'] == 'not computed'


@pytest.mark.usefixtures('aiida_profile_clean')
def test_trials_filters_and_exit_status(computed_group):
    trials = load_dataset('test/computed', trials=True)
    pe = trials[trials['source_ids'] == 'test:PE']
    assert list(pe['trial']) == [0, 1] and list(pe['seed']) == [100, 101]
    assert list(pe['density']) == pytest.approx([0.9, 0.91])
    assert set(pe['uuid.properties']) and 'density_std' not in trials.columns
    assert 'Rg: not a number' in pe['missing.values'].iloc[0]
    assert len(trials) == 4  # 2 trials of PE + one row each for PS and PVC

    only_qm = load_dataset('test/computed', stage='qm')
    assert 'density' not in only_qm.columns and 'missing.md' not in only_qm.columns
    assert list(load_dataset('test/computed', exit_status=310)['source_ids']) == ['test:PS']
    none = load_dataset('test/computed', protocol='production')
    assert none['density'].isna().all() if 'density' in none.columns else True
    assert load_dataset('test/computed', version='0.0.0-none').filter(like='qmex.').empty
    assert list(load_dataset('test/computed', properties=['density']).filter(regex='^density').columns) == [
        'density', 'density_std', 'density_min', 'density_max', 'density_count'
    ]


@pytest.mark.usefixtures('aiida_profile_clean')
def test_computed_and_imported_side_by_side(computed_group, pi1070_slice):
    report = import_radonpy(pi1070_slice)
    assert report.existing_polymers == 1  # PE (*CC*) is PI1 of PI1070: same node, both sets of values
    frame = load_dataset('radonpy/PI1070')
    pe = frame.set_index('smiles').loc['*CC*']
    assert pe['source_ids'] == 'PI1070:PI1;test:PE'
    assert pe['protocol'] == 'fast' and pe['density'] == pytest.approx(0.905)  # computed here wins by default
    assert pe['radonpy_qm.qm_homo_monomer'] == pytest.approx(-12.03727174) and pe['qmex.homo_eV'] == pytest.approx(-6.2)
    imported = load_dataset('radonpy/PI1070', protocol='external:radonpy').set_index('smiles').loc['*CC*']
    assert imported['density'] == 0.837971504 and imported['protocol'] == 'external:radonpy'
    assert 'qmex.homo_eV' not in load_dataset('radonpy/PI1070', protocol='external:radonpy').columns
