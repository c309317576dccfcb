"""``values_dict``: a values Dict as the convention of :mod:`aiida_polyinf.common.values` has it, as an ``orm.Dict``."""

from __future__ import annotations

import typing as t

from aiida import orm

from .. import __version__
from ..common.values import build_values


def values_dict(values: t.Mapping[str, t.Any], **kwargs) -> orm.Dict:
    """An (unstored) ``Dict`` of values with the reserved keys; arguments as :func:`.build_values`.

    ``version`` defaults to the version of aiida-polyinf.
    """
    kwargs.setdefault('version', __version__)
    return orm.Dict(build_values(values, **kwargs))
