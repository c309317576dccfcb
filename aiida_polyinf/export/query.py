"""``load_dataset``: the values of a group of polymers as a pandas DataFrame, from a handful of QueryBuilder queries.

Queries (whatever the number of polymers):

1. the polymers of the group (uuid, canonical SMILES, source ids);
2. Group -> PolymerData -> creator (a calculation with the polymer as a DIRECT input) -> Dict, over the CREATE link
   labels of :data:`.values.LINK_STAGES`, projecting the Dict's uuid, ctime and attributes and the creator's uuid;
3. the processes with the polymer as a direct input that failed (non-zero exit status, excepted or killed);
4. only with ``code=``: the creators whose ``code`` input has that label.

DataFrame contract (one row per polymer, sorted by canonical ``smiles``; with ``trials=True`` one row per polymer and
trial, sorted by ``smiles`` then ``trial``):

``smiles``, ``polymer_uuid``, ``source_ids`` (';'-joined), ``protocol``
    identity, and the protocol of the values in the row (of the ``aggregate``, else of the first Dict found).
``density``, ``density_std``, ``density_min``, ``density_max``, ``density_count``, ...
    the ``aggregate`` Dict (PI1070 names, :mod:`aiida_polyinf.common.properties`) and the values of the per-trial
    stages that have no aggregate (``thermal_conductivity``, ``ion_mobility``, ``glass_transition``: the newest Dict
    computed here; one trial per polymer today); with ``trials=True``, every per-trial Dict (``properties`` and
    those), one row per trial, with ``trial`` and ``seed``.
``<descriptor_set>.<name>``
    the ``descriptors`` Dicts, one prefix per descriptor set (``qmex.homo_eV``, ``radonpy_qm.qm_homo_monomer``);
    ``ff.<name>`` for ``ff_descriptors``.
``uuid.<descriptor_set or link label>``
    the uuid of the Dict each value came from (``uuid.radonpy_qm``, ``uuid.aggregate``, ``uuid.ff_descriptors``,
    ``uuid.properties``...).
``missing.<stage>``
    empty when the stage has values, else why not: the failed process (``QmWorkChain [310] message``) or
    ``not computed``; ``missing.values`` lists single values a Dict records as missing (``name: reason``).

Where a polymer has several Dicts for the same column group, the one kept is: computed here before imported
(``external:`` protocols), then the latest. Pass ``protocol=`` to choose.
"""

from __future__ import annotations

import contextlib
import typing as t
import uuid as uuid_module

from aiida import orm

from ..common import properties
from ..data.polymer import PolymerData
from ..common import values as V

#: The stages that always get a ``missing.<stage>`` column.
CORE_STAGES = ('qm', 'ff', 'md')
NOT_COMPUTED = 'not computed'
FAILED_STATES = ('excepted', 'killed')


def rows(query: orm.QueryBuilder, batch_size: int = 10_000) -> list[list]:
    """``query.all()`` for a query that projects only columns and attributes, never whole entities.

    ``QueryBuilder.all`` passes every projected value through ``aiida.orm.convert.get_orm_entity``, which for a
    projected attribute dict recurses into every value and raises and catches a ``TypeError`` on each number: most
    of the export's time on thousands of Dicts. Column projections need no conversion, so the rows of the backend
    query are used as they are. Even the backend's ``iterall`` tries ``get_backend_entity`` on every value (a
    ``TypeError`` raised and caught per cell, a quarter of the time on 65,000 Dicts): the statement is executed
    here instead, converting only UUIDs to strings as ``iterall`` does. Falls back to ``iterall`` for a backend
    without that SQLAlchemy query.
    """
    impl = query._impl  # noqa: SLF001
    data = query.as_dict()
    try:
        get_query, get_session, backend = impl.get_query, impl.get_session, impl._backend  # noqa: SLF001
    except AttributeError:
        return [list(row) for row in impl.iterall(data, batch_size)]
    statement = get_query(data).query.statement.execution_options(yield_per=batch_size)
    session = get_session()
    with contextlib.nullcontext() if session.in_nested_transaction() else backend.transaction():
        result = session.execute(statement)
        return [[str(v) if isinstance(v, uuid_module.UUID) else v for v in row] for row in result]


_RESERVED = frozenset(V.RESERVED)


