"""Write a dataset reproducibly: ``dataset.csv``/``dataset.parquet``, ``manifest.json`` and, optionally, an archive.

Same database and same arguments give byte-identical files: rows sorted by canonical SMILES, columns in a fixed
order, no timestamps, no pks, JSON with sorted keys. The archive (``dataset.aiida``) is AiiDA's own format and is not
byte-stable (it is a zip with times in it); its round trip is checked on the CSV it re-exports instead.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import typing as t

from aiida import orm

from ..common import values as V
from .query import load_dataset, rows

FORMATS = ('csv', 'parquet')
MANIFEST = 'manifest.json'
ARCHIVE = 'dataset.aiida'


def _sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def column_meaning(column: str) -> str:
    """What a column of the dataset holds, in words."""
    from ..common import properties

    if column == 'smiles':
        return 'isomeric canonical SMILES of the repeat unit (RDKit), the identity of the polymer; rows sorted by it'
    if column == 'polymer_uuid':
        return 'uuid of the PolymerData node'
    if column == 'source_ids':
        return "ids of the polymer in its sources, 'source:id', ';'-joined"
    if column == 'protocol':
        return "protocol of the row's values ('external:<source>' for imported values)"
    if column == 'trial':
        return 'index of the trial (independent MD run)'
    if column == 'seed':
        return 'random seed of the trial'
    if column.startswith('uuid.'):
        return f'provenance: uuid of the Dict the {column[5:]} values came from (its creator is the process)'
    if column == 'missing.values':
        return "values recorded as missing in their Dict, 'name: reason', ';'-joined"
    if column.startswith('missing.'):
        return f"why stage {column[8:]} has no values: the failed process and its exit status, 'not computed', or empty"
    if '.' in column:
        prefix, name = column.split('.', 1)
        table = properties.RADONPY_QM if prefix == 'radonpy_qm' else {}
        what = table[name].description if name in table else name
        return f'descriptor set {prefix}: {what}'
    for suffix in properties.AGGREGATE_SUFFIXES:
        if column.endswith(suffix):
            base = column[: -len(suffix)]
            if base in properties.PROPERTIES or base in properties.PI1070_TC_TERMS:
                return f'{suffix[1:]} over trials of {base}'
    if column in properties.PROPERTIES:
        return properties.PROPERTIES[column].description + ' (mean over trials, or the trial value)'
    return column


def storage_uuid() -> str:
    """The uuid of the profile's storage (its repository), to tell which database a dataset came from."""
    from aiida.manage import get_manager

    return get_manager().get_profile_storage().get_repository().uuid or ''


def _software_versions() -> dict[str, str]:
    import importlib.metadata as metadata

    found = {}
    for name in ('aiida-polyinf', 'aiida-core', 'pandas', 'pyarrow', 'rdkit'):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _creator_versions(frame) -> list[str]:
    """Process types and plugin versions of the creators of the exported Dicts, in one query."""
    uuids = sorted({u for c in frame.columns if c.startswith('uuid.') for u in frame[c] if u})
    if not uuids:
        return []
    found = set()
    for start in range(0, len(uuids), 5000):
        query = orm.QueryBuilder()
        query.append(orm.Dict, filters={'uuid': {'in': uuids[start : start + 5000]}}, tag='values')
        query.append(
            orm.CalculationNode,
            with_outgoing='values',
            project=['process_type', 'attributes.version.plugin', 'attributes.version.core'],
        )
        query.distinct()
        for process_type, plugin, core in rows(query):
            found.add(f'{process_type} (plugin {plugin}, aiida-core {core})')
    return sorted(found)


