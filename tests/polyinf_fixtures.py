"""Shared fixtures (a slice of PI1070, a small computed campaign made of test calcfunctions), imported by the conftest.py of
the export and API tests: `from polyinf_fixtures import ...` (tests/ is on sys.path through its own conftest.py)."""

import pathlib

import pytest
from aiida import orm
from aiida.engine import ExitCode, calcfunction

from aiida_polyinf.data.values import values_dict

ROOT = pathlib.Path(__file__).resolve().parents[2]
from aiida_polyinf.datasets import PI1070  # noqa: E402 (shipped inside the package)


@pytest.fixture
def pi1070():
    if not PI1070.exists():
        pytest.skip(f'{PI1070} is absent')
    return PI1070


@pytest.fixture
def pi1070_slice(pi1070, tmp_path) -> pathlib.Path:
    """The header and the first 25 rows of PI1070."""
    lines = pi1070.read_text(encoding='utf-8').splitlines(keepends=True)
    path = tmp_path / 'PI1070_slice.csv'
    path.write_text(''.join(lines[:26]), encoding='utf-8')
    return path


@calcfunction
def fake_qm(polymer, protocol):
    """Stands for the QM stage: a `descriptors` Dict of set qmex."""
    n = polymer.base.attributes.get('n_heavy_atoms')
    return {'descriptors': values_dict({'homo_eV': -6.0 - n / 10, 'lumo_eV': 1.0}, units={'homo_eV': 'eV',
            'lumo_eV': 'eV'}, descriptor_set='qmex', protocol=protocol.value)}


@calcfunction
def fake_md_trial(polymer, protocol, seed, trial):
    """Stands for one MD trial: a `properties` Dict."""
    density = 0.9 + 0.01 * trial.value
    return {'properties': values_dict({'density': density, 'Rg': None}, protocol=protocol.value, seed=seed.value,
            trial=trial.value)}


@calcfunction
def fake_aggregate(polymer, **trials):
    """Stands for aggregate_trials: the `aggregate` Dict."""
    values = [d['density'] for d in trials.values()]
    mean = sum(values) / len(values)
    protocol = next(iter(trials.values()))['protocol']
    return {'aggregate': values_dict({'density': mean, 'density_min': min(values), 'density_max': max(values),
            'density_count': len(values), 'density_std': 0.0}, protocol=protocol)}


@calcfunction
def failing_qm(polymer):
    """A QM stage that fails with a named exit status."""
    return ExitCode(310, 'SCF did not converge')


@pytest.fixture
def computed_group():
    """Three polymers in group `test/computed`: PE fully computed (2 trials), PS whose QM failed, PVC with nothing."""
    from aiida_polyinf.campaign.intake import import_rows

    report = import_rows([{'id': 'PE', 'smiles': '*CC*'}, {'id': 'PS', 'smiles': 'c1ccccc1C(*)C*'},
                          {'id': 'PVC', 'smiles': '*CC(*)Cl'}], 'test/computed', source='test')
    polymers = {p.base.extras.get('source_ids')[0].split(':')[1]: p for p in report.polymers}
    protocol = orm.Str('fast')
    fake_qm(polymers['PE'], protocol)
    trials = {}
    for trial in range(2):
        trials[f't{trial}'] = fake_md_trial(polymers['PE'], protocol, orm.Int(100 + trial), orm.Int(trial))['properties']
    fake_aggregate(polymers['PE'], **trials)
    _, node = failing_qm.run_get_node(polymers['PS'])
    node.base.extras.set('polyinf_stage', 'qm')  # the convention for a process of no known label
    return polymers
