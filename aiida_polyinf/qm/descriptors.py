"""Flatten the driver's descriptors into scalar values with units (pure, no AiiDA)."""

from __future__ import annotations

#: Unit of a descriptor, read from the suffix of its key.
SUFFIX_UNITS = (
    ('_kcal_mol', 'kcal/mol'),
    ('_cal_mol_K', 'cal/(mol K)'),
    ('_cm3_mol', 'cm^3/mol'),
    ('_angstrom3', 'angstrom^3'),
    ('_bohr3', 'bohr^3'),
    ('_hartree', 'hartree'),
    ('_debye', 'debye'),
    ('_amu', 'amu'),
    ('_cm1', 'cm^-1'),
    ('_eV', 'eV'),
    ('_au', 'a.u.'),
)
AXES = ('x', 'y', 'z')
#: Per-atom lists that are not descriptors of the molecule (stored elsewhere, e.g. the charges node).
PER_ATOM = ('resp_charges', 'frequencies_cm1')


def unit_of(key: str) -> str:
    for suffix, unit in SUFFIX_UNITS:
        if key.endswith(suffix) or f'{suffix}_' in key:
            return unit
    return ''


def _with_component(key: str, component: str) -> str:
    """Put a vector/tensor component before the unit suffix: dipole_debye, x -> dipole_x_debye."""
    for suffix, _ in SUFFIX_UNITS:
        if key.endswith(suffix):
            return f'{key[: -len(suffix)]}_{component}{suffix}'
    return f'{key}_{component}'


def flatten(descriptors: dict) -> tuple[dict[str, float], dict[str, str]]:
    """Scalar descriptors and their units: 3-vectors become x/y/z, 3x3 tensors xx, yy, zz, xy, xz, yz."""
    values: dict[str, float] = {}
    for key, value in descriptors.items():
        if key in PER_ATOM:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values[key] = value
        elif isinstance(value, list) and len(value) == 3 and all(isinstance(v, (int, float)) for v in value):
            for axis, component in zip(AXES, value):
                values[_with_component(key, axis)] = float(component)
        elif isinstance(value, list) and len(value) == 3 and all(isinstance(v, list) and len(v) == 3 for v in value):
            for i, j in ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)):
                values[_with_component(key, AXES[i] + AXES[j])] = float(value[i][j])
    return values, {key: unit_of(key) for key in values}
