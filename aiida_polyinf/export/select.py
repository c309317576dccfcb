"""Selections of polymers within a dataset: the one query behind ``polyinf export`` and the web API's search.

A :class:`Selection` narrows the rows of :func:`.query.load_dataset` (one row per polymer, or per trial):

- ``identifier``: a source id (``PI1070:P010001``, or its bare id), or a repeat-unit SMILES in any writing
  (canonicalised);
- ``smarts``: the repeat unit contains this SMARTS pattern (``aiida_polyinf.polymers.search``);
- ``similar_to`` / ``min_similarity``: Tanimoto similarity (Morgan r=2, 2048 bits) of at least this much;
- ``ranges``: ``{column: (low, high)}`` on any value column of the dataset, in the units of its manifest (a bare
  property such as ``density``, or a descriptor such as ``qmex.homo_eV``); either bound may be None;
- ``stages``: ``{stage: state}`` with state ``done`` (values stored), ``failed`` (a failed process, no values) or
  ``missing`` (never computed).

Rows keep the dataset's order (canonical SMILES), so the same selection of the same database gives the same bytes
whichever way it is asked for. A bad selection raises :class:`SelectionError` naming the item and the reason.
"""

from __future__ import annotations

import dataclasses
import math
import typing as t

import numpy as np

STATES = ('done', 'failed', 'missing')


class SelectionError(ValueError):
    """A selection that cannot be applied: ``item`` names the parameter, the message the reason."""

    def __init__(self, item: str, message: str):
        super().__init__(f'{item}: {message}')
        self.item = item


@dataclasses.dataclass(frozen=True)
class Selection:
    identifier: str | None = None
    smarts: str | None = None
    similar_to: str | None = None
    min_similarity: float = 0.5
    ranges: t.Mapping[str, tuple] = dataclasses.field(default_factory=dict)
    stages: t.Mapping[str, str] = dataclasses.field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.identifier or self.smarts or self.similar_to or self.ranges or self.stages)

    def describe(self) -> dict:
        """The selection as JSON-able data (for the manifest), only the parts that are set."""
        out: dict = {}
        if self.identifier:
            out['identifier'] = self.identifier
        if self.smarts:
            out['smarts'] = self.smarts
        if self.similar_to:
            out['similar_to'] = self.similar_to
            out['min_similarity'] = self.min_similarity
        if self.ranges:
            out['ranges'] = {k: list(v) for k, v in sorted(self.ranges.items())}
        if self.stages:
            out['stages'] = dict(sorted(self.stages.items()))
        return out


def parse_range(text: str) -> tuple[str, tuple]:
    """``NAME:LOW:HIGH`` (either bound may be empty) as ``(name, (low, high))``."""
    parts = text.split(':')
    if len(parts) != 3 or not parts[0]:
        raise SelectionError('range', f'{text!r} is not NAME:LOW:HIGH (a bound may be empty, e.g. density:1.1:)')
    bounds = []
    for part in parts[1:]:
        if part.strip() == '':
            bounds.append(None)
            continue
        try:
            value = float(part)
        except ValueError:
            raise SelectionError('range', f'{text!r}: bound {part!r} is not a number') from None
        if not math.isfinite(value):
            raise SelectionError('range', f'{text!r}: bound {part!r} is not finite')
        bounds.append(value)
    return parts[0], tuple(bounds)


def value_columns(frame) -> list[str]:
    """The columns a range may select on: numeric values (not ids, uuids, reasons, trial or seed)."""
    skip = {'trial', 'seed'}
    return [c for c in frame.columns if c not in skip and not c.startswith(('uuid.', 'missing.'))
            and c not in ('smiles', 'polymer_uuid', 'source_ids', 'protocol') and frame[c].dtype.kind in 'fiu']


def _identifier_mask(frame, identifier: str) -> np.ndarray:
    from ..polymers.smiles import IntakeError, parse_repeat_unit

    text = identifier.strip()
    ids = frame['source_ids'].fillna('').astype(str)
    by_id = np.array([any(text == s or text == s.split(':', 1)[-1] for s in value.split(';') if s) for value in ids])
    if by_id.any():
        return by_id
    try:
        canonical = parse_repeat_unit(text).smiles
    except IntakeError as error:
        raise SelectionError('identifier', f'{identifier!r} is no source id and not a repeat-unit SMILES ({error})') \
            from None
    return (frame['smiles'] == canonical).to_numpy()


def _state(frame, stage: str) -> np.ndarray:
    from .query import NOT_COMPUTED

    column = f'missing.{stage}'
    if column not in frame:
        return np.full(len(frame), 'missing', dtype=object)
    reason = frame[column].fillna('').astype(str).to_numpy()
    return np.where(reason == '', 'done', np.where(reason == NOT_COMPUTED, 'missing', 'failed'))


def apply(frame, selection: Selection):
    """The rows of ``frame`` (a dataset in the contract of :mod:`.query`) that ``selection`` keeps, in order."""
    from ..polymers.search import SearchError, similarity, substructure_mask

    if selection.is_empty() or not len(frame):
        return frame
    keep = np.ones(len(frame), dtype=bool)
    if selection.identifier:
        keep &= _identifier_mask(frame, selection.identifier)
    for name, bounds in selection.ranges.items():
        if name not in frame.columns or name not in value_columns(frame):
            allowed = value_columns(frame)
            raise SelectionError('range', f'unknown value {name!r}; this dataset has {len(allowed)} value columns, '
                                          f'e.g. {", ".join(allowed[:8])}')
        low, high = (tuple(bounds) + (None, None))[:2]
        values = frame[name].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid='ignore'):
            inside = np.isfinite(values)
            if low is not None:
                inside &= values >= float(low)
            if high is not None:
                inside &= values <= float(high)
        keep &= inside
    for stage, state in selection.stages.items():
        if state not in STATES:
            raise SelectionError('stage', f'state {state!r} of stage {stage!r} is none of {", ".join(STATES)}')
        keep &= _state(frame, stage) == state
    smiles = frame['smiles'].astype(str).tolist()
    try:
        if selection.smarts:
            rows = np.flatnonzero(keep)
            keep[rows] = substructure_mask([smiles[i] for i in rows], selection.smarts)
        if selection.similar_to:
            if not 0.0 <= float(selection.min_similarity) <= 1.0:
                raise SelectionError('min_similarity', f'{selection.min_similarity} is not within 0 and 1')
            rows = np.flatnonzero(keep)
            keep[rows] = similarity([smiles[i] for i in rows], selection.similar_to) >= float(selection.min_similarity)
    except SearchError as error:
        raise SelectionError(error.reason, str(error)) from None
    return frame[keep].reset_index(drop=True)
