"""The dataset adapter and the structure descriptors, on a tiny CSV and on PI1070 when it is there."""

import pathlib

import numpy as np
import pandas as pd
import pytest

from aiida_polyinf.ml import data as D
from aiida_polyinf.ml import descriptors as F

from aiida_polyinf.datasets import PI1070  # noqa: E402 (shipped inside the package)


@pytest.fixture
def tiny_csv(tmp_path):
    rows = [
        {'monomer_ID': 1, 'smiles': '*CC(*)c1ccccc1', 'density': 1.05, 'density_std': 0.0, 'density_count': 2,
         'qm_homo_monomer': -7.1, 'Cp': 1200.0, 'refractive_index': 1.59},
        {'monomer_ID': 2, 'smiles': '*CC*', 'density': 0.85, 'density_std': 0.01, 'density_count': 5,
         'qm_homo_monomer': -8.9, 'Cp': 1900.0, 'refractive_index': 1.49},
        {'monomer_ID': 3, 'smiles': '[*]CC([*])C(=O)OC', 'density': 1.18, 'density_std': 0.02, 'density_count': 4,
         'qm_homo_monomer': -7.9, 'Cp': 1450.0, 'refractive_index': 1.49},
    ]
    path = tmp_path / 'tiny.csv'
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_adapter_contract(tiny_csv, tmp_path):
    frame = D.load(tiny_csv)
    assert list(frame['smiles']) == sorted(frame['smiles'])
    assert {'smiles', 'polymer_uuid', 'source_ids', 'protocol', 'density', 'density_std', 'density_count',
            'radonpy_qm.qm_homo_monomer'} <= set(frame.columns)
    assert frame['protocol'].eq('external:radonpy').all() and frame['polymer_uuid'].isna().all()
    assert '*CC(*)C(=O)OC' in set(frame['smiles'])  # [*] canonicalised
    std = D.pooled_std(frame, 'density')
    pooled = np.sqrt((4 * 0.01**2 + 3 * 0.02**2) / 7)
    assert std[list(frame['source_ids']).index('1')] == pytest.approx(pooled)  # _count <= 2: pooled


def test_md_set_excludes_leaks(tiny_csv):
    frame = D.load(tiny_csv)
    cols = F.md_columns(frame, 'density')
    assert 'density' not in cols and 'refractive_index' not in cols and 'Cp' in cols


def test_structure_descriptors_cached(tiny_csv, tmp_path):
    frame = D.load(tiny_csv)
    desc = F.Descriptors(frame, cache=tmp_path / 'cache', progress=False)
    x, names = desc.matrix('ecfp')
    assert x.shape == (3, 2048) and set(np.unique(x)) <= {0, 1}
    assert (tmp_path / 'cache' / 'ecfp-r2-2048-v1.pkl').exists()
    again = F.Descriptors(frame, cache=tmp_path / 'cache', progress=False).matrix('ecfp')[0]
    np.testing.assert_array_equal(x, again)
    x2d, _ = desc.matrix('2dfp')
    assert x2d.shape[0] == 3 and np.isfinite(x2d).all()
    sim = F.mean_similarity(x.astype(np.uint8))
    assert sim.shape == (3,) and ((sim >= 0) & (sim <= 1)).all()
    qm, names = desc.matrix('radonpy_qm+md', target='density')
    assert 'radonpy_qm.qm_homo_monomer' in names and 'md.Cp' in names and 'md.refractive_index' not in names


def test_tanimoto_hand_computed():
    bits = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]], dtype=np.uint8)
    sim = F.tanimoto_matrix(bits)
    assert sim[0, 1] == pytest.approx(1 / 3) and sim[0, 2] == 0 and sim[1, 1] == 1


@pytest.mark.skipif(not PI1070.exists(), reason='PI1070 not present')
def test_pi1070_loads():
    frame = D.load(PI1070)
    assert len(frame) == 1077 and frame['smiles'].is_unique
    assert frame['density'].notna().all()
