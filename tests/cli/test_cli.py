"""The `polyinf` command line on the test profile."""

import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_polyinf.cli import cmd_root

CSV = 'id,smiles,name\nPE,*CC*,polyethylene\nPS,*CC(*)c1ccccc1,polystyrene\nPDMS,*[Si](C)(C)O*,pdms\nX,*CC(*,bad\n'


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / 'small.csv'
    path.write_text(CSV)
    return path


@pytest.mark.usefixtures('aiida_profile_clean')
def test_polymers_import_and_list(csv_file, tmp_path):
    runner = CliRunner()
    rejected = tmp_path / 'rej.csv'
    result = runner.invoke(cmd_root, ['polymers', 'import', str(csv_file), '--rejected', str(rejected)])
    assert result.exit_code == 0, result.output
    assert '2 new, 0 existing, 2 rejected -> group polyinf/small' in result.output
    assert 'row 3 (PDMS): element: element Si not covered by GAFF2' in result.stderr
    assert 'row 4 (X): unparsable_smiles' in result.stderr
    assert rejected.read_text().count('\n') == 3

    again = runner.invoke(cmd_root, ['polymers', 'import', str(csv_file), '--rejected', str(rejected)])
    assert '0 new, 2 existing, 2 rejected' in again.output

    listing = runner.invoke(cmd_root, ['polymers', 'list', '--group', 'polyinf/small'])
    assert listing.exit_code == 0, listing.output
    assert 'CCC(C)c1ccccc1' in listing.output and '2 polymer(s)' in listing.output


@pytest.mark.daemon
@pytest.mark.usefixtures('aiida_profile_clean')
def test_run_through_the_daemon(csv_file, tmp_path, monkeypatch, daemon_client):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cmd_root, ['run', str(csv_file), '--protocol', 'fast', '--wait', '--timeout', '120'])
    assert result.exit_code == 0, result.output
    assert '2 submitted' in result.output
    assert '2 finished ok, 0 failed' in result.output
    assert 'unavailable' not in result.output  # every stage has its work chain
    assert 'no code pyscf@localhost' in result.output  # the test profile has no such code: qm and later skipped
    # Re-running the same campaign submits nothing twice.
    again = runner.invoke(cmd_root, ['run', 'polyinf/small', '--protocol', 'fast'])
    assert '0 submitted, 2 already submitted' in again.output
    query = orm.QueryBuilder().append(orm.WorkflowNode, filters={'attributes.process_label': 'IntakeWorkChain'})
    assert query.count() == 2
    daemon_client.stop_daemon(wait=True)
