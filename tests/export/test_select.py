"""Selections (aiida_polyinf.export.select): the one query behind `polyinf export` and the web API's search."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from aiida_polyinf.export.query import load_dataset
from aiida_polyinf.export.select import Selection, SelectionError, apply, parse_range
from aiida_polyinf.polymers.search import SearchError, similarity, substructure_mask


def test_search_primitives():
    smiles = ['*CC*', '*CC(*)c1ccccc1', '*CC(*)Cl', '*CC(*)C(=O)OC']
    assert substructure_mask(smiles, 'c1ccccc1').tolist() == [False, True, False, False]
    assert substructure_mask(smiles, '[Cl]').tolist() == [False, False, True, False]
    assert substructure_mask(smiles, '[#0]').all()  # the connection points are dummy atoms
    sim = similarity(smiles, 'c1ccccc1C(*)C*')  # polystyrene in another writing
    assert sim[1] == pytest.approx(1.0) and sim.argmax() == 1 and (sim < 1).sum() == 3
    with pytest.raises(SearchError, match='unparsable SMARTS'):
        substructure_mask(smiles, 'C(((')
    with pytest.raises(SearchError, match='not a repeat unit'):
        similarity(smiles, 'CC')  # no connection points


def test_parse_range():
    assert parse_range('density:1.1:') == ('density', (1.1, None))
    assert parse_range('qmex.homo_eV::-6') == ('qmex.homo_eV', (None, -6.0))
    for bad in ('density', 'density:a:2', ':1:2', 'density:nan:2'):
        with pytest.raises(SelectionError):
            parse_range(bad)


def test_selection_on_a_pi1070_slice(aiida_profile_clean, pi1070_slice):
    from aiida_polyinf.export.radonpy import import_radonpy

    import_radonpy(pi1070_slice, group_label='radonpy/slice')
    frame = load_dataset('radonpy/slice')
    aromatic = apply(frame, Selection(smarts='c1ccccc1'))
    assert 0 < len(aromatic) < len(frame)
    assert substructure_mask(list(aromatic['smiles']), 'c1ccccc1').all()
    dense = apply(frame, Selection(ranges={'density': (1.2, None)}))
    assert (dense['density'] >= 1.2).all() and len(dense) == int((frame['density'] >= 1.2).sum())
    both = apply(frame, Selection(smarts='c1ccccc1', ranges={'density': (1.2, None)}))
    assert set(both['smiles']) == set(aromatic['smiles']) & set(dense['smiles'])
    first = frame['source_ids'].iloc[0].split(';')[0]
    assert apply(frame, Selection(identifier=first))['source_ids'].iloc[0].split(';')[0] == first
    assert apply(frame, Selection(identifier=first.split(':')[1]))['smiles'].tolist() == [frame['smiles'].iloc[0]]
    near = apply(frame, Selection(similar_to=frame['smiles'].iloc[3], min_similarity=0.99))
    assert frame['smiles'].iloc[3] in set(near['smiles'])
    # the imported polymers have QM descriptors (radonpy_qm) and MD aggregates, and no FF stage
    assert len(apply(frame, Selection(stages={'qm': 'done', 'md': 'done'}))) == len(frame)
    assert len(apply(frame, Selection(stages={'ff': 'missing'}))) == len(frame)
    assert len(apply(frame, Selection(stages={'ff': 'failed'}))) == 0
    with pytest.raises(SelectionError, match="unknown value 'densty'"):
        apply(frame, Selection(ranges={'densty': (1, 2)}))
    with pytest.raises(SelectionError, match='none of done, failed, missing'):
        apply(frame, Selection(stages={'qm': 'finished'}))
    with pytest.raises(SelectionError, match='unparsable SMARTS'):
        apply(frame, Selection(smarts='[C'))


def test_export_selection_cli_same_bytes(aiida_profile_clean, pi1070_slice, tmp_path):
    from aiida_polyinf.cli import cmd_root
    from aiida_polyinf.export.dataset import export_dataset
    from aiida_polyinf.export.radonpy import import_radonpy

    import_radonpy(pi1070_slice, group_label='radonpy/slice')
    args = ['export', '--group', 'radonpy/slice', '--smarts', 'c1ccccc1', '--range', 'density:1.0:']
    result = CliRunner().invoke(cmd_root, args + ['--out', str(tmp_path / 'a')])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / 'a' / 'manifest.json').read_text())
    assert manifest['query']['selection'] == {'smarts': 'c1ccccc1', 'ranges': {'density': [1.0, None]}}
    api_like = export_dataset('radonpy/slice', tmp_path / 'b', selection=Selection(smarts='c1ccccc1',
                                                                                    ranges={'density': (1.0, None)}))
    assert (tmp_path / 'a' / 'dataset.csv').read_bytes() == (tmp_path / 'b' / 'dataset.csv').read_bytes()
    assert api_like['files']['dataset.csv']['sha256'] == manifest['files']['dataset.csv']['sha256']
    bad = CliRunner().invoke(cmd_root, ['export', '--group', 'radonpy/slice', '--range', 'nope:1:2', '--out',
                                        str(tmp_path / 'c')])
    assert bad.exit_code != 0 and "unknown value 'nope'" in bad.output
    assert not (tmp_path / 'c' / 'dataset.csv').exists()


def test_stage_states(aiida_profile_clean, computed_group):
    frame = load_dataset('test/computed')
    by_state = {state: sorted(apply(frame, Selection(stages={'qm': state}))['smiles']) for state in ('done', 'failed',
                                                                                                      'missing')}
    assert by_state == {'done': ['*CC*'], 'failed': ['*CC(*)c1ccccc1'], 'missing': ['*CC(*)Cl']}
    assert np.array_equal(apply(frame, Selection(stages={'md': 'done'}))['smiles'], ['*CC*'])
