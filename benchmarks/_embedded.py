"""A throw-away embedded AiiDA profile for the MD benchmarks (imported by md_overhead.py and md_vs_radonpy.py).

``use_temporary_profile(directory)`` must run before anything imports ``aiida``: it points ``AIIDA_PATH`` at
``directory`` (so the user's profiles are never touched), then creates there what ``polyinf setup`` creates: a
``core.sqlite_dos`` profile with the ZeroMQ broker, the ``localhost`` computer (``core.direct``) and the codes
``lmp@localhost`` and ``pyscf@localhost`` of this environment. Processes are then run in the calling Python with
``aiida.engine.run_get_node`` (no daemon).
"""

from __future__ import annotations

import os
import time


def use_temporary_profile(directory: str, name: str = 'bench'):
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    if 'aiida' in __import__('sys').modules:
        raise RuntimeError('use_temporary_profile() must run before aiida is imported')
    os.environ['AIIDA_PATH'] = directory
    from aiida.manage.configuration import get_config, load_profile

    from aiida_polyinf.profiles.setup import ensure_codes, ensure_localhost, ensure_profile

    config = get_config(create=True)
    profile, _ = ensure_profile(config, name)
    load_profile(profile.name, allow_switch=True)
    computer, _ = ensure_localhost(config, profile.name)
    ensure_codes(computer)
    return profile


def load() -> str:
    """``uptime``'s three load averages, as text."""
    return ' '.join(f'{x:.2f}' for x in os.getloadavg())


def stamp() -> str:
    return time.strftime('%H:%M:%S', time.gmtime())
