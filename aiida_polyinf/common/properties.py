"""The one registry of property and descriptor names, units and PI1070 column names.

Everything that stores, exports or learns from a value looks its name and unit up here: the MD parser, the
``aggregate_trials`` calcfunction, the dataset export, the PI1070 import and the ML benchmarks. The properties a stage
computes are declared with the stage, in the stage registry (:mod:`aiida_polyinf.common.stages`); this module adds
RadonPy's imported QM descriptors, the leak table and the PI1070 metadata columns. Names are RadonPy's
PI1070 column names, so our values and theirs compare column for column; an aggregate over trials uses the bare name
for the mean and the suffixes of ``AGGREGATE_SUFFIXES``.

A missing value is an absent key (with its reason under ``_missing``), never NaN: AiiDA refuses NaN.
"""

from __future__ import annotations

from .stages import Quantity, quantities, quantity  # noqa: F401 - Quantity is part of this API

AGGREGATE_SUFFIXES = ('_std', '_min', '_max', '_count')


#: Properties of the stages (per trial, aggregated over trials), as declared in the stage registry: PI1070's column
#: names where PI1070 has them.
PROPERTIES = quantities()

#: The MD properties left out of the ``md`` descriptor set when a property is the ML target: those that give the target
#: back through an identity (Lorentz–Lorenz with the monomer's QM polarizability and molecular weight, dc = static +
#: n² − 1, D = κ/(ρ·Cp), the reciprocal moduli, α_V = 3·α_L, Cp − Cv = T·α_V²/(ρ·κ_T), κ_S = κ_T·Cv/Cp), alone or with
#: other columns. Each exclusion and its relation: docs/ml-leaks.md; the audit ``aiida_polyinf.ml.leaks`` checks on
#: PI1070 that no descriptor set gives a benchmark target back (tests/ml/test_leaks.py).
LEAKS = {
    'density': ('refractive_index', 'thermal_diffusivity', 'dielectric_const_dc'),
    'refractive_index': ('density', 'dielectric_const_dc', 'thermal_diffusivity'),
    'bulk_modulus': ('compressibility', 'isentropic_bulk_modulus', 'isentropic_compressibility'),
    'compressibility': ('bulk_modulus', 'isentropic_bulk_modulus', 'isentropic_compressibility'),
    'isentropic_bulk_modulus': ('isentropic_compressibility', 'bulk_modulus', 'compressibility'),
    'isentropic_compressibility': ('isentropic_bulk_modulus', 'bulk_modulus', 'compressibility'),
    'thermal_conductivity': ('thermal_diffusivity',),
    'thermal_diffusivity': ('thermal_conductivity', 'density', 'Cp'),
    'Cp': ('thermal_diffusivity', 'Cv'),
    'Cv': ('Cp', 'thermal_diffusivity'),
    'static_dielectric_const': ('dielectric_const_dc',),
    'dielectric_const_dc': ('static_dielectric_const', 'refractive_index'),
    'volume_expansion': ('linear_expansion',),
    'linear_expansion': ('volume_expansion',),
}

#: RadonPy's own monomer QM in PI1070 (H-capped monomer, wB97M-D3BJ): a descriptor set of its own, `radonpy_qm`.
RADONPY_QM = {
    q.name: q
    for q in [
        quantity('mol_weight_monomer', 'g/mol', 'qm', 'molecular weight of the H-capped monomer'),
        quantity('atomic_weight_mean', 'g/mol', 'qm', 'mean atomic weight of the monomer'),
        quantity('vdw_volume_monomer', 'angstrom^3', 'qm', 'van der Waals volume of the monomer'),
        quantity('qm_total_energy_monomer', 'kJ/mol', 'qm', 'total energy, wB97M-D3BJ'),
        quantity('qm_homo_monomer', 'eV', 'qm', 'HOMO energy'),
        quantity('qm_lumo_monomer', 'eV', 'qm', 'LUMO energy'),
        quantity('qm_dipole_monomer', 'debye', 'qm', 'dipole moment'),
        quantity('qm_dipole_x_monomer', 'debye', 'qm', 'dipole moment, x'),
        quantity('qm_dipole_y_monomer', 'debye', 'qm', 'dipole moment, y'),
        quantity('qm_dipole_z_monomer', 'debye', 'qm', 'dipole moment, z'),
        quantity('qm_polarizability_monomer', 'angstrom^3', 'qm', 'isotropic polarizability'),
        *[
            quantity(f'qm_polarizability_{c}_monomer', 'angstrom^3', 'qm', f'polarizability tensor, {c}')
            for c in ('xx', 'yy', 'zz', 'xy', 'xz', 'yz')
        ],
    ]
}

#: PI1070's simulation settings, kept as metadata of an imported row.
PI1070_SETTINGS = ('temp', 'press', 'tacticity', 'DP', 'n_mol', 'n_atom_mean', 'Mn', 'polymer_class')

#: The thermal-conductivity decomposition columns of PI1070 (W/(m K)).
PI1070_TC_TERMS = tuple(f'TC_{t}' for t in ('ke', 'pe', 'pair', 'bond', 'angle', 'dihed', 'improper', 'kspace'))


def aggregate_keys(name: str) -> tuple[str, ...]:
    """The aggregate keys of one property: the mean under the bare name, then std, min, max and count."""
    return (name,) + tuple(name + suffix for suffix in AGGREGATE_SUFFIXES)


def unit(name: str) -> str:
    """The unit of a property, descriptor or aggregate key."""
    for suffix in AGGREGATE_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in PROPERTIES:
            return '' if suffix == '_count' else PROPERTIES[name[: -len(suffix)]].unit
    for table in (PROPERTIES, RADONPY_QM):
        if name in table:
            return table[name].unit
    raise KeyError(f'unknown quantity {name!r}')
