"""The ML benchmarks read their data from the provenance graph: PI1070 imported, then loaded by group label."""

import json
import pathlib

import numpy as np
import pytest
from click.testing import CliRunner

from aiida_polyinf.export.radonpy import import_radonpy
from aiida_polyinf.benchmarking import load

ROOT = pathlib.Path(__file__).resolve().parents[2]
PI1070 = ROOT.parent / 'shared' / 'data' / 'radonpy' / 'PI1070.csv'


@pytest.fixture
def imported_head(aiida_profile_clean, tmp_path):
    """The first 150 rows of PI1070, imported into the group `radonpy/head`; returns the CSV slice."""
    if not PI1070.exists():
        pytest.skip(f'{PI1070} is absent')
    lines = PI1070.read_text(encoding='utf-8').splitlines(keepends=True)
    path = tmp_path / 'PI1070_head.csv'
    path.write_text(''.join(lines[:151]), encoding='utf-8')
    import_radonpy(path, group_label='radonpy/head')
    return path


def test_graph_dataset_matches_the_csv_adapter(imported_head):
    path = imported_head
    from_graph = load('radonpy/head')
    from_csv = load(path)
    assert len(from_graph) == len(from_csv) == 150
    assert list(from_graph['smiles']) == list(from_csv['smiles'])
    for column in ('density', 'bulk_modulus', 'radonpy_qm.qm_homo_monomer'):
        assert np.allclose(from_graph[column].astype(float), from_csv[column].astype(float), equal_nan=True), column


def test_bench_run_from_a_group(imported_head, tmp_path):
    from aiida_polyinf.cli import cmd_root

    out = tmp_path / 'bench'
    result = CliRunner().invoke(cmd_root, ['bench', 'run', 'b', '--target', 'density', '--descriptors', 'qm,ecfp',
                                           '--models', 'pls', '--source', 'radonpy/head', '--out', str(out)])
    assert result.exit_code == 0, result.output
    results = json.loads((out / 'results.json').read_text())
    assert results
    assert any(p.suffix == '.png' for p in out.iterdir())