def export_dataset(
    group: str,
    out: pathlib.Path,
    formats: t.Iterable[str] = ('csv',),
    trials: bool = False,
    archive: bool = False,
    selection=None,
    **filters,
) -> dict:
    """Write the dataset of ``group`` into ``out`` and return the manifest.

    ``selection``: a :class:`.select.Selection` (identifier, SMARTS, similarity, value ranges, stage states) that
    narrows the rows; the manifest records it.
    """
    from .. import __version__

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    formats = [f for f in FORMATS if f in set(formats)]
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f'unknown format(s) {", ".join(sorted(unknown))}')
    from .select import apply

    frame = load_dataset(group, trials=trials, **filters)
    units = frame.attrs.get('units', {})
    value_versions = frame.attrs.get('versions', [])
    if selection is not None:
        frame = apply(frame, selection)
    frame.attrs = {}

    files = {}
    if 'csv' in formats:
        path = out / 'dataset.csv'
        frame.to_csv(path, index=False, lineterminator='\n')
        files[path.name] = path
    if 'parquet' in formats:
        path = out / 'dataset.parquet'
        frame.to_parquet(path, index=False, engine='pyarrow', compression='zstd')
        files[path.name] = path
    if archive:
        path = out / ARCHIVE
        write_archive(group, path, **{k: v for k, v in filters.items() if k == 'protocol'})
        files[path.name] = path

    manifest = {
        'dataset': 'aiida-polyinf polymer dataset',
        'schema_version': 1,
        'query': {
            'group': group,
            'trials': trials,
            'filters': {k: v for k, v in sorted(filters.items()) if v not in (None, (), [])},
            'selection': selection.describe() if selection is not None else {},
            'function': 'aiida_polyinf.export.query.load_dataset',
        },
        'rows': len(frame),
        'row_order': 'smiles' + (', trial' if trials else ''),
        'protocols': sorted({p for p in frame['protocol'] if p}),
        'software': _software_versions() | {'aiida-polyinf (running)': __version__},
        'value_versions': value_versions,
        'creators': _creator_versions(frame),
        'storage_uuid': storage_uuid(),
        'conventions': {
            'links': V.LINK_STAGES,
            'reserved_keys': list(V.RESERVED),
            'selection': 'per polymer and column group: computed before imported (external:*), then the latest',
        },
        'columns': {
            column: {'unit': units.get(column, ''), 'meaning': column_meaning(column), 'dtype': str(frame[column].dtype)}
            for column in frame.columns
        },
        'files': {
            name: {'sha256': _sha256(path), 'bytes': path.stat().st_size}
            for name, path in sorted(files.items())
            if name != ARCHIVE
        },
    }
    if archive:
        manifest['archive'] = {'file': ARCHIVE, 'note': 'AiiDA archive (zip, not byte-stable); import: verdi archive import'}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str) + '\n', encoding='utf-8')
    return manifest


def write_archive(group: str, path: pathlib.Path, protocol=None) -> pathlib.Path:
    """An AiiDA archive of the group, its polymers and every values Dict hanging from them, with their provenance.

    Entities given to ``create_archive``: the group (so the import recreates it), the Dicts of values and their
    creators; the default traversal rules then add the creators' inputs (the polymers, source tables...) and the
    processes that created those, back to the beginning.
    """
    from aiida.tools.archive import create_archive

    from ..data.polymer import PolymerData

    group_node = orm.load_group(group)
    query = orm.QueryBuilder()
    query.append(orm.Group, filters={'id': group_node.pk}, tag='group')
    query.append(PolymerData, with_group='group', tag='polymer', project='id')
    query.append(orm.CalculationNode, with_incoming='polymer', tag='creator', project='id')
    protocols = [protocol] if isinstance(protocol, str) else list(protocol or [])
    dict_filters = {'attributes.protocol': {'in': protocols}} if protocols else {}
    query.append(
        orm.Dict,
        with_incoming='creator',
        edge_filters={'label': {'in': list(V.LINK_STAGES)}, 'type': 'create'},
        filters=dict_filters,
        project='id',
    )
    pks = set()
    for polymer, creator, values in rows(query):
        pks.update((polymer, creator, values))
    members = orm.QueryBuilder().append(orm.Group, filters={'id': group_node.pk}, tag='group')
    members.append(orm.Node, with_group='group', project='id')
    pks.update(row[0] for row in rows(members))
    entities: list = [group_node]
    ordered = sorted(pks)
    for start in range(0, len(ordered), 5000):  # whole nodes, a few queries, not one load_node each
        query = orm.QueryBuilder().append(orm.Node, filters={'id': {'in': ordered[start : start + 5000]}}, project='*')
        entities.extend(query.all(flat=True))
    path = pathlib.Path(path)
    create_archive(entities, filename=path, overwrite=True)
    return path
