"""Import RadonPy's PI1070 table as an external dataset, beside the values computed here.

Provenance of one row (protocol ``external:radonpy``)::

    Str(smiles) -> register_polymer -> PolymerData          (only for a polymer not yet stored)
    PolymerData ─┐
    table ───────┼─> import_radonpy_row ─┬─ descriptors: Dict (descriptor_set radonpy_qm)
    source ──────┘                       └─ aggregate:   Dict (MD properties with _std/_min/_max/_count, TC_*)

``table`` is the CSV as a ``SinglefileData`` (attribute ``sha256``), ``source`` a Dict with the dataset's name,
licence and citation. ``import_radonpy_row`` is a real calcfunction: it finds, in the table, the row whose repeat
unit is the polymer's and returns its values. :func:`import_radonpy` records those calcfunctions for a whole table
in one transaction (see :mod:`.bulk`): the same values, the same graph, in seconds instead of a quarter of an hour.
Polymers are matched by canonical SMILES, so a polymer already imported or computed gets the PI1070 values on the
same node. Re-importing the same table (same sha256) adds nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import pathlib
import typing as t

from aiida import orm
from aiida.engine import calcfunction

from ..common import properties
from ..data.polymer import PolymerData
from ..campaign.intake import Rejection, check_row, existing_polymers
from ..polymers.smiles import IntakeError, parse_repeat_unit
from ..common import values as V

SOURCE = 'PI1070'
PROTOCOL = V.EXTERNAL_PREFIX + 'radonpy'
DESCRIPTOR_SET = 'radonpy_qm'
DEFAULT_GROUP = 'radonpy/PI1070'
ID_COLUMN = 'monomer_ID'
SOURCE_INFO = {
    'kind': 'external_dataset',
    'source': 'RadonPy',
    'dataset': SOURCE,
    'licence': 'BSD-3-Clause',
    'citation': (
        'Y. Hayashi, J. Shiomi, J. Morikawa, R. Yoshida, "RadonPy: automated physical property calculation using '
        'all-atom classical molecular dynamics simulations for polymer informatics", npj Computational Materials 8, '
        '222 (2022)'
    ),
    'url': 'https://github.com/RadonPy/RadonPy/blob/develop/data/PI1070.csv',
    'conditions': '300 K, 1 atm; qm_*_monomer at wB97M-D3BJ on the H-capped monomer (not this project\'s QM)',
}
MISSING_IN_SOURCE = 'empty in source'
TC_UNIT = 'W/(m K)'
NUMERIC_SETTINGS = ('temp', 'press', 'DP', 'n_mol', 'n_atom_mean', 'Mn')


def property_columns() -> list[str]:
    """The aggregate columns of PI1070: MD properties then TC_* terms, each with its aggregate suffixes."""
    names = [q.pi1070 for q in properties.PROPERTIES.values() if q.pi1070] + list(properties.PI1070_TC_TERMS)
    return [key for name in names for key in properties.aggregate_keys(name)]


def _unit(key: str) -> str:
    for term in properties.PI1070_TC_TERMS:
        if key == term or (key.startswith(term + '_') and key[len(term) :] in properties.AGGREGATE_SUFFIXES):
            return '' if key.endswith('_count') else TC_UNIT
    return properties.unit(key)


def _number(text: str) -> float:
    return float(text)


def row_values(row: dict[str, str], version: str) -> tuple[dict, dict]:
    """The attributes of the ``descriptors`` and ``aggregate`` Dicts of one PI1070 row."""
    identifier = row[ID_COLUMN]
    common = {'protocol': PROTOCOL, 'version': version, 'source': SOURCE, 'source_id': identifier}

    def collect(keys, count_is_int=False):
        values, missing = {}, {}
        for key in keys:
            text = (row.get(key) or '').strip()
            if not text:
                missing[key] = MISSING_IN_SOURCE
                continue
            value = _number(text)
            if count_is_int and key.endswith('_count'):
                value = int(value)
            values[key] = value
        return values, missing

    qm, qm_missing = collect(properties.RADONPY_QM)
    descriptors = V.build_values(qm, missing=qm_missing, descriptor_set=DESCRIPTOR_SET, unit_of=_unit, **common)
    agg, agg_missing = collect(property_columns(), count_is_int=True)
    settings = {}
    for key in properties.PI1070_SETTINGS:
        text = (row.get(key) or '').strip()
        if text:
            settings[key] = _number(text) if key in NUMERIC_SETTINGS else text
    aggregate = V.build_values(agg, missing=agg_missing, settings=settings, unit_of=_unit, **common)
    return descriptors, aggregate


def read_table(content: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(content))
    missing = {ID_COLUMN, 'smiles'} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f'not a PI1070 table: missing column(s) {", ".join(sorted(missing))}')
    return list(reader)


_ROWS_BY_TABLE: dict[str, dict[str, dict]] = {}


def _rows_by_smiles(table: orm.SinglefileData) -> dict[str, dict]:
    """Rows of a stored table keyed by canonical repeat-unit SMILES (cached per table node)."""
    if table.uuid not in _ROWS_BY_TABLE:
        by_smiles = {}
        for row in read_table(table.get_content()):
            try:
                by_smiles.setdefault(parse_repeat_unit(row['smiles']).smiles, row)
            except IntakeError:
                continue
        _ROWS_BY_TABLE[table.uuid] = by_smiles
    return _ROWS_BY_TABLE[table.uuid]


@calcfunction
def import_radonpy_row(polymer: PolymerData, table: orm.SinglefileData, source: orm.Dict) -> dict:
    """The PI1070 values of ``polymer``: the row of ``table`` with the same repeat unit, as two Dicts."""
    from .. import __version__

    row = _rows_by_smiles(table)[polymer.smiles]
    descriptors, aggregate = row_values(row, __version__)
    return {'descriptors': orm.Dict(descriptors), 'aggregate': orm.Dict(aggregate)}


@dataclasses.dataclass
class RadonpyReport:
    group: str
    table_uuid: str = ''
    sha256: str = ''
    new_polymers: int = 0
    existing_polymers: int = 0
    imported: int = 0
    already_imported: int = 0
    rejected: list[Rejection] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f'{self.imported} row(s) imported ({self.new_polymers} new polymer(s), {self.existing_polymers} existing), '
            f'{self.already_imported} already imported, {len(self.rejected)} rejected -> group {self.group} '
            f'in {self.seconds:.1f} s'
        )


def _table_node(path: pathlib.Path, data: bytes, sha256: str) -> orm.SinglefileData:
    query = orm.QueryBuilder().append(orm.SinglefileData, filters={'attributes.sha256': sha256}, project='*')
    query.order_by({orm.SinglefileData: {'id': 'asc'}}).limit(1)
    found = query.first(flat=True)
    if found is not None:
        return found
    node = orm.SinglefileData(io.BytesIO(data), filename=path.name)
    node.base.attributes.set('sha256', sha256)
    node.label = f'{SOURCE} table'
    return node.store()


def _source_node() -> orm.Dict:
    filters = {f'attributes.{key}': value for key, value in SOURCE_INFO.items()}
    query = orm.QueryBuilder().append(orm.Dict, filters=filters, project='*')
    query.order_by({orm.Dict: {'id': 'asc'}}).limit(1)
    found = query.first(flat=True)
    if found is not None and found.get_dict() == SOURCE_INFO:
        return found
    return orm.Dict(SOURCE_INFO, label=f'{SOURCE} source').store()


def imported_polymers(table: orm.SinglefileData) -> set[int]:
    """Pks of the polymers that already have an ``import_radonpy_row`` from ``table``."""
    query = orm.QueryBuilder()
    query.append(orm.SinglefileData, filters={'id': table.pk}, tag='table')
    query.append(
        orm.CalcFunctionNode,
        with_incoming='table',
        filters={'attributes.function_name': 'import_radonpy_row'},
        tag='calc',
    )
    query.append(PolymerData, with_outgoing='calc', project='id')
    return set(query.all(flat=True))


def import_radonpy(
    path: pathlib.Path,
    group_label: str | None = None,
    limit: int | None = None,
    engine: bool = False,
    on_rejected: t.Callable[[Rejection], None] | None = None,
) -> RadonpyReport:
    """Import PI1070 (or its first ``limit`` rows) into ``group_label`` (default ``radonpy/PI1070``).

    ``engine=True`` runs ``register_polymer`` and ``import_radonpy_row`` through the engine, one row at a time
    (slow: about a second a row here); the default records them in one transaction through :class:`.bulk.GraphBatch`.
    """
    import time

    from aiida.orm.entities import EntityTypes

    from .. import __version__
    from ..calculations.intake import register_polymer
    from .bulk import GraphBatch, add_to_group

    start = time.perf_counter()
    path = pathlib.Path(path)
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    rows = read_table(data.decode('utf-8'))
    if limit is not None:
        rows = rows[:limit]

    group, _ = orm.Group.collection.get_or_create(group_label or DEFAULT_GROUP)
    report = RadonpyReport(group=group.label, sha256=sha256)
    table = _table_node(path, data, sha256)
    source = _source_node()
    report.table_uuid = table.uuid

    units = {}
    seen: dict[str, tuple[int, str]] = {}
    for number, row in enumerate(rows, start=1):
        identifier = (row.get(ID_COLUMN) or '').strip()
        smiles = (row.get('smiles') or '').strip()
        try:
            unit = check_row(number, identifier, smiles, seen, id_column=ID_COLUMN)
        except IntakeError as error:
            rejection = Rejection(number, identifier, smiles, error.reason, error.message)
            report.rejected.append(rejection)
            if on_rejected:
                on_rejected(rejection)
            continue
        units[unit.smiles] = (unit, row)

    known = existing_polymers(units)
    done = imported_polymers(table)
    metadata_of = lambda row: {'polymer_class': row.get('polymer_class', '')}  # noqa: E731

    if engine:
        for smiles, (unit, row) in units.items():
            if smiles in known:
                polymer = orm.load_node(known[smiles])
                report.existing_polymers += 1
            else:
                polymer = register_polymer(orm.Str(unit.smiles_input))
                known[smiles] = polymer.pk
                report.new_polymers += 1
            polymer.add_source(SOURCE, row[ID_COLUMN], metadata_of(row))
            group.add_nodes(polymer)
            if polymer.pk in done:
                report.already_imported += 1
                continue
            import_radonpy_row(polymer, table, source)
            report.imported += 1
        report.seconds = time.perf_counter() - start
        return report

    batch = GraphBatch()
    polymer_of: dict[str, object] = {}
    for smiles, (unit, row) in units.items():
        if smiles in known:
            polymer_of[smiles] = known[smiles]
            report.existing_polymers += 1
            continue
        source_entry = {'source': SOURCE, 'id': row[ID_COLUMN], 'metadata': metadata_of(row)}
        attributes = PolymerData(repeat_unit=unit).base.attributes.all
        polymer = batch.add_node(
            PolymerData,
            attributes=attributes,
            extras={'sources': [source_entry], 'source_ids': [f'{SOURCE}:{row[ID_COLUMN]}']},
        )
        smiles_node = batch.add_node(orm.Str, attributes={'value': unit.smiles_input})
        batch.add_calcfunction_record(register_polymer, {'smiles': smiles_node}, {'result': polymer})
        polymer_of[smiles] = polymer
        report.new_polymers += 1

    for smiles, (unit, row) in units.items():
        polymer = polymer_of[smiles]
        if isinstance(polymer, int) and polymer in done:
            report.already_imported += 1
            continue
        descriptors, aggregate = row_values(row, __version__)
        outputs = {
            'descriptors': batch.add_node(orm.Dict, attributes=descriptors),
            'aggregate': batch.add_node(orm.Dict, attributes=aggregate),
        }
        batch.add_calcfunction_record(
            import_radonpy_row, {'polymer': polymer, 'table': table, 'source': source}, outputs
        )
        report.imported += 1

    backend = batch.backend
    group_pk = group.pk
    with backend.transaction():
        pks = batch.flush()
        polymer_pks = {s: (p if isinstance(p, int) else pks[p.index]) for s, p in polymer_of.items()}
        # Existing polymers: record the source id in their extras, as `PolymerData.add_source` does.
        existing = [pk for s, pk in polymer_pks.items() if s in known]
        if existing:
            query = orm.QueryBuilder().append(
                PolymerData, filters={'id': {'in': existing}}, project=['id', 'attributes.smiles', 'extras']
            )
            updates = []
            for pk, smiles, extras in query.all():
                row = units[smiles][1]
                sources = list((extras or {}).get('sources', []))
                if any(s['source'] == SOURCE and s['id'] == row[ID_COLUMN] for s in sources):
                    continue
                sources.append({'source': SOURCE, 'id': row[ID_COLUMN], 'metadata': metadata_of(row)})
                extras = dict(extras or {})
                extras['sources'] = sources
                extras['source_ids'] = sorted({f"{s['source']}:{s['id']}" for s in sources})
                updates.append({'id': pk, 'extras': extras})
            if updates:
                backend.bulk_update(EntityTypes.NODE, updates)
        add_to_group(group_pk, polymer_pks.values())
    report.seconds = time.perf_counter() - start
    return report
