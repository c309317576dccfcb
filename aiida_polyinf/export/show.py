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


def record(pk: int) -> dict:
    """Everything stored about a polymer, as data: identity, groups, the processes with it as an input (stages and
    states), and every values Dict with the process that created it, that process's other inputs (code, table,
    source) and the Dict's protocol, origin (computed here or imported), units, missing values and settings.

    One source for ``polyinf show`` (:func:`describe`) and the web API's polymer page.
    """
    polymer = orm.load_node(pk)
    out = {
        'pk': polymer.pk, 'uuid': polymer.uuid, 'smiles': polymer.smiles, 'smiles_input': polymer.smiles_input,
        'capped_smiles': polymer.capped_smiles, 'formula': polymer.formula,
        'source_ids': list(polymer.base.extras.get('source_ids', [])),
    }
    groups = orm.QueryBuilder().append(PolymerData, filters={'id': pk}, tag='p')
    groups.append(orm.Group, with_node='p', project='label')
    out['groups'] = sorted(r[0] for r in rows(groups))

    # Processes with the polymer as a direct input: the stages and their states.
    query = orm.QueryBuilder().append(PolymerData, filters={'id': pk}, tag='p')
    query.append(
        orm.ProcessNode,
        with_incoming='p',
        project=[
            'id',
            'uuid',
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
    out['processes'] = [
        {'pk': ppk, 'uuid': puuid, 'stage': V.stage_of_process(label, extra_stage), 'label': label, 'state': state,
         'exit_status': status, 'exit_message': message, 'recorded_in_batch': bool(recorded)}
        for ppk, puuid, label, state, status, message, extra_stage, recorded in rows(query)
    ]

    # Values: Dict <- creator <- polymer, plus the creator's code and other inputs.
    query = orm.QueryBuilder().append(PolymerData, filters={'id': pk}, tag='p')
    query.append(orm.CalculationNode, with_incoming='p', tag='c',
                 project=['id', 'uuid', 'attributes.process_label'])
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
        query.append(orm.Node, with_outgoing='c', project=['id', 'uuid', 'node_type', 'label', 'attributes'],
                     edge_project=['label'])
        for cpk, npk, nuuid, node_type, label, attributes, link in rows(query):
            if link == 'polymer' or node_type.startswith('data.polyinf'):
                continue
            entry = {'link': link, 'pk': npk, 'uuid': nuuid}
            if node_type.startswith('data.core.code') or 'code' in node_type.split('.')[:3]:
                entry.update(kind='code', text=f'code {label or npk}')
            elif node_type.startswith('data.core.singlefile'):
                entry.update(kind='table', text=f'table {attributes.get("filename")} sha256 '
                                                 f'{attributes.get("sha256", "?")[:16]}')
            elif link == 'source':
                entry.update(kind='source', text=f'source {attributes.get("source")} {attributes.get("dataset")} '
                                                  f'({attributes.get("licence")})')
            else:
                entry.update(kind='input', text=f'{link} pk {npk}')
            inputs.setdefault(cpk, []).append(entry)
    out['values'] = []
    for cpk, cuuid, process_label, uuid, attributes, link in sorted(
            found, key=lambda r: (r[5], r[4].get('trial') or 0, r[3])):
        values, meta = V.split_values(attributes)
        protocol = meta.get(V.PROTOCOL, '?')
        external = V.is_external(protocol)
        out['values'].append({
            'link': link, 'uuid': uuid, 'descriptor_set': meta.get(V.DESCRIPTOR_SET), 'trial': meta.get(V.TRIAL),
            'seed': meta.get(V.SEED), 'protocol': protocol, 'version': meta.get(V.VERSION, '?'),
            'origin': (f'imported from {meta.get(V.SOURCE, "?")}:{meta.get(V.SOURCE_ID, "?")}' if external
                       else 'computed here'),
            'source': meta.get(V.SOURCE) if external else 'aiida-polyinf',
            'creator': {'pk': cpk, 'uuid': cuuid, 'label': process_label, 'inputs': inputs.get(cpk, [])},
            'units': meta.get(V.UNITS) or {}, 'values': values, 'missing': attributes.get(V.MISSING) or {},
            'settings': meta.get(V.SETTINGS) or {},
        })
    return out


def describe(pk: int) -> str:
    """A report of the polymer: identity, stages and their processes, every value with where it came from."""
    data = record(pk)
    lines = [
        f'PolymerData pk {data["pk"]}  uuid {data["uuid"]}',
        f'  smiles         {data["smiles"]}',
        f'  smiles input   {data["smiles_input"]}',
        f'  capped monomer {data["capped_smiles"]}',
        f'  formula        {data["formula"]}',
        f'  sources        {", ".join(data["source_ids"]) or "-"}',
        f'  groups         {", ".join(data["groups"]) or "-"}',
        'stages',
    ]
    for proc in data['processes']:
        status_text = f'[{proc["exit_status"]}]' if proc['exit_status'] is not None else ''
        note = ' (recorded in batch)' if proc['recorded_in_batch'] else ''
        lines.append(f'  {proc["stage"]:<7} {proc["label"]} pk {proc["pk"]}: {proc["state"]} {status_text} '
                     f'{proc["exit_message"] or ""}{note}'.rstrip())
    if not data['processes']:
        lines.append('  (no process has this polymer as an input)')
    lines.append('values')
    if not data['values']:
        lines.append('  (none)')
    for item in data['values']:
        head = f'  {item["link"]}'
        if item['descriptor_set']:
            head += f' [{item["descriptor_set"]}]'
        if item['trial'] is not None:
            head += f' trial {item["trial"]} seed {item["seed"]}'
        lines.append(f'{head}: Dict {item["uuid"][:8]} by {item["creator"]["label"]} pk {item["creator"]["pk"]}, '
                     f'protocol {item["protocol"]}, version {item["version"]}, {item["origin"]}')
        for entry in item['creator']['inputs']:
            lines.append(f'      input: {entry["text"]}')
        for name in sorted(item['values']):
            lines.append(f'      {name:<40} {_format(item["values"][name], item["units"].get(name, ""))}')
        for name, reason in sorted(item['missing'].items()):
            lines.append(f'      {name:<40} missing: {reason}')
        if item['settings']:
            lines.append('      settings')
            for name, value in sorted(item['settings'].items()):
                lines.append(f'        {name:<38} {_short(value)}')
    return '\n'.join(lines)
