"""Find polymers (pk, uuid, SMILES, source id, SMARTS) and describe everything stored about one of them."""

from __future__ import annotations

import re

from aiida import orm

from ..data.polymer import PolymerData
from ..common import values as V
from .query import rows

UUID_RE = re.compile(r'^[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){0,3}(-?[0-9a-fA-F]{1,12})?$')


class NotFound(ValueError):
    pass


def _all_polymers() -> list[list]:
    query = orm.QueryBuilder().append(PolymerData, project=['id', 'attributes.smiles', 'extras.source_ids'])
    return rows(query)


def resolve(identifier: str) -> list[int]:
    """Pks of the polymers ``identifier`` names: a pk, a uuid (or its prefix), a source id or a SMILES."""
    from ..campaign.intake import existing_polymers
    from ..polymers.smiles import IntakeError, parse_repeat_unit

    text = identifier.strip()
    if text.isdigit():
        found = orm.QueryBuilder().append(PolymerData, filters={'id': int(text)}, project='id')
        if found.count():
            return [int(text)]
    if UUID_RE.match(text) and len(text) >= 8:
        found = orm.QueryBuilder().append(PolymerData, filters={'uuid': {'like': f'{text.lower()}%'}}, project='id')
        pks = rows(found)
        if pks:
            return sorted(row[0] for row in pks)
    matches = []
    for pk, _, ids in _all_polymers():
        for source_id in ids or []:
            if source_id == text or source_id.split(':', 1)[-1] == text:
                matches.append(pk)
    if matches:
        return sorted(set(matches))
    try:
        canonical = parse_repeat_unit(text).smiles
    except IntakeError as error:
        raise NotFound(f'{identifier!r} is no stored pk, uuid or source id, nor a repeat-unit SMILES: {error}') from None
    pk = existing_polymers([canonical]).get(canonical)
    if pk is None:
        raise NotFound(f'no stored polymer with repeat unit {canonical}')
    return [pk]


def search_smarts(pattern: str) -> list[tuple[int, str, list[str]]]:
    """Stored polymers whose repeat unit contains the SMARTS ``pattern``: ``(pk, smiles, source ids)``, by SMILES."""
    from rdkit import Chem

    query_mol = Chem.MolFromSmarts(pattern)
    if query_mol is None:
        raise NotFound(f'unparsable SMARTS {pattern!r}')
    found = []
    for pk, smiles, ids in _all_polymers():
        mol = Chem.MolFromSmiles(smiles)
        if mol is not None and mol.HasSubstructMatch(query_mol):
            found.append((pk, smiles, list(ids or [])))
    return sorted(found, key=lambda item: item[1])


def _format(value, unit: str) -> str:
    text = f'{value:.6g}' if isinstance(value, float) else str(value)
    return f'{text} {unit}'.rstrip()


def _short(value) -> str:
    """A setting as shown: long lists (the Tg plateaus, the NEMD profiles) by their length, a mapping (the basis set
    of each element, the program versions) as ``key value`` pairs."""
    if isinstance(value, list) and len(value) > 6:
        return f'[{len(value)} values]'
    if isinstance(value, dict):
        return ', '.join(f'{key} {_short(item)}' for key, item in value.items()) or '-'
    return str(value)


