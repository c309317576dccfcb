"""The allocation recommender (f) and variety vs volume (e) from the CLI on a small real group of `fast` MD trials.

The group is a recorded campaign: six small polymers (PE, PP, PVC, PVA, POM, PEO) run through intake, QM, FF and
MD at the `fast` protocol with two MD trials each (`polyinf run trials6.csv --protocol fast --overrides` with
`stages: [intake, qm, ff, md]` and `md: {trials: 2}`), archived by ``tests/fixtures/ml/make_fast_trials.py`` into
``tests/fixtures/ml/fast_trials.aiida``. The archive holds the real per-trial values with the calculations that made
them, so the test reads real trials from the graph without running 12 MD cells (about half an hour of these two
cores) in every `make test`.
"""

import json
import pathlib

import pytest
from click.testing import CliRunner

ARCHIVE = pathlib.Path(__file__).resolve().parents[1] / 'fixtures' / 'ml' / 'fast_trials.aiida'
GROUP = 'polyinf/trials6'


@pytest.fixture
def real_trials(aiida_profile_clean):
    from aiida.tools.archive import import_archive

    import_archive(ARCHIVE)
    return GROUP


def _bench(*args):
    from aiida_polyinf.cli import cmd_root

    return CliRunner().invoke(cmd_root, ['bench', *args], catch_exceptions=False)


def test_the_group_has_real_trials(real_trials):
    from aiida_polyinf.benchmarking.graph import dataset_nodes, max_trials, read_table

    table, manifest = dataset_nodes(real_trials, trials=True)
    frame = read_table(table)
    assert max_trials(frame, ['density']) == 2
    assert frame.groupby('smiles')['trial'].nunique().min() == 2
    assert frame['seed'].nunique() == len(frame)  # every trial its own recorded seed


def test_recommend_on_real_fast_trials(real_trials):
    from aiida import orm

    result = _bench('recommend', '--group', real_trials, '--budget', '12', '--pilot-size', '6', '--target',
                    'density,Cp', '--descriptors', 'qm+ff', '--runs', '1,2')
    assert result.exit_code == 0, result.output
    assert 'density: recommended' in result.output and 'Cp: recommended' in result.output
    node = orm.QueryBuilder().append(
        orm.CalcFunctionNode, filters={'attributes.process_label': 'ml_allocation_recommend'}).one()[0]
    assert node.is_finished_ok
    assert set(node.inputs) >= {'dataset', 'trials', 'config'}
    rec = node.outputs.result['targets']['density']
    assert rec['pilot']['n_polymers'] == 6 and rec['pilot']['n_runs'] == 2
    assert rec['noise_variance'] > 0  # two real trials of the same polymer differ
    assert {o['n_runs'] for o in rec['options']} == {1, 2} and rec['recommended'] in ('12x1', '6x2')
    assert 'real trials' in node.outputs.result['note']


def test_variety_on_real_fast_trials(real_trials, tmp_path):
    import yaml

    from aiida_polyinf.ml.tasks import load_config

    config = load_config()
    config['tasks']['variety'].update(targets=['density'], descriptors='qm+ff', n_polymers=[2, 4], n_runs=[1, 2, 9],
                                      repeats=2, test_fraction=0.34, inner=2)
    path = tmp_path / 'small.yaml'
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / 'e'
    result = _bench('run', 'e', '--group', real_trials, '--config', str(path), '--out', str(out), '--no-plots')
    assert result.exit_code == 0, result.output
    results = json.loads((out / 'results.json').read_text())
    assert 'real trials' in results['note'] and results['n_runs'] == [1, 2]
    assert results['provenance']['trials_uuid']
    assert set(results['records'][0]['summary']) == {'2x1', '2x2', '4x1', '4x2'}
