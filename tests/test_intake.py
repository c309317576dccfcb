"""Batch intake into the database: good rows stored, bad rows rejected with a reason, nothing half-written."""

import csv

import pytest
from aiida import orm

from aiida_polyinf.data.polymer import PolymerData
from aiida_polyinf.campaign.intake import find_polymer, import_file, write_rejected

GOOD = [('PE', '*CC*'), ('PS', '*CC(*)c1ccccc1'), ('PMMA', '*CC(*)(C)C(=O)OC')]
BAD = [
    ('BROKEN', '*CC(*', 'unparsable_smiles'),
    ('ONE', '*CCO', 'connection_points'),
    ('PDMS', '*[Si](C)(C)O*', 'element'),
    ('CATION', '*CC(*)[N+](C)(C)C', 'charged'),
    ('RADICAL', '*C[CH](*)', 'radical'),
    ('BIG', '*' + 'C' * 120 + '*', 'too_large'),
    ('PS-again', 'c1ccc(cc1)C(*)C*', 'duplicate'),
    ('', '*CCCC*', 'missing_id'),
]


def write_csv(path, rows):
    with open(path, 'w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(['id', 'smiles', 'note'])
        for identifier, smiles, *_ in rows:
            writer.writerow([identifier, smiles, f'note of {identifier}'])
    return path


def node_count():
    return orm.QueryBuilder().append(orm.Node).count()


@pytest.mark.usefixtures('aiida_profile_clean')
def test_import_mixed_file(tmp_path):
    rows = GOOD[:2] + BAD + GOOD[2:]
    report = import_file(write_csv(tmp_path / 'mixed.csv', rows))

    assert report.group == 'polyinf/mixed'
    assert sorted(p.smiles for p in report.new) == sorted(p.smiles for p in map(find_polymer, (s for _, s in GOOD)))
    assert len(report.new) == 3 and not report.existing
    assert [r.reason for r in report.rejected] == [b[2] for b in BAD]
    assert all(r.message for r in report.rejected)
    duplicate = next(r for r in report.rejected if r.reason == 'duplicate')
    assert 'row 2 (PS)' in duplicate.message

    group = orm.load_group('polyinf/mixed')
    assert group.count() == 3
    assert orm.QueryBuilder().append(PolymerData).count() == 3
    ps = find_polymer('*CC(*)c1ccccc1')
    assert ps.sources == [{'source': 'mixed', 'id': 'PS', 'metadata': {'note': 'note of PS'}}]
    assert ps.capped_smiles == 'CCC(C)c1ccccc1'
    # Provenance: each polymer was created by a calcfunction from the SMILES as given.
    creator = ps.creator
    assert creator.process_label == 'register_polymer' and creator.is_finished_ok
    assert creator.inputs.smiles.value == '*CC(*)c1ccccc1'

    out = tmp_path / 'rejected.csv'
    write_rejected(report.rejected, out)
    lines = list(csv.DictReader(open(out)))
    assert [line['reason'] for line in lines] == [b[2] for b in BAD]


@pytest.mark.usefixtures('aiida_profile_clean')
def test_rejected_rows_store_nothing(tmp_path):
    before = node_count()
    report = import_file(write_csv(tmp_path / 'bad.csv', [b for b in BAD if b[2] != 'duplicate']))
    assert not report.new and len(report.rejected) == 7
    assert node_count() == before
    assert orm.load_group('polyinf/bad').count() == 0


@pytest.mark.usefixtures('aiida_profile_clean')
def test_reimport_adds_nothing_and_reuses_existing(tmp_path):
    path = write_csv(tmp_path / 'good.csv', GOOD)
    first = import_file(path)
    count = node_count()
    second = import_file(path)
    assert len(first.new) == 3 and not second.new
    assert len(second.existing) == 3
    assert node_count() == count

    # Another file holding a known polymer written differently: reused, added to the new group, source recorded.
    other = write_csv(tmp_path / 'other.csv', [('polystyrene', 'c1ccccc1C(*)C*')])
    report = import_file(other, group_label='mine')
    assert not report.new and [p.pk for p in report.existing] == [find_polymer('*CC(*)c1ccccc1').pk]
    assert orm.load_group('mine').count() == 1
    assert {s['id'] for s in report.existing[0].sources} == {'PS', 'polystyrene'}


@pytest.mark.usefixtures('aiida_profile_clean')
def test_missing_columns(tmp_path):
    path = tmp_path / 'nocol.csv'
    path.write_text('name,smi\nPE,*CC*\n')
    with pytest.raises(ValueError, match='missing column'):
        import_file(path)


NO_IODINE = {'qm': {'parameters': {'method': {'basis_by_element': {'I': None}, 'ecp_by_element': {'I': None}}}}}


def test_check_row_rejects_what_the_qm_protocol_cannot_compute():
    """One polymer per halogen passes the `fast` QM check; without an iodine basis, iodine is refused by name."""
    from aiida_polyinf.campaign.intake import QmCheck, check_row
    from aiida_polyinf.polymers import IntakeError

    seen = {}
    for number, smiles in enumerate(('*CC(*)F', '*CC(*)Cl', '*CC(*)Br', '*CC(*)I'), start=1):
        check_row(number, f'P{number}', smiles, seen, qm=QmCheck('fast'))
    with pytest.raises(IntakeError) as info:
        check_row(1, 'PVI', '*CC(*)I', {}, qm=QmCheck('fast', NO_IODINE))
    assert info.value.reason == 'basis'
    assert 'element I' in info.value.message and 'QM protocol fast' in info.value.message
    assert '6-31g' in info.value.message
    check_row(1, 'PVI', '*CC(*)I', {}, qm=QmCheck('fast', {'stages': ['intake'], **NO_IODINE}))  # no QM stage


@pytest.mark.usefixtures('aiida_profile_clean')
def test_import_for_a_campaign_rejects_uncomputable_rows(tmp_path):
    from aiida_polyinf.campaign.intake import QmCheck

    path = write_csv(tmp_path / 'halogens.csv', [('PVBr', '*CC(*)Br'), ('PVI', '*CC(*)I')])
    report = import_file(path, qm=QmCheck('fast', NO_IODINE))
    assert [p.smiles for p in report.new] == ['*CC(*)Br']
    assert [(r.id, r.reason) for r in report.rejected] == [('PVI', 'basis')]
    assert find_polymer('*CC(*)I') is None
    assert [p.smiles for p in import_file(path, qm=QmCheck('fast')).new] == ['*CC(*)I']


def test_run_cli_refuses_an_unknown_basis_before_anything(tmp_path, aiida_profile_clean):
    from click.testing import CliRunner

    from aiida_polyinf.cli import cmd_root

    bad = tmp_path / 'bad.yaml'
    bad.write_text('qm:\n  parameters:\n    method:\n      basis_by_element: {Br: 6-31gx}\n')
    path = write_csv(tmp_path / 'pvbr.csv', [('PVBr', '*CC(*)Br')])
    result = CliRunner().invoke(cmd_root, ['run', str(path), '--protocol', 'fast', '--overrides', str(bad)])
    assert result.exit_code != 0
    assert "'6-31gx' for Br" in result.output and 'QM protocol fast' in result.output
    assert orm.QueryBuilder().append(PolymerData).count() == 0