def describe(pk: int) -> str:
    """A report of the polymer: identity, stages and their processes, every value with where it came from."""
    polymer = orm.load_node(pk)
    lines = [
        f'PolymerData pk {polymer.pk}  uuid {polymer.uuid}',
        f'  smiles         {polymer.smiles}',
        f'  smiles input   {polymer.smiles_input}',
        f'  capped monomer {polymer.capped_smiles}',
        f'  formula        {polymer.formula}',
        f'  sources        {", ".join(polymer.base.extras.get("source_ids", [])) or "-"}',
    ]
    groups = orm.QueryBuilder().append(PolymerData, filters={'id': pk}, tag='p')
    groups.append(orm.Group, with_node='p', project='label')
    lines.append(f'  groups         {", ".join(sorted(r[0] for r in rows(groups))) or "-"}')

    # Processes with the polymer as a direct input: the stages and their states.
    query = orm.QueryBuilder().append(PolymerData, filters={'id': pk}, tag='p')
    query.append(
        orm.ProcessNode,
        with_incoming='p',
        project=[
            'id',
            'attributes.process_label',
            'attributes.process_state',
            'attributes.exit_status',
            'attributes.exit_message',
            'extras.' + V.EXTRA_STAGE,
            'extras.polyinf_recorded',
        ],
        tag='process',
    )
    query.order_by({'process': {'id': 'asc'}})
    lines.append('stages')
    processes = rows(query)
    for ppk, label, state, status, message, extra_stage, recorded in processes:
        stage = V.stage_of_process(label, extra_stage)
        status_text = f'[{status}]' if status is not None else ''
        note = ' (recorded in batch)' if recorded else ''
        lines.append(f'  {stage:<7} {label} pk {ppk}: {state} {status_text} {message or ""}{note}'.rstrip())
    if not processes:
        lines.append('  (no process has this polymer as an input)')

    # Values: Dict <- creator <- polymer, plus the creator's code and other inputs.
    query = orm.QueryBuilder().append(PolymerData, filters={'id': pk}, tag='p')
    query.append(orm.CalculationNode, with_incoming='p', tag='c', project=['id', 'attributes.process_label'])
    query.append(
        orm.Dict,
        with_incoming='c',
        edge_filters={'label': {'in': list(V.LINK_STAGES)}, 'type': 'create'},
        edge_project=['label'],
        project=['uuid', 'attributes'],
        tag='values',
    )
    found = rows(query)
    creators = sorted({row[0] for row in found})
    inputs: dict[int, list] = {}
    if creators:
        query = orm.QueryBuilder().append(orm.CalculationNode, filters={'id': {'in': creators}}, tag='c', project='id')
        query.append(orm.Node, with_outgoing='c', project=['id', 'node_type', 'label', 'attributes'],
                     edge_project=['label'])
        for cpk, npk, node_type, label, attributes, link in rows(query):
            if link == 'polymer' or node_type.startswith('data.polyinf'):
                continue
            if node_type.startswith('data.core.code') or 'code' in node_type.split('.')[:3]:
                text = f'code {label or npk}'
            elif node_type.startswith('data.core.singlefile'):
                text = f'table {attributes.get("filename")} sha256 {attributes.get("sha256", "?")[:16]}'
            elif link == 'source':
                text = f'source {attributes.get("source")} {attributes.get("dataset")} ({attributes.get("licence")})'
            else:
                text = f'{link} pk {npk}'
            inputs.setdefault(cpk, []).append(text)
    lines.append('values')
    if not found:
        lines.append('  (none)')
    for cpk, process_label, uuid, attributes, link in sorted(found, key=lambda r: (r[4], r[3].get('trial') or 0, r[2])):
        values, meta = V.split_values(attributes)
        protocol = meta.get(V.PROTOCOL, '?')
        origin = (
            f'imported from {meta.get(V.SOURCE, "?")}:{meta.get(V.SOURCE_ID, "?")}'
            if V.is_external(protocol)
            else 'computed here'
        )
        head = f'  {link}'
        if meta.get(V.DESCRIPTOR_SET):
            head += f' [{meta[V.DESCRIPTOR_SET]}]'
        if meta.get(V.TRIAL) is not None:
            head += f' trial {meta[V.TRIAL]} seed {meta.get(V.SEED)}'
        lines.append(
            f'{head}: Dict {uuid[:8]} by {process_label} pk {cpk}, protocol {protocol}, '
            f'version {meta.get(V.VERSION, "?")}, {origin}'
        )
        for text in inputs.get(cpk, []):
            lines.append(f'      input: {text}')
        units = meta.get(V.UNITS) or {}
        for name in sorted(values):
            lines.append(f'      {name:<40} {_format(values[name], units.get(name, ""))}')
        for name, reason in sorted((attributes.get(V.MISSING) or {}).items()):
            lines.append(f'      {name:<40} missing: {reason}')
        if meta.get(V.SETTINGS):
            lines.append('      settings')
            for name, value in sorted(meta[V.SETTINGS].items()):
                lines.append(f'        {name:<38} {_short(value)}')
    return '\n'.join(lines)
