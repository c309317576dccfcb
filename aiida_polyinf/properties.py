"""The one registry of property and descriptor names, units and PI1070 column names.

Everything that stores, exports or learns from a value looks its name and unit up here: the MD parser, the
``aggregate_trials`` calcfunction, the dataset export, the PI1070 import and the ML benchmarks. Names are RadonPy's
PI1070 column names, so our values and theirs compare column for column; an aggregate over trials uses the bare name
for the mean and the suffixes of ``AGGREGATE_SUFFIXES``.

A missing value is an absent key (with its reason under ``_missing``), never NaN: AiiDA refuses NaN.
"""

from __future__ import annotations

import dataclasses

AGGREGATE_SUFFIXES = ('_std', '_min', '_max', '_count')


@dataclasses.dataclass(frozen=True)
class Quantity:
    name: str  # our key, equal to the PI1070 column where PI1070 has it
    unit: str
    stage: str  # the stage that computes it: qm, ff, md, nemd, ions
    description: str
    pi1070: str | None = None  # the PI1070 column, when it has one


def _q(name, unit, stage, description, pi1070=True):
    return Quantity(name, unit, stage, description, name if pi1070 is True else pi1070)


#: Properties from MD (per trial, aggregated over trials), as in RadonPy's PI1070 table.
PROPERTIES = {
    q.name: q
    for q in [
        _q('density', 'g/cm^3', 'md', 'mass density of the equilibrated amorphous cell'),
        _q('Rg', 'angstrom', 'md', 'radius of gyration of the chains'),
        _q('r2', 'nm^2', 'md', 'mean-squared end-to-end distance of the chains'),
        _q('self-diffusion', 'm^2/s', 'md', 'self-diffusion coefficient of the chains'),
        _q('Cp', 'J/(kg K)', 'md', 'isobaric heat capacity'),
        _q('Cv', 'J/(kg K)', 'md', 'isochoric heat capacity'),
        _q('compressibility', '1/Pa', 'md', 'isothermal compressibility'),
        _q('bulk_modulus', 'Pa', 'md', 'isothermal bulk modulus'),
        _q('isentropic_compressibility', '1/Pa', 'md', 'isentropic compressibility'),
        _q('isentropic_bulk_modulus', 'Pa', 'md', 'isentropic bulk modulus'),
        _q('volume_expansion', '1/K', 'md', 'volumetric thermal expansion coefficient'),
        _q('linear_expansion', '1/K', 'md', 'linear thermal expansion coefficient'),
        _q('static_dielectric_const', '', 'md', 'orientational part of the static dielectric constant'),
        _q('dielectric_const_dc', '', 'md', 'static dielectric constant (static_dielectric_const + n^2 - 1)'),
        _q('nematic_order_parameter', '', 'md', 'nematic order parameter of the chain backbones'),
        _q('refractive_index', '', 'md', 'refractive index, Lorentz-Lorenz from QM polarizability and density'),
        _q('thermal_conductivity', 'W/(m K)', 'nemd', 'thermal conductivity by Mueller-Plathe NEMD'),
        _q('thermal_diffusivity', 'm^2/s', 'nemd', 'thermal diffusivity kappa/(rho Cp)'),
        _q('ion_diffusion_Na', 'm^2/s', 'ions', 'diffusion coefficient of Na+ in the polymer matrix', None),
        _q('ion_diffusion_Cl', 'm^2/s', 'ions', 'diffusion coefficient of Cl- in the polymer matrix', None),
        _q('ion_msd_exponent_Na', '', 'ions', 'MSD exponent of Na+ (1: diffusive, < 1: caged)', None),
        _q('ion_msd_exponent_Cl', '', 'ions', 'MSD exponent of Cl- (1: diffusive, < 1: caged)', None),
    ]
}

#: Pairs that leak into each other when one is the ML target and the other a descriptor.
LEAKS = {
    'density': ('refractive_index', 'thermal_diffusivity'),
    'refractive_index': ('density', 'dielectric_const_dc'),
    'bulk_modulus': ('compressibility', 'isentropic_bulk_modulus', 'isentropic_compressibility'),
    'compressibility': ('bulk_modulus', 'isentropic_bulk_modulus', 'isentropic_compressibility'),
    'isentropic_bulk_modulus': ('isentropic_compressibility', 'bulk_modulus', 'compressibility'),
    'isentropic_compressibility': ('isentropic_bulk_modulus', 'bulk_modulus', 'compressibility'),
    'thermal_conductivity': ('thermal_diffusivity',),
    'thermal_diffusivity': ('thermal_conductivity', 'density', 'Cp'),
    'Cp': ('thermal_diffusivity', 'Cv'),
    'Cv': ('Cp',),
    'static_dielectric_const': ('dielectric_const_dc',),
    'dielectric_const_dc': ('static_dielectric_const', 'refractive_index'),
    'volume_expansion': ('linear_expansion',),
    'linear_expansion': ('volume_expansion',),
}

#: RadonPy's own monomer QM in PI1070 (H-capped monomer, wB97M-D3BJ): a descriptor set of its own, `radonpy_qm`.
RADONPY_QM = {
    q.name: q
    for q in [
        _q('mol_weight_monomer', 'g/mol', 'qm', 'molecular weight of the H-capped monomer'),
        _q('atomic_weight_mean', 'g/mol', 'qm', 'mean atomic weight of the monomer'),
        _q('vdw_volume_monomer', 'angstrom^3', 'qm', 'van der Waals volume of the monomer'),
        _q('qm_total_energy_monomer', 'kJ/mol', 'qm', 'total energy, wB97M-D3BJ'),
        _q('qm_homo_monomer', 'eV', 'qm', 'HOMO energy'),
        _q('qm_lumo_monomer', 'eV', 'qm', 'LUMO energy'),
        _q('qm_dipole_monomer', 'debye', 'qm', 'dipole moment'),
        _q('qm_dipole_x_monomer', 'debye', 'qm', 'dipole moment, x'),
        _q('qm_dipole_y_monomer', 'debye', 'qm', 'dipole moment, y'),
        _q('qm_dipole_z_monomer', 'debye', 'qm', 'dipole moment, z'),
        _q('qm_polarizability_monomer', 'angstrom^3', 'qm', 'isotropic polarizability'),
        *[
            _q(f'qm_polarizability_{c}_monomer', 'angstrom^3', 'qm', f'polarizability tensor, {c}')
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
