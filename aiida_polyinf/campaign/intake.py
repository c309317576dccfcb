"""Batch intake: store the good rows of a polymer table as ``PolymerData`` nodes in a group, reject the bad ones.

Every row is checked on its own before anything is stored, so a rejected row leaves no node behind, and the batch
goes on past it. A polymer already in the database (same canonical SMILES) is reused, not stored again.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import pathlib
import typing as t

from aiida import orm

from ..data.polymer import PolymerData
from ..polymers.smiles import MAX_HEAVY_ATOMS, IntakeError, parse_repeat_unit

REJECTED_COLUMNS = ('row', 'id', 'smiles', 'reason', 'message')


@dataclasses.dataclass
class Rejection:
    row: int
    id: str
    smiles: str
    reason: str
    message: str

    def line(self) -> str:
        return f'row {self.row} ({self.id or "no id"}): {self.reason}: {self.message}'


@dataclasses.dataclass
class ImportReport:
    group: str
    new: list[PolymerData] = dataclasses.field(default_factory=list)
    existing: list[PolymerData] = dataclasses.field(default_factory=list)
    rejected: list[Rejection] = dataclasses.field(default_factory=list)

    @property
    def polymers(self) -> list[PolymerData]:
        return self.new + self.existing

    def summary(self) -> str:
        return (
            f'{len(self.new)} new, {len(self.existing)} existing, {len(self.rejected)} rejected '
            f'-> group {self.group}'
        )


def read_rows(path: pathlib.Path) -> list[dict[str, str]]:
    """Rows of a CSV with at least the columns ``id`` and ``smiles``."""
    with open(path, newline='', encoding='utf-8') as handle:
        reader = csv.DictReader(handle)
        missing = {'id', 'smiles'} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f'{path}: missing column(s) {", ".join(sorted(missing))}; the CSV needs id,smiles')
        return list(reader)


def existing_polymers(smiles: t.Iterable[str] | None = None) -> dict[str, int]:
    """Map canonical SMILES to the pk of the stored polymer, in one query."""
    query = orm.QueryBuilder().append(PolymerData, project=['attributes.smiles', 'id'])
    if smiles is not None:
        query.add_filter(PolymerData, {'attributes.smiles': {'in': sorted(set(smiles))}})
    return dict(query.all())


def find_polymer(smiles: str) -> PolymerData | None:
    """The stored polymer of a repeat-unit SMILES, written any way, or None."""
    canonical = parse_repeat_unit(smiles).smiles
    pk = existing_polymers([canonical]).get(canonical)
    return orm.load_node(pk) if pk is not None else None


@dataclasses.dataclass(frozen=True, eq=False)
class QmCheck:
    """The QM stage a batch is imported for: a campaign's protocol (a name of ``polymer.yaml``) and its overrides."""

    protocol: str
    overrides: dict | None = None

    @functools.cached_property
    def parameters(self) -> dict | None:
        """The QM driver parameters (None: the campaign runs no QM stage); a basis name PySCF's library lacks raises
        :class:`aiida_polyinf.protocols.ProtocolError` here."""
        from ..protocols import qm_parameters

        return qm_parameters(self.protocol, self.overrides)

    def problem(self, elements) -> str | None:
        """Why the QM stage cannot compute a repeat unit with ``elements`` (the caps' C and H added), or None (the
        test of :func:`aiida_polyinf.protocols.qm_unsupported`)."""
        from ..qm.basis import unsupported

        if self.parameters is None:
            return None
        problems = unsupported(self.parameters, set(elements) | {'C', 'H'})
        if not problems:
            return None
        return '; '.join(
            f'element {element}: the QM protocol {self.protocol} cannot compute it ({why})'
            for element, why in problems.items()
        )


def check_row(
    number: int, identifier: str, smiles: str, seen: dict[str, tuple[int, str]], id_column: str = 'id',
    max_heavy_atoms: int = MAX_HEAVY_ATOMS, qm: QmCheck | None = None,
):
    """The repeat unit of one table row, recorded in ``seen`` (canonical SMILES -> first row and id).

    :raises IntakeError: an empty id, a SMILES ``parse_repeat_unit`` rejects, a duplicate of an earlier row, or
        (with ``qm``) an element the campaign's QM protocol has no basis for (reason ``basis``).
    """
    if not identifier:
        raise IntakeError('missing_id', f'the {id_column} column is empty')
    unit = parse_repeat_unit(smiles, max_heavy_atoms=max_heavy_atoms)
    if qm is not None:
        problem = qm.problem(unit.elements)
        if problem:
            raise IntakeError('basis', problem)
    if unit.smiles in seen:
        first_row, first_id = seen[unit.smiles]
        raise IntakeError('duplicate', f'same polymer as row {first_row} ({first_id}): {unit.smiles}')
    seen[unit.smiles] = (number, identifier)
    return unit


def import_rows(
    rows: t.Iterable[dict[str, str]],
    group_label: str,
    source: str,
    max_heavy_atoms: int = MAX_HEAVY_ATOMS,
    on_row: t.Callable[[int, str, object], None] | None = None,
    qm: QmCheck | None = None,
) -> ImportReport:
    """Check and store rows (dicts with ``id``, ``smiles`` and optional metadata) into the group ``group_label``.

    ``on_row(row_number, status, item)`` is called for each row, with status ``new``, ``existing`` or ``rejected``.
    ``qm``: the campaign's QM stage; a repeat unit with an element it cannot compute is rejected (reason ``basis``).
    """
    from ..calculations.intake import register_polymer

    group, _ = orm.Group.collection.get_or_create(group_label)
    report = ImportReport(group=group.label)
    known = existing_polymers()
    seen: dict[str, tuple[int, str]] = {}

    for number, row in enumerate(rows, start=1):
        identifier = (row.get('id') or '').strip()
        smiles = (row.get('smiles') or '').strip()
        try:
            unit = check_row(number, identifier, smiles, seen, max_heavy_atoms=max_heavy_atoms, qm=qm)
        except IntakeError as error:
            rejection = Rejection(number, identifier, smiles, error.reason, error.message)
            report.rejected.append(rejection)
            if on_row:
                on_row(number, 'rejected', rejection)
            continue

        metadata = {k: v for k, v in row.items() if k not in ('id', 'smiles') and k is not None and v not in ('', None)}
        if unit.smiles in known:
            polymer = orm.load_node(known[unit.smiles])
            status = 'existing'
            report.existing.append(polymer)
        else:
            polymer = register_polymer(orm.Str(smiles))
            known[unit.smiles] = polymer.pk
            status = 'new'
            report.new.append(polymer)
        polymer.add_source(source, identifier, metadata)
        group.add_nodes(polymer)
        if on_row:
            on_row(number, status, polymer)
    return report


def write_rejected(rejected: list[Rejection], path: pathlib.Path) -> None:
    """Write the rejected rows, one named reason each."""
    with open(path, 'w', newline='', encoding='utf-8') as handle:
        writer = csv.writer(handle)
        writer.writerow(REJECTED_COLUMNS)
        for item in rejected:
            writer.writerow([item.row, item.id, item.smiles, item.reason, item.message])


def import_file(path: pathlib.Path, group_label: str | None = None, **kwargs) -> ImportReport:
    """Import a polymer CSV into ``group_label`` (default ``polyinf/<file stem>``)."""
    path = pathlib.Path(path)
    return import_rows(read_rows(path), group_label or f'polyinf/{path.stem}', source=path.stem, **kwargs)
