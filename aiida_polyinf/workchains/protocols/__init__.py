"""Protocols: named input sets (fast / moderate / precise) kept in YAML beside this file, one file per work chain."""

from __future__ import annotations

import copy
import pathlib

import yaml

HERE = pathlib.Path(__file__).parent


def recursive_merge(left: dict, right: dict) -> dict:
    """A copy of ``left`` updated by ``right``, nested dictionaries merged key by key."""
    merged = copy.deepcopy(left)
    for key, value in right.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = recursive_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_protocol_file(name: str) -> dict:
    with open(HERE / f'{name}.yaml', encoding='utf-8') as handle:
        return yaml.safe_load(handle)


class ProtocolMixin:
    """``get_builder_from_protocol`` support, in the style of aiida-quantumespresso."""

    _protocol_file: str

    @classmethod
    def _load(cls) -> dict:
        return load_protocol_file(cls._protocol_file)

    @classmethod
    def get_default_protocol(cls) -> str:
        return cls._load()['default_protocol']

    @classmethod
    def get_available_protocols(cls) -> dict[str, str]:
        return {name: spec['description'] for name, spec in cls._load()['protocols'].items()}

    @classmethod
    def get_protocol_inputs(cls, protocol: str | None = None, overrides: dict | None = None) -> dict:
        """The protocol's inputs (the ``default_inputs`` updated by the protocol), then by ``overrides``."""
        data = cls._load()
        protocol = protocol or data['default_protocol']
        if protocol not in data['protocols']:
            raise ValueError(f'unknown protocol {protocol!r}; choose from {", ".join(data["protocols"])}')
        inputs = recursive_merge(data.get('default_inputs', {}), data['protocols'][protocol])
        inputs.pop('description', None)
        return recursive_merge(inputs, overrides or {})
