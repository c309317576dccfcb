"""AiiDA caching of the QM and FF steps: a polymer computed once with the same inputs is not computed again.

``polyinf setup`` adds these process types to the profile's ``caching.enabled_for`` (what is there is kept). A new
``build_oligomer``, ``PyscfCalculation``, ``qm_descriptors`` or ``ff_descriptors`` whose hash (its class, attributes and
the hashes of its inputs) equals that of a finished one is then not run: its outputs are copied from that node, which
``node.base.caching.get_cache_source()`` names. LAMMPS runs are not cached (their restarts and trials must run).
A daemon started before the option was set must be restarted (`verdi daemon restart`) to see it.
"""

from __future__ import annotations

CACHED_PROCESSES = (
    'aiida.calculations:polyinf.intake.build_oligomer',
    'aiida.calculations:polyinf.pyscf',
    'aiida.calculations:polyinf.qm.descriptors',
    'aiida.calculations:polyinf.ff.descriptors',
)
OPTION = 'caching.enabled_for'


def enable_profile_caching(config, profile_name: str) -> tuple[list[str], bool]:
    """Add :data:`CACHED_PROCESSES` to ``caching.enabled_for`` of the profile; return (the list, whether it changed)."""
    current = list(config.get_option(OPTION, scope=profile_name) or [])
    missing = [identifier for identifier in CACHED_PROCESSES if identifier not in current]
    if missing:
        config.set_option(OPTION, current + missing, scope=profile_name)
        config.store()
    return current + missing, bool(missing)
