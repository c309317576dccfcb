"""The one protocol source: every number of every protocol lives in the YAML files of this folder.

One file per protocol-driven process: ``polymer.yaml`` (which stages run, per-stage overrides) and one per stage that
has a protocol (``qm``, ``md``, ``nemd``, ``ions``, ``tg``; the stage registry names the file). Each file has
``default_protocol``, ``default_inputs`` and ``protocols`` (``fast``, ``moderate``, ``precise``, each with its
``description``); a protocol's inputs are ``default_inputs`` updated by the protocol, then by the user's overrides, all
through :func:`merge`. A stage's ``parameters`` is the whole parameter set its science code receives as a plain dict
(the science packages read no file and know no protocol name). Where ``precise`` is the same as ``moderate`` the file
says so and reuses moderate's block (a YAML alias).

Pure code (PyYAML only; the QM basis check, :func:`qm_parameters`, imports PySCF when called): the science
packages, the benchmarks and the CLI may all import it.
"""

from __future__ import annotations

import copy
import functools
import pathlib

import yaml

HERE = pathlib.Path(__file__).parent
#: Input keys whose contents are not checked against the protocol (AiiDA's CalcJob options, the LAMMPS settings, the
#: QM per-element basis and ECP maps, whose keys are element symbols and whose names the QM basis check resolves).
OPEN_KEYS = ('options', 'settings', 'basis_by_element', 'ecp_by_element')


class ProtocolError(ValueError):
    """A protocol name or an override that the protocol files do not know."""


