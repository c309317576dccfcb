"""The one convention for Dicts of values (descriptors, per-trial properties, aggregates) and how they hang together.

Every Dict of values is created (CREATE link) by a calcfunction or CalcJob that takes the ``PolymerData`` as a
DIRECT input, under one of the fixed link labels of :data:`LINK_STAGES`. Its attributes are the values keyed by name
(floats or ints; names from :mod:`aiida_polyinf.common.properties`), plus the reserved keys of :data:`RESERVED`:

``units``           ``{name: unit}`` of every value present
``_missing``        ``{name: reason}`` of every expected value that is absent (AiiDA refuses NaN: never store NaN)
``protocol``        protocol name (``fast``, ``production``, ... or ``external:<source>`` for imported values)
``descriptor_set``  which set of descriptors (``qmex`` computed here, ``radonpy_qm`` imported from PI1070, ...)
``version``         version of the package (aiida-polyinf, or the external source's dataset version) that made it
``seed``, ``trial`` the trial's seed and index, on per-trial Dicts (``properties``, NEMD and ion Dicts)
``source``          for imported values: the source name (``PI1070``), ``source_id`` the row id in that source
``settings``        non-numeric or run-setting metadata (temperature, tacticity, polymer class...), never a feature

Pure code (no AiiDA): the calcfunctions of every stage build their output Dicts with
:func:`aiida_polyinf.data.values.values_dict` (an ``orm.Dict`` of :func:`build_values`) and the export reads them back
with :func:`split_values`; neither side needs to know more than this module and the stage registry.
"""

from __future__ import annotations

import math
import typing as t

from . import stages

#: CREATE link label -> the pipeline stage whose values it carries (from the stage registry).
LINK_STAGES = stages.link_stages()
#: Labels of per-trial Dicts (with ``seed`` and ``trial``); the others are one per polymer and protocol.
TRIAL_LINKS = stages.trial_links()
#: Per-trial labels of stages without a per-polymer Dict: a per-polymer export row takes their values as they are.
UNAGGREGATED_LINKS = stages.unaggregated_trial_links()
#: Labels of per-polymer Dicts.
POLYMER_LINKS = stages.polymer_links()

UNITS = 'units'
MISSING = '_missing'
PROTOCOL = 'protocol'
DESCRIPTOR_SET = 'descriptor_set'
VERSION = 'version'
SEED = 'seed'
TRIAL = 'trial'
SOURCE = 'source'
SOURCE_ID = 'source_id'
SETTINGS = 'settings'
RESERVED = (UNITS, MISSING, PROTOCOL, DESCRIPTOR_SET, VERSION, SEED, TRIAL, SOURCE, SOURCE_ID, SETTINGS)

#: Descriptor sets: ``qmex`` is this project's QM (B3LYP/6-31G(d), CH3-capped), ``radonpy_qm`` RadonPy's, imported.
DESCRIPTOR_SETS = ('qmex', 'radonpy_qm')

#: Protocol prefix of imported values.
EXTERNAL_PREFIX = 'external:'

#: Process label -> stage, for reporting a failed process that made no Dict (``missing.<stage>`` of the export): the
#: stage registry's process labels, the PI1070 import, and the top-level chain (reported under ``md``, as before).
#: A process can also name its stage itself in the extra ``polyinf_stage``, which wins over this table.
PROCESS_STAGES = {
    **stages.process_stages(),
    'import_radonpy_row': 'import',
    'PolymerPropertiesWorkChain': 'md',
}
EXTRA_STAGE = 'polyinf_stage'


def is_external(protocol: str | None) -> bool:
    return bool(protocol) and protocol.startswith(EXTERNAL_PREFIX)


def build_values(
    values: t.Mapping[str, t.Any],
    *,
    units: t.Mapping[str, str] | None = None,
    missing: t.Mapping[str, str] | None = None,
    protocol: str | None = None,
    descriptor_set: str | None = None,
    version: str | None = None,
    seed: int | None = None,
    trial: int | None = None,
    source: str | None = None,
    source_id: str | None = None,
    settings: t.Mapping[str, t.Any] | None = None,
    unit_of: t.Callable[[str], str] | None = None,
) -> dict:
    """The attribute dict of a values Dict.

    A value that is ``None`` or NaN goes to ``_missing`` (reason ``not a number`` unless ``missing`` gives one).
    ``units`` defaults to :func:`aiida_polyinf.common.properties.unit` for every known name (``unit_of`` overrides it).
    """
    from . import properties

    unit_of = unit_of or properties.unit
    clean: dict[str, t.Any] = {}
    absent = dict(missing or {})
    for name, value in values.items():
        if name in RESERVED:
            raise ValueError(f'{name!r} is a reserved key of a values Dict')
        if value is None or (isinstance(value, float) and math.isnan(value)):
            absent.setdefault(name, 'not a number')
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f'value {name!r} is {type(value).__name__}, only numbers go in a values Dict')
        clean[name] = value
    all_units = {}
    for name in clean:
        if units and name in units:
            all_units[name] = units[name]
        else:
            try:
                all_units[name] = unit_of(name)
            except KeyError:
                pass
    attributes = dict(clean)
    attributes[UNITS] = all_units
    attributes[MISSING] = {k: absent[k] for k in sorted(absent) if k not in clean}
    for key, value in (
        (PROTOCOL, protocol),
        (DESCRIPTOR_SET, descriptor_set),
        (VERSION, version),
        (SEED, seed),
        (TRIAL, trial),
        (SOURCE, source),
        (SOURCE_ID, source_id),
    ):
        if value is not None:
            attributes[key] = value
    if settings:
        attributes[SETTINGS] = dict(settings)
    return attributes


def split_values(attributes: t.Mapping[str, t.Any]) -> tuple[dict, dict]:
    """Split the attributes of a values Dict into ``(values, metadata)``: the numbers, and the reserved keys."""
    values = {k: v for k, v in attributes.items() if k not in RESERVED and not k.startswith('_')}
    meta = {k: attributes[k] for k in RESERVED if k in attributes}
    return values, meta


def stage_of_link(label: str) -> str:
    return LINK_STAGES.get(label, label)


def stage_of_process(process_label: str | None, extra_stage: str | None = None) -> str:
    """The stage a process belongs to: its ``polyinf_stage`` extra, the table above, else its own label."""
    if extra_stage:
        return extra_stage
    return PROCESS_STAGES.get(process_label or '', process_label or 'unknown')
