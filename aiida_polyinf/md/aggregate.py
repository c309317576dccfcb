"""Aggregate the properties of K trials into PI1070-style columns (pure code).

``aggregate(trials)``: each trial is the dict of ``analysis.analyze_sampling`` (``{'values': {...}, ...}``), or a
plain ``{name: value}`` dict, or ``None`` / ``{'failed': reason}`` for a failed trial. For every property seen in
at least one usable trial: the bare name is the mean, ``_std`` the sample standard deviation
(ddof=1; 0.0 for a single value), ``_min``, ``_max`` and
``_count`` (how many trials gave the value). Failed trials and missing or non-finite values are skipped and counted
in ``n_trials_used`` / ``n_trials_failed``; a property no trial gave is absent, with its reasons under ``_missing``.
"""

from __future__ import annotations

import math

import numpy as np

from aiida_polyinf.common.properties import AGGREGATE_SUFFIXES, PROPERTIES  # noqa: F401  (suffixes documented there)


def _values(trial) -> dict | None:
    if not trial or trial.get('failed'):
        return None
    return trial['values'] if 'values' in trial else trial


def aggregate(trials: list) -> dict:
    """PI1070-named aggregate over trials; see the module docstring."""
    usable = [v for v in (_values(t) for t in trials) if v is not None]
    out: dict = {}
    names = sorted({k for v in usable for k in v if k in PROPERTIES})
    for name in names:
        xs = [float(v[name]) for v in usable if name in v and v[name] is not None and math.isfinite(float(v[name]))]
        if not xs:
            continue
        arr = np.asarray(xs)
        out[name] = float(arr.mean())
        out[f'{name}_std'] = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
        out[f'{name}_min'] = float(arr.min())
        out[f'{name}_max'] = float(arr.max())
        out[f'{name}_count'] = int(len(arr))
    missing = {}
    for t in trials:
        for name, reason in ((t or {}).get('missing') or {}).items():
            if name not in out:
                missing.setdefault(name, []).append(reason)
    if missing:
        out['_missing'] = {k: sorted(set(v)) for k, v in missing.items()}
    out['n_trials'] = len(trials)
    out['n_trials_used'] = len(usable)
    out['n_trials_failed'] = len(trials) - len(usable)
    return out