def _split_values(attributes: dict) -> tuple[dict, dict]:
    """:func:`.values.split_values` (same result), with a set lookup: it runs on every value of every Dict."""
    values = {k: v for k, v in attributes.items() if k not in _RESERVED and k[:1] != '_'}
    meta = {k: attributes[k] for k in V.RESERVED if k in attributes}
    return values, meta


def _as_list(value) -> list | None:
    if value is None:
        return None
    if isinstance(value, (str, int)):
        return [value]
    return list(value)


def _polymer_query(group: str | None) -> orm.QueryBuilder:
    query = orm.QueryBuilder()
    if group is not None:
        query.append(orm.Group, filters={'label': group}, tag='group')
        query.append(PolymerData, with_group='group', tag='polymer')
    else:
        query.append(PolymerData, tag='polymer')
    return query


def _column_group(label: str, meta: dict) -> str:
    """The key under which a Dict's values are prefixed and its uuid reported."""
    if label == 'descriptors':
        return meta.get(V.DESCRIPTOR_SET) or 'descriptors'
    return label


def _prefix(label: str, group: str) -> str:
    if label == 'descriptors':
        return f'{group}.'
    if label == 'ff_descriptors':
        return 'ff.'
    return ''  # aggregate and per-trial properties keep their bare PI1070 names


def _priority(protocol: str | None, ctime, uuid: str) -> tuple:
    """Sort key: the best Dict sorts last (computed before imported, then latest)."""
    return (not V.is_external(protocol), ctime, uuid)


def _failure_reason(label, status, message, state) -> str:
    if state in FAILED_STATES:
        return f'{label} {state}' + (f': {message}' if message else '')
    return f'{label} [{status}]' + (f' {message}' if message else '')


def _value_columns_order(columns: t.Iterable[str]) -> list[str]:
    """Aggregate columns in PI1070's order, then any other bare names sorted, then prefixed columns sorted."""
    known = []
    for quantity in properties.PROPERTIES.values():
        known.extend(properties.aggregate_keys(quantity.name))
    for term in properties.PI1070_TC_TERMS:
        known.extend(properties.aggregate_keys(term))
    columns = set(columns)
    ordered = [c for c in known if c in columns]
    rest = sorted(c for c in columns if c not in set(ordered))
    bare = [c for c in rest if '.' not in c]
    prefixed = [c for c in rest if '.' in c]
    return ordered + bare + prefixed


