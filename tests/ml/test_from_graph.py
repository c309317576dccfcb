"""The ML benchmarks read their data from the provenance graph and record themselves in it.

PI1070 (shipped in the package) is imported, a 150-row slice of it into a group; ``polyinf bench run --group``
stores the exported table with its manifest, runs each task as an ``ml_benchmark_task`` calcfunction with that
table as input, and records the uuids it came from in its results.
"""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from aiida_polyinf.benchmarking import load
from aiida_polyinf.datasets import PI1070
from aiida_polyinf.export.radonpy import import_radonpy

ARGS = ['--target', 'density', '--descriptors', 'radonpy_qm,ecfp', '--models', 'pls,krr']


@pytest.fixture
def imported_head(aiida_profile_clean, tmp_path):
    """The first 150 rows of PI1070, imported into the group `radonpy/head`; returns the CSV slice."""
    lines = PI1070.read_text(encoding='utf-8').splitlines(keepends=True)
    path = tmp_path / 'PI1070_head.csv'
    path.write_text(''.join(lines[:151]), encoding='utf-8')
    import_radonpy(path, group_label='radonpy/head')
    return path


def _bench(*args):
    from aiida_polyinf.cli import cmd_root

    return CliRunner().invoke(cmd_root, ['bench', *args], catch_exceptions=False)


def test_graph_dataset_matches_the_csv_adapter(imported_head):
    path = imported_head
    from_graph = load('radonpy/head')
    from_csv = load(path)
    assert len(from_graph) == len(from_csv) == 150
    assert list(from_graph['smiles']) == list(from_csv['smiles'])
    for column in ('density', 'bulk_modulus', 'radonpy_qm.qm_homo_monomer'):
        assert np.allclose(from_graph[column].astype(float), from_csv[column].astype(float), equal_nan=True), column


def test_bench_run_is_recorded_in_the_graph(imported_head, tmp_path):
    from aiida import orm

    out = tmp_path / 'bench'
    result = _bench('run', 'b', *ARGS, '--group', 'radonpy/head', '--out', str(out))
    assert result.exit_code == 0, result.output
    results = json.loads((out / 'results.json').read_text())
    assert any(p.suffix == '.png' for p in out.iterdir())
    assert (out / 'splits' / 'splits_range_density.json').exists()

    # the process, its inputs and outputs
    node = orm.load_node(results['process']['uuid'])
    assert node.process_label == 'ml_benchmark_task' and node.is_finished_ok
    dataset = node.inputs.dataset
    assert isinstance(dataset, orm.SinglefileData)
    assert set(node.inputs) >= {'dataset', 'manifest', 'config', 'descriptors'}
    assert set(node.outputs) >= {'results', 'summary', 'plots', 'splits'}
    assert node.inputs.config['task'] == 'range'
    with node.outputs.results.open() as handle:
        assert json.load(handle)['records'] == results['records']  # the file written is the stored output

    # the results name the nodes and the polymers they came from
    prov = results['provenance']
    assert prov['source'] == 'graph' and prov['group'] == 'radonpy/head'
    assert prov['dataset']['uuid'] == dataset.uuid
    assert prov['dataset']['sha256'] == node.inputs.manifest['files']['dataset.csv']['sha256']
    group_uuids = {n.uuid for n in orm.load_group('radonpy/head').nodes}
    assert set(prov['polymers'].values()) == group_uuids
    assert prov['descriptor_cache_uuid'] == node.inputs.descriptors.uuid

    # a second run reuses the stored dataset and descriptor cache, and reproduces the numbers exactly
    again = tmp_path / 'again'
    assert _bench('run', 'b', *ARGS, '--group', 'radonpy/head', '--out', str(again)).exit_code == 0
    second = json.loads((again / 'results.json').read_text())
    assert second['provenance']['dataset']['uuid'] == dataset.uuid
    assert second['provenance']['descriptor_cache_uuid'] == prov['descriptor_cache_uuid']
    assert second['process']['uuid'] != results['process']['uuid']
    compared = _bench('compare', str(again / 'results.json'), str(out / 'results.json'))
    assert compared.exit_code == 0 and 'same results' in compared.output, compared.output


def test_compare_catches_a_changed_number(tmp_path):
    from aiida_polyinf.ml.bench import compare

    reference = {'task': 'range', 'records': [{'task': 'extrapolation_range', 'target': 'density',
                                               'descriptors': 'ecfp', 'model': 'krr',
                                               'summary': {'test': {'rmse_sigma': {'mean': 1.25, 'std': 0.1}}}}],
                 'timing': {'wall_seconds': 3.0}}
    changed = json.loads(json.dumps(reference))
    changed['timing']['wall_seconds'] = 9.0  # run descriptions are not results
    assert compare(changed, reference)['same']
    changed['records'][0]['summary']['test']['rmse_sigma']['mean'] = 1.2500001
    report = compare(changed, reference)
    assert not report['same'] and 'rmse_sigma' in report['differences'][0]


def test_csv_source_says_it_is_outside_the_graph(imported_head, tmp_path):
    from aiida import orm

    out = tmp_path / 'csv'
    result = _bench('run', 'b', *ARGS, '--source', str(imported_head), '--out', str(out))
    assert result.exit_code == 0, result.output
    results = json.loads((out / 'results.json').read_text())
    assert results['provenance']['source'] == 'csv' and 'outside the provenance graph' in results['source']
    assert not orm.QueryBuilder().append(orm.CalcFunctionNode,
                                         filters={'attributes.process_label': 'ml_benchmark_task'}).count()


def test_bench_run_refusals(imported_head, tmp_path):
    # neither or both of --group / --source
    assert _bench('run', 'b', *ARGS, '--out', str(tmp_path / 'x')).exit_code != 0
    # this project's QM set on a group of PI1070 imports: named, with what to use instead
    result = _bench('run', 'b', '--target', 'density', '--descriptors', 'qm', '--models', 'pls',
                    '--group', 'radonpy/head', '--out', str(tmp_path / 'y'))
    assert result.exit_code != 0 and "'qm'" in result.output and 'radonpy_qm' in result.output
    # variety vs volume without real trials and without --simulate-trials
    result = _bench('run', 'e', '--group', 'radonpy/head', '--out', str(tmp_path / 'z'))
    assert result.exit_code != 0 and '--simulate-trials' in result.output
    # an unknown group
    result = _bench('run', 'b', *ARGS, '--group', 'no/such', '--out', str(tmp_path / 'w'))
    assert result.exit_code != 0 and "no group 'no/such'" in result.output


def test_mixed_sources_are_refused():
    """A set read from the dataset must cover every polymer: a group mixing sources is refused, naming them."""
    import pandas as pd

    from aiida_polyinf.ml.descriptors import Descriptors, MixedSources

    frame = pd.DataFrame({'smiles': ['*CC*', '*CC(*)C', '*CC(*)Cl'], 'source_ids': ['A', 'PI1070:PI2', 'PI1070:PI3'],
                          'qmex.homo_eV': [-7.0, np.nan, np.nan], 'radonpy_qm.qm_homo_monomer': [np.nan, -7.1, -7.2]})
    with pytest.raises(MixedSources, match=r"'qm' is missing for 2 of 3 polymers .*PI1070:PI2"):
        Descriptors(frame).matrix('qm')
    with pytest.raises(MixedSources, match=r"'radonpy_qm' is missing for 1 of 3 polymers of this dataset \(e.g. A\)"):
        Descriptors(frame).matrix('radonpy_qm')
    with pytest.raises(MixedSources, match="'ff' .* not in this dataset"):
        Descriptors(frame).matrix('ff')
