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