def load_dataset(
    group: str | None,
    protocol: str | t.Iterable[str] | None = None,
    properties_: t.Iterable[str] | None = None,
    trials: bool = False,
    *,
    stage: str | t.Iterable[str] | None = None,
    version: str | t.Iterable[str] | None = None,
    code: str | t.Iterable[str] | None = None,
    exit_status: int | t.Iterable[int] | None = None,
    descriptor_set: str | t.Iterable[str] | None = None,
    **kwargs,
):
    """The values of the polymers of ``group`` (all polymers if None) as a DataFrame (see the module docstring).

    :param protocol: keep only Dicts of these protocols (``fast``, ``external:radonpy``...).
    :param properties_: keep only these value names (bare names, e.g. ``density``; aggregate suffixes follow);
        also accepted as ``properties=``.
    :param trials: one row per polymer and trial, from the per-trial Dicts.
    :param stage: keep only the Dicts and failures of these stages (``qm``, ``ff``, ``md``, ...).
    :param version: keep only Dicts whose ``version`` (package version) is one of these.
    :param code: keep only Dicts whose creator ran one of these codes (full label ``pyscf@localhost``).
    :param exit_status: keep only polymers with a process of the selected stages that ended with this status.
    :param descriptor_set: keep only these descriptor sets (``qmex``, ``radonpy_qm``).
    """
    import pandas as pd

    if 'properties' in kwargs:
        properties_ = kwargs.pop('properties')
    if kwargs:
        raise TypeError(f'unexpected argument(s): {", ".join(kwargs)}')
    protocols = _as_list(protocol)
    stages = _as_list(stage)
    versions = _as_list(version)
    codes = _as_list(code)
    statuses = _as_list(exit_status)
    sets = _as_list(descriptor_set)
    wanted = set(_as_list(properties_) or [])

    labels = [label for label, s in V.LINK_STAGES.items() if stages is None or s in stages]
    if trials:  # the per-trial values replace their aggregate
        labels = [label for label in labels if label != 'aggregate']
    else:  # the aggregates, and the values of per-trial stages that have none (nemd, ions, tg), as they are
        labels = [label for label in labels if label not in V.TRIAL_LINKS or label in V.UNAGGREGATED_LINKS]

    # 1. The polymers.
    query = _polymer_query(group)
    query.add_projection('polymer', ['id', 'uuid', 'attributes.smiles', 'extras.source_ids'])
    polymers = {pk: (uuid, smiles, ';'.join(ids or [])) for pk, uuid, smiles, ids in rows(query)}

    # 2. The Dicts of values, through their creator.
    dict_filters: dict = {}
    if protocols is not None:
        dict_filters['attributes.protocol'] = {'in': protocols}
    if versions is not None:
        dict_filters['attributes.version'] = {'in': versions}
    query = _polymer_query(group)
    query.add_projection('polymer', 'id')
    query.append(orm.CalculationNode, with_incoming='polymer', tag='creator', project=['uuid'])
    query.append(
        orm.Dict,
        with_incoming='creator',
        edge_filters={'label': {'in': labels}, 'type': 'create'},
        edge_project=['label'],
        filters=dict_filters,
        project=['uuid', 'ctime', 'attributes'],
        tag='values',
    )
    found = rows(query) if labels else []

    if codes is not None:
        code_query = orm.QueryBuilder()
        code_query.append(orm.AbstractCode, tag='code', project='label')
        code_query.append(orm.Computer, with_node='code', project='label')
        code_query.append(orm.CalculationNode, with_incoming='code', project='uuid')
        with_code = {uuid for label, computer, uuid in code_query.all() if f'{label}@{computer}' in codes}
        found = [row for row in found if row[1] in with_code]

    # 3. Failed processes with the polymer as a direct input.
    query = _polymer_query(group)
    query.add_projection('polymer', 'id')
    query.append(
        orm.ProcessNode,
        with_incoming='polymer',
        tag='process',
        filters={
            'or': [
                {'attributes.process_state': {'in': FAILED_STATES}},
                {'attributes.exit_status': {'>': 0}},
            ]
        },
        project=[
            'uuid',
            'ctime',
            'attributes.process_label',
            'attributes.exit_status',
            'attributes.exit_message',
            'attributes.process_state',
            'extras.' + V.EXTRA_STAGE,
        ],
    )
    failures: dict[tuple[int, str], tuple] = {}
    failed_status: dict[int, set] = {}
    for pk, uuid, ctime, label, status, message, state, extra_stage in rows(query):
        process_stage = V.stage_of_process(label, extra_stage)
        if stages is not None and process_stage not in stages:
            continue
        failed_status.setdefault(pk, set()).add(status)
        key = (pk, process_stage)
        if key not in failures or (ctime, uuid) > failures[key][0]:
            failures[key] = ((ctime, uuid), _failure_reason(label, status, message, state))

    if statuses is not None:
        polymers = {pk: v for pk, v in polymers.items() if failed_status.get(pk, set()) & set(statuses)}

    # Choose one Dict per polymer (and trial) and column group.
    chosen: dict[tuple, tuple] = {}
    for pk, creator_uuid, uuid, ctime, attributes, label in found:
        if pk not in polymers:
            continue
        values, meta = _split_values(attributes or {})
        group_key = _column_group(label, meta)
        if sets is not None and label == 'descriptors' and group_key not in sets:
            continue
        trial = meta.get(V.TRIAL) if trials and label in V.TRIAL_LINKS else None
        key = (pk, trial, label, group_key)
        rank = _priority(meta.get(V.PROTOCOL), ctime, uuid)
        if key not in chosen or rank > chosen[key][0]:
            chosen[key] = (rank, uuid, values, meta, attributes.get(V.MISSING) or {})

    def keep(name: str) -> bool:
        if not wanted:
            return True
        base = name
        for suffix in properties.AGGREGATE_SUFFIXES:
            if name.endswith(suffix) and name[: -len(suffix)] in wanted:
                base = name[: -len(suffix)]
        return base in wanted

    # Build the rows.
    table: dict[tuple, dict] = {}
    polymer_level: dict[int, dict] = {pk: {} for pk in polymers}
    trial_rows: dict[int, dict] = {}
    present_stages: dict[int, set] = {pk: set() for pk in polymers}
    protocol_of: dict[int, dict] = {pk: {} for pk in polymers}
    not_int: set[str] = set()
    units: dict[str, str] = {}
    versions_seen: set[str] = set()
    for (pk, trial, label, group_key), (rank, uuid, values, meta, missing) in sorted(
        chosen.items(), key=lambda item: (item[0][0], item[0][1] is not None, item[0][1] or 0, item[0][2:])
    ):
        prefix = _prefix(label, group_key)
        target = polymer_level[pk] if trial is None else trial_rows.setdefault(pk, {}).setdefault(trial, {})
        # Per-value work in comprehensions and set operations: 65,000 Dicts of ~50 values make millions of them.
        if prefix:
            kept = {prefix + name: value for name, value in values.items()}
        elif wanted:
            kept = {name: value for name, value in values.items() if keep(name)}
        else:
            kept = values
        target.update(kept)
        unsure = kept.keys() - not_int  # after the first Dicts, only the integer columns are left to check
        not_int.update(name for name in unsure if type(kept[name]) is not int)  # bool and float: not Int64
        target[f'uuid.{group_key}'] = uuid
        dict_units = {prefix + name: unit for name, unit in (meta.get(V.UNITS) or {}).items()}
        for name in dict_units.keys() - units.keys():  # the first unit seen for a column wins
            units[name] = dict_units[name]
        if meta.get(V.VERSION):
            versions_seen.add(str(meta[V.VERSION]))
        if missing:
            listed = target.get('missing.values', '')
            extra = '; '.join(f'{prefix}{name}: {reason}' for name, reason in sorted(missing.items()) if keep(name))
            target['missing.values'] = '; '.join(filter(None, [listed, extra]))
        if trial is not None:
            target['trial'] = trial
            if V.SEED in meta:
                target['seed'] = meta[V.SEED]
        present_stages[pk].add(V.stage_of_link(label))
        protocol_of[pk].setdefault(label, meta.get(V.PROTOCOL))

    stage_columns = set(stages) if stages is not None else set(CORE_STAGES)
    stage_columns |= {s for (_, s) in failures}
    for pk in polymers:
        stage_columns |= present_stages[pk]

    for pk, (uuid, smiles, source_ids) in polymers.items():
        protocols_here = protocol_of[pk]
        row_protocol = next(
            (protocols_here[label] for label in ('aggregate', 'properties', *V.LINK_STAGES) if label in protocols_here),
            None,
        )
        base = {'smiles': smiles, 'polymer_uuid': uuid, 'source_ids': source_ids, 'protocol': row_protocol or ''}
        for stage_name in sorted(stage_columns):
            if stage_name in present_stages[pk]:
                reason = ''
            elif (pk, stage_name) in failures:
                reason = failures[(pk, stage_name)][1]
            else:
                reason = NOT_COMPUTED
            base[f'missing.{stage_name}'] = reason
        base.update(polymer_level[pk])
        if trials and trial_rows.get(pk):
            for trial, values in trial_rows[pk].items():
                row = dict(base)
                merged = '; '.join(filter(None, [base.get('missing.values', ''), values.pop('missing.values', '')]))
                row.update(values)
                if merged:
                    row['missing.values'] = merged
                table[(smiles, trial)] = row
        else:
            table[(smiles, -1)] = base

    ordered = [table[key] for key in sorted(table)]
    frame = pd.DataFrame.from_records(ordered)
    head = ['smiles', 'polymer_uuid', 'source_ids', 'protocol'] + (['trial', 'seed'] if trials else [])
    for column in head:
        if column not in frame.columns:
            frame[column] = pd.Series(dtype='object' if column in ('smiles', 'polymer_uuid') else 'Int64')
    others = [c for c in frame.columns if c not in head]
    values_columns = [c for c in others if not c.startswith(('uuid.', 'missing.'))]
    tail = sorted(c for c in others if c.startswith('uuid.')) + sorted(c for c in others if c.startswith('missing.'))
    frame = frame[head + _value_columns_order(values_columns) + tail]
    for column in frame.columns:
        if column.startswith(('missing.', 'uuid.')) or column in ('smiles', 'polymer_uuid', 'source_ids', 'protocol'):
            frame[column] = frame[column].fillna('').astype(str)
        elif column in ('trial', 'seed') or (column in values_columns and column not in not_int):
            frame[column] = frame[column].astype('Int64')
        else:
            frame[column] = frame[column].astype('float64')
    frame = frame.reset_index(drop=True)
    frame.attrs['units'] = {c: units[c] for c in frame.columns if c in units}
    frame.attrs['versions'] = sorted(versions_seen)
    return frame

