"""`polyinf export`, `import-dataset` and `show`: determinism, manifest, archive round trip into a fresh profile."""

import hashlib
import json
import os
import pathlib
import subprocess
import sys

import pytest
from click.testing import CliRunner

from aiida_polyinf.cli import cmd_root

BIN = pathlib.Path(sys.executable).parent
FILES = ('dataset.csv', 'dataset.parquet', 'manifest.json')


def invoke(*args):
    result = CliRunner().invoke(cmd_root, [str(a) for a in args])
    assert result.exit_code == 0, result.output + str(result.exception)
    return result.output


@pytest.mark.usefixtures('aiida_profile_clean')
def test_export_is_deterministic_and_show_finds_polymers(pi1070_slice, computed_group, tmp_path):
    assert '25 row(s) imported (24 new polymer(s), 1 existing)' in invoke('import-dataset', 'radonpy', pi1070_slice)
    first, second = tmp_path / 'a', tmp_path / 'b'
    for out in (first, second):
        invoke('export', '--group', 'radonpy/PI1070', '--out', out, '--format', 'csv,parquet')
    for name in FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    manifest = json.loads((first / 'manifest.json').read_text())
    assert manifest['rows'] == 25 and manifest['protocols'] == ['external:radonpy', 'fast']
    for name in ('dataset.csv', 'dataset.parquet'):
        assert manifest['files'][name]['sha256'] == hashlib.sha256((first / name).read_bytes()).hexdigest()
    assert manifest['columns']['density']['unit'] == 'g/cm^3'
    assert manifest['columns']['radonpy_qm.qm_homo_monomer']['unit'] == 'eV'
    assert manifest['storage_uuid'] and manifest['software']['aiida-core']
    assert any('polyinf.import.radonpy_row' in c for c in manifest['creators'])
    text = (first / 'dataset.csv').read_text()
    assert 'ctime' not in text and '\r' not in text

    import pandas as pd

    parquet, table = pd.read_parquet(first / 'dataset.parquet'), pd.read_csv(first / 'dataset.csv')
    assert list(parquet.columns) == list(table.columns) and len(parquet) == 25
    assert parquet['density'].tolist() == table['density'].tolist()
    assert str(parquet['density_count'].dtype) == 'Int64'
    trials = tmp_path / 't'
    invoke('export', '--group', 'test/computed', '--out', trials, '--trials')
    assert 'trial,seed' in (trials / 'dataset.csv').read_text().splitlines()[0]

    shown = invoke('show', 'PI1070:PI1')
    assert '*CC*' in shown and 'imported from PI1070:PI1' in shown and 'computed here' in shown
    assert 'BSD-3-Clause' in shown and 'density' in shown and 'trial 1 seed 101' in shown
    assert invoke('show', 'PI1') == shown and invoke('show', 'C(*)C*') == shown
    pk = shown.split()[2]
    assert invoke('show', pk) == shown
    assert 'failing_qm' in invoke('show', 'test:PS') and '[310]' in invoke('show', 'test:PS')
    smarts = invoke('show', '--smarts', '[Cl]')
    assert '*CC(*)Cl' in smarts and 'polymer(s) match' in smarts
    result = CliRunner().invoke(cmd_root, ['show', '*CC(*)Br'])
    assert result.exit_code != 0 and 'no stored polymer' in result.output


def _run(args, env, cwd):
    result = subprocess.run([str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f'{args}:\n{result.stdout}\n{result.stderr}'
    return result.stdout


@pytest.mark.usefixtures('aiida_profile_clean')
def test_archive_round_trip_into_a_fresh_profile(pi1070_slice, computed_group, tmp_path):
    invoke('import-dataset', 'radonpy', pi1070_slice)
    out = tmp_path / 'out'
    invoke('export', '--group', 'radonpy/PI1070', '--out', out, '--archive')
    assert (out / 'dataset.aiida').exists()

    env = dict(os.environ, AIIDA_PATH=str(tmp_path / 'fresh'))
    env.pop('AIIDA_PROFILE', None)
    make_profile = (
        'from aiida.manage.configuration import get_config, create_profile\n'
        'config = get_config(create=True)\n'
        "create_profile(config, name='fresh', email='test@localhost', storage_backend='core.sqlite_dos', "
        'storage_config={}, broker_backend=None, broker_config=None)\n'
        "config.set_default_profile('fresh', overwrite=True)\nconfig.store()\n"
    )
    _run([sys.executable, '-c', make_profile], env, tmp_path)
    _run([BIN / 'verdi', '-p', 'fresh', 'archive', 'import', out / 'dataset.aiida'], env, tmp_path)
    again = tmp_path / 'again'
    _run([BIN / 'polyinf', '-p', 'fresh', 'export', '--group', 'radonpy/PI1070', '--out', again], env, tmp_path)
    assert (again / 'dataset.csv').read_bytes() == (out / 'dataset.csv').read_bytes()
    shown = _run([BIN / 'polyinf', '-p', 'fresh', 'show', 'PI1070:PI1'], env, tmp_path)
    assert 'import_radonpy_row' in shown and 'fake_aggregate' in shown