def merge(left: dict, right: dict | None) -> dict:
    """A copy of ``left`` updated by ``right``, nested dictionaries merged key by key (the one merge of protocols)."""
    merged = copy.deepcopy(left)
    for key, value in (right or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@functools.lru_cache(maxsize=None)
def _load(name: str) -> dict:
    path = HERE / f'{name}.yaml'
    if not path.is_file():
        raise ProtocolError(f'no protocol file {name}.yaml in {HERE.name}/')
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def load(name: str) -> dict:
    """The content of ``<name>.yaml`` (a copy)."""
    return copy.deepcopy(_load(name))


def names(name: str = 'polymer') -> list[str]:
    """The protocol names of a file, in file order (``polymer``: what ``polyinf run --protocol`` offers)."""
    return list(_load(name)['protocols'])


def default_protocol(name: str = 'polymer') -> str:
    return _load(name)['default_protocol']


def descriptions(name: str = 'polymer') -> dict[str, str]:
    return {protocol: spec.get('description', '') for protocol, spec in _load(name)['protocols'].items()}


def inputs(name: str, protocol: str | None = None, overrides: dict | None = None) -> dict:
    """A protocol's inputs: ``default_inputs`` updated by the protocol, then by ``overrides``."""
    data = _load(name)
    protocol = protocol or data['default_protocol']
    if protocol not in data['protocols']:
        raise ProtocolError(f'unknown protocol {protocol!r} of {name}.yaml; choose from {", ".join(data["protocols"])}')
    result = merge(data.get('default_inputs', {}), data['protocols'][protocol])
    result.pop('description', None)
    return merge(result, overrides)


def parameters(name: str, protocol: str | None = None, overrides: dict | None = None) -> dict:
    """The ``parameters`` of a stage's protocol (what its science code receives), with ``overrides`` merged in."""
    return merge(inputs(name, protocol)['parameters'], overrides)


def reference(protocol: str) -> dict:
    """Every input a user may override in a campaign of ``protocol``: the polymer file's inputs with each stage's
    protocol inputs in its namespace (the QM ``parameters`` also take every key of the PySCF driver's input)."""
    from ..common.stages import STAGE_LIST
    from ..qm.driver import DEFAULT_INPUT

    tree = inputs('polymer', protocol)
    for stage in STAGE_LIST:
        if stage.protocol:
            stage_inputs = inputs(stage.protocol, protocol)
            if stage.name == 'qm':
                stage_inputs['parameters'] = merge(
                    {k: v for k, v in DEFAULT_INPUT.items() if k not in ('molecule', 'restart')},
                    stage_inputs['parameters'],
                )
            tree[stage.name] = merge(stage_inputs, tree.get(stage.name))
    return tree


def validate_overrides(overrides, protocol: str) -> dict:
    """``overrides`` (a mapping, e.g. read from ``polyinf run --overrides FILE.yaml``) checked against
    :func:`reference`: an unknown key raises :class:`ProtocolError` naming the key's full path and the allowed keys.
    Returns the overrides unchanged."""
    if overrides is None:
        return {}
    if not isinstance(overrides, dict):
        raise ProtocolError(f'overrides must be a mapping of keys to values, not {type(overrides).__name__}')

    def check(given: dict, allowed: dict, path: str) -> None:
        for key, value in given.items():
            where = f'{path}.{key}' if path else str(key)
            if key not in allowed:
                raise ProtocolError(
                    f'unknown override key {where!r}; allowed{" under " + repr(path) if path else ""}: '
                    f'{", ".join(sorted(map(str, allowed)))}'
                )
            if key in OPEN_KEYS:
                continue
            if isinstance(allowed[key], dict):
                if not isinstance(value, dict):
                    raise ProtocolError(f'override {where!r} must be a mapping (keys: {", ".join(sorted(allowed[key]))})')
                check(value, allowed[key], where)
            elif isinstance(value, dict):
                raise ProtocolError(f'override {where!r} must be a single value, not a mapping')

    check(overrides, reference(protocol), '')
    if 'stages' in overrides:
        from ..common.stages import NAMES

        unknown = [s for s in overrides['stages'] if s not in NAMES]
        if unknown:
            raise ProtocolError(f'unknown stage(s) {", ".join(map(str, unknown))} in override `stages`; '
                                f'allowed: {", ".join(NAMES)}')
    return overrides


def qm_parameters(protocol: str, overrides: dict | None = None) -> dict | None:
    """The QM driver ``parameters`` of a campaign of ``protocol`` (a name of ``polymer.yaml``, passed on to the QM
    stage) with the campaign's ``overrides`` (``polyinf run --overrides``: polymer.yaml's inputs, the QM stage's under
    ``qm``), basis names in PySCF's spelling; None when the campaign runs no QM stage.

    :raises ProtocolError: a basis or ECP name that PySCF's library does not have (naming it and where it is).
    """
    from ..qm.basis import BasisError, resolve

    campaign = inputs('polymer', protocol, overrides)
    if 'qm' not in campaign.get('stages', ()):
        return None
    try:
        return resolve(inputs('qm', protocol, campaign.get('qm'))['parameters'])
    except BasisError as error:
        raise ProtocolError(f'QM protocol {protocol}: {error}') from None


def qm_unsupported(protocol: str, elements, overrides: dict | None = None) -> dict[str, str]:
    """The elements among ``elements`` that the QM stage of a campaign of ``protocol`` (with ``overrides``, as
    :func:`qm_parameters`) cannot compute, each with the reason (the main method's or RESP's basis or ECP is not in
    PySCF's library for it). Empty when it computes them all, or when the campaign runs no QM stage. The one test of
    "supported": intake, the campaign and ``QmWorkChain.get_builder_from_protocol`` all ask it (through
    :mod:`aiida_polyinf.qm.basis`)."""
    from ..qm.basis import unsupported

    parameters = qm_parameters(protocol, overrides)
    return {} if parameters is None else unsupported(parameters, elements)


def qm_supports(protocol: str, element: str, overrides: dict | None = None) -> bool:
    """Whether the QM stage of a campaign of ``protocol`` can compute ``element`` (:func:`qm_unsupported`)."""
    return not qm_unsupported(protocol, [element], overrides)


class ProtocolMixin:
    """``get_builder_from_protocol`` support for a work chain, in the style of aiida-quantumespresso."""

    _protocol_file: str

    @classmethod
    def get_default_protocol(cls) -> str:
        return default_protocol(cls._protocol_file)

    @classmethod
    def get_available_protocols(cls) -> dict[str, str]:
        return descriptions(cls._protocol_file)

    @classmethod
    def get_protocol_inputs(cls, protocol: str | None = None, overrides: dict | None = None) -> dict:
        """The protocol's inputs (the ``default_inputs`` updated by the protocol), then by ``overrides``."""
        return inputs(cls._protocol_file, protocol, overrides)
