"""Import of RadonPy's PI1070: provenance, matching by SMILES, idempotence, and the full table round trip."""

import csv

import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_polyinf.cli import cmd_root
from aiida_polyinf.data.polymer import PolymerData
from aiida_polyinf.export import radonpy
from aiida_polyinf.export.query import load_dataset


def _count(cls):
    return orm.QueryBuilder().append(cls).count()


@pytest.mark.usefixtures('aiida_profile_clean')
def test_slice_import_provenance_and_reimport(pi1070_slice):
    report = radonpy.import_radonpy(pi1070_slice)
    assert (report.imported, report.new_polymers, len(report.rejected)) == (25, 25, 0)
    assert report.group == 'radonpy/PI1070'
    nodes = _count(orm.Node)

    polymer = orm.QueryBuilder().append(PolymerData, filters={'attributes.smiles': '*CC*'}).one()[0]
    assert polymer.base.extras.get('source_ids') == ['PI1070:PI1']
    creator = polymer.base.links.get_incoming().one().node
    assert creator.process_type == 'aiida.calculations:polyinf.intake.register_polymer' and creator.is_finished_ok
    (calc,) = [link.node for link in polymer.base.links.get_outgoing().all()]
    assert calc.process_type == 'aiida.calculations:polyinf.import.radonpy_row' and calc.is_finished_ok
    inputs = {link.link_label: link.node for link in calc.base.links.get_incoming().all()}
    assert set(inputs) == {'polymer', 'table', 'source'}
    assert len(inputs['table'].base.attributes.get('sha256')) == 64
    assert inputs['source']['licence'] == 'BSD-3-Clause' and 'npj Computational Materials 8, 222' in inputs['source']['citation']
    outputs = {link.link_label: link.node for link in calc.base.links.get_outgoing().all()}
    assert outputs['descriptors']['descriptor_set'] == 'radonpy_qm'
    assert outputs['descriptors']['qm_homo_monomer'] == -12.03727174
    assert outputs['descriptors']['units']['qm_homo_monomer'] == 'eV'
    aggregate = outputs['aggregate']
    assert aggregate['density'] == 0.837971504 and aggregate['density_count'] == 5
    assert aggregate['protocol'] == 'external:radonpy' and aggregate['settings']['tacticity'] == 'none'
    assert aggregate['units']['TC_ke'] == 'W/(m K)'

    again = radonpy.import_radonpy(pi1070_slice)
    assert (again.imported, again.already_imported, again.new_polymers) == (0, 25, 0)
    assert _count(orm.Node) == nodes


@pytest.mark.usefixtures('aiida_profile_clean')
def test_engine_and_batch_records_agree(pi1070_slice, tmp_path):
    """The batch path records what the real calcfunction returns, value for value."""
    lines = pi1070_slice.read_text().splitlines(keepends=True)
    two = tmp_path / 'two.csv'
    two.write_text(''.join(lines[:3]))
    report = radonpy.import_radonpy(two, 'engine', engine=True)
    assert report.imported == 2
    rows = {row['monomer_ID']: row for row in csv.DictReader(open(two))}
    query = orm.QueryBuilder().append(orm.CalcFunctionNode, filters={'attributes.function_name': 'import_radonpy_row'},
                                      tag='c')
    query.append(orm.Dict, with_incoming='c', edge_project='label', project='attributes')
    found = query.all()
    assert len(found) == 4
    from aiida_polyinf import __version__

    for attributes, label in found:
        expected = radonpy.row_values(rows[attributes['source_id']], __version__)
        assert attributes == expected[0 if label == 'descriptors' else 1]


@pytest.mark.usefixtures('aiida_profile_clean')
def test_rejected_rows_get_reasons(pi1070_slice, tmp_path):
    lines = pi1070_slice.read_text().splitlines(keepends=True)
    bad = tmp_path / 'bad.csv'
    broken = lines[2].replace('*C(C*)C', '*C(C*C', 1)
    assert broken != lines[2]
    bad.write_text(lines[0] + lines[1] + broken + lines[1].replace('PI1,', 'PI1bis,', 1))
    report = radonpy.import_radonpy(bad)
    assert report.imported == 1
    assert sorted(r.reason for r in report.rejected) == ['duplicate', 'unparsable_smiles']


@pytest.mark.usefixtures('aiida_profile_clean')
def test_full_pi1070_import_and_export(pi1070, tmp_path):
    """All 1,077 rows through the CLI; the exported densities equal the CSV's."""
    runner = CliRunner()
    result = runner.invoke(cmd_root, ['import-dataset', 'radonpy', str(pi1070)])
    assert result.exit_code == 0, result.output
    assert '1077 row(s) imported (1077 new polymer(s), 0 existing)' in result.output
    out = tmp_path / 'out'
    result = runner.invoke(cmd_root, ['export', '--group', 'radonpy/PI1070', '--out', str(out)])
    assert result.exit_code == 0, result.output
    exported = {row['source_ids']: row for row in csv.DictReader(open(out / 'dataset.csv'))}
    assert len(exported) == 1077
    for row in csv.DictReader(open(pi1070)):
        mine = exported[f'PI1070:{row["monomer_ID"]}']
        assert float(mine['density']) == float(row['density'])
        assert float(mine['radonpy_qm.qm_lumo_monomer']) == float(row['qm_lumo_monomer'])
        if row['thermal_conductivity']:
            assert float(mine['thermal_conductivity']) == float(row['thermal_conductivity'])
        else:
            assert mine['thermal_conductivity'] == '' and 'thermal_conductivity: empty in source' in mine['missing.values']
    again = runner.invoke(cmd_root, ['import-dataset', 'radonpy', str(pi1070)])
    assert '0 row(s) imported (0 new polymer(s), 1077 existing), 1077 already imported' in again.output
