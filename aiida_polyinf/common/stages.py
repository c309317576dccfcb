"""The stage registry: every stage of the pipeline declared once, as pure data (no AiiDA import).

A stage is one unit of the pipeline: a process launched by ``PolymerPropertiesWorkChain`` under a call-link label,
with a protocol file in ``aiida_polyinf/protocols/``, an ``ERROR_SUB_PROCESS_FAILED_<STAGE>`` exit code in the
top-level chain, and the values Dicts it creates (CREATE link labels, with the polymer as a direct input of their
creator; see :mod:`aiida_polyinf.common.values`) holding the quantities it registers. Everything that needs a list of
stages reads :data:`STAGES`: the top-level work chain (namespaces, outline of the cell stages, exit codes, builder),
``polyinf status``, ``polyinf restart-failed``, the export and ``polyinf show``, the property registry
(:mod:`aiida_polyinf.common.properties`), the LAMMPS CalcJob (which module renders a LAMMPS stage) and the CLI.

Kinds of stage:

- ``intake``, ``qm``, ``ff``, ``md``: the backbone, wired by name in the top-level chain (each feeds the next);
- ``cell``: a property stage that runs on the equilibrated cell of an MD trial (NEMD, ions, Tg). Its work chain
  takes the inputs ``polymer``, ``cell``, ``md_properties`` (optional), ``parameters``, ``seed``, ``trial`` and
  ``protocol`` and a ``lammps`` namespace, and offers ``get_builder_from_protocol(code, polymer, cell, protocol,
  overrides, seed=..., trial=...)``. The top-level chain runs every cell stage of the protocol at once, and a 5xx exit
  of one is a physics result (recorded), not a failed stage. A new cell stage is added here and in its own modules
  alone: see "Adding a stage" in ``docs/architecture.md``.

Names, link labels and exit codes of the stages that existed before the registry are unchanged: stored nodes,
``get_builder_restart`` and cache hashes depend on them.
"""

from __future__ import annotations

import dataclasses
import typing as t


@dataclasses.dataclass(frozen=True)
class Quantity:
    """A registered property: its key (the PI1070 column name where PI1070 has one), unit and meaning."""

    name: str
    unit: str
    stage: str
    description: str
    pi1070: str | None = None  # the PI1070 column, when it has one


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage of the pipeline."""

    name: str
    kind: str  # 'intake', 'qm', 'ff', 'md' (the backbone) or 'cell' (runs on an equilibrated MD cell)
    process: str  # entry point of the process the top-level chain launches ('aiida.workflows:polyinf.md')
    exit_status: int  # ERROR_SUB_PROCESS_FAILED_<NAME> of PolymerPropertiesWorkChain
    protocol: str | None = None  # its protocol file in aiida_polyinf/protocols (without .yaml)
    call_label: str | None = None  # call-link label under the top-level chain (default: the name)
    input_namespace: str | None = None  # input port (namespace) of the top-level chain (default: the name)
    outputs: t.Mapping[str, str] = dataclasses.field(default_factory=dict)  # values link label -> 'polymer'/'trial'
    column_prefix: str | None = None  # export column prefix of its values ('ff.'; qm: the descriptor set + '.')
    quantities: tuple[Quantity, ...] = ()  # the properties it registers (aiida_polyinf.common.properties)
    quality: tuple[Quantity, ...] = ()  # numbers on the quality of its result: exported, not properties
    process_labels: tuple[str, ...] = ()  # process labels that belong to the stage (failures, `polyinf show`)
    lammps_stages: t.Mapping[str, str] = dataclasses.field(default_factory=dict)  # LAMMPS stage -> rendering module
    needs: tuple[str, ...] = ()

    @property
    def link_label(self) -> str:
        return self.call_label or self.name

    @property
    def port(self) -> str:
        return self.input_namespace or self.name

    @property
    def exit_code_label(self) -> str:
        return f'ERROR_SUB_PROCESS_FAILED_{self.name.upper()}'

    @property
    def value_names(self) -> tuple[str, ...]:
        """Every value its Dicts declare (the export carries each one)."""
        return tuple(q.name for q in self.quantities + self.quality)


def quantity(name, unit, stage, description, pi1070=True):
    """A :class:`Quantity`; ``pi1070=True``: the PI1070 column has the same name, None: PI1070 has none."""
    return Quantity(name, unit, stage, description, name if pi1070 is True else pi1070)


_MD = 'aiida_polyinf.md.inputs'

#: The stages, in pipeline order.
STAGE_LIST: tuple[Stage, ...] = (
    Stage(
        'intake', 'intake', 'aiida.workflows:polyinf.intake', 401,
        process_labels=('IntakeWorkChain', 'register_polymer', 'build_oligomer'),
    ),
    Stage(
        'qm', 'qm', 'aiida.workflows:polyinf.qm', 402, protocol='qm', outputs={'descriptors': 'polymer'},
        process_labels=('QmWorkChain', 'PyscfBaseWorkChain', 'PyscfCalculation', 'qm_descriptors'), needs=('intake',),
    ),
    Stage(
        'ff', 'ff', 'aiida.calculations:polyinf.ff.descriptors', 403, call_label='ff_descriptors',
        input_namespace='ff_parameters', outputs={'ff_descriptors': 'polymer'}, column_prefix='ff.',
        process_labels=('FfWorkChain', 'ff_descriptors'), needs=('qm',),
    ),
    Stage(
        'md', 'md', 'aiida.workflows:polyinf.md', 404, protocol='md',
        outputs={'properties': 'trial', 'aggregate': 'polymer'},
        quantities=(
            quantity('density', 'g/cm^3', 'md', 'mass density of the equilibrated amorphous cell'),
            quantity('Rg', 'angstrom', 'md', 'radius of gyration of the chains'),
            quantity('r2', 'nm^2', 'md', 'mean-squared end-to-end distance of the chains'),
            quantity('self-diffusion', 'm^2/s', 'md', 'self-diffusion coefficient of the chains'),
            quantity('Cp', 'J/(kg K)', 'md', 'isobaric heat capacity'),
            quantity('Cv', 'J/(kg K)', 'md', 'isochoric heat capacity'),
            quantity('compressibility', '1/Pa', 'md', 'isothermal compressibility'),
            quantity('bulk_modulus', 'Pa', 'md', 'isothermal bulk modulus'),
            quantity('isentropic_compressibility', '1/Pa', 'md', 'isentropic compressibility'),
            quantity('isentropic_bulk_modulus', 'Pa', 'md', 'isentropic bulk modulus'),
            quantity('volume_expansion', '1/K', 'md', 'volumetric thermal expansion coefficient'),
            quantity('linear_expansion', '1/K', 'md', 'linear thermal expansion coefficient'),
            quantity('static_dielectric_const', '', 'md', 'orientational part of the static dielectric constant'),
            quantity('dielectric_const_dc', '', 'md', 'static dielectric constant (static_dielectric_const + n^2 - 1)'),
            quantity('nematic_order_parameter', '', 'md', 'nematic order parameter of the chain backbones'),
            quantity('refractive_index', '', 'md', 'refractive index, Lorentz-Lorenz from QM polarizability and density'),
        ),
        process_labels=('MdWorkChain', 'MdEquilibrationWorkChain', 'LammpsBaseWorkChain', 'LammpsCalculation',
                        'build_cell', 'md_properties', 'aggregate_trials'),
        lammps_stages={'packing': _MD, 'eq21': _MD, 'sampling': _MD, 'additional_*': _MD},
        needs=('qm',),
    ),
    Stage(
        'nemd', 'cell', 'aiida.workflows:polyinf.nemd', 405, protocol='nemd',
        outputs={'thermal_conductivity': 'trial'},
        quantities=(
            quantity('thermal_conductivity', 'W/(m K)', 'nemd', 'thermal conductivity by Mueller-Plathe NEMD'),
            quantity('thermal_diffusivity', 'm^2/s', 'nemd', 'thermal diffusivity kappa/(rho Cp)'),
        ),
        process_labels=('NemdWorkChain', 'NemdThermalConductivityWorkChain', 'thermal_conductivity'),
        lammps_stages={'nemd': 'aiida_polyinf.md.nemd'},
        needs=('md',),
    ),
    Stage(
        'ions', 'cell', 'aiida.workflows:polyinf.ions', 406, protocol='ions', outputs={'ion_mobility': 'trial'},
        quantities=(
            quantity('ion_diffusion_Na', 'm^2/s', 'ions', 'diffusion coefficient of Na+ in the polymer matrix', None),
            quantity('ion_diffusion_Cl', 'm^2/s', 'ions', 'diffusion coefficient of Cl- in the polymer matrix', None),
            quantity('ion_msd_exponent_Na', '', 'ions', 'MSD exponent of Na+ (1: diffusive, < 1: caged)', None),
            quantity('ion_msd_exponent_Cl', '', 'ions', 'MSD exponent of Cl- (1: diffusive, < 1: caged)', None),
        ),
        process_labels=('IonMobilityWorkChain', 'ion_mobility'),
        lammps_stages={'ions': 'aiida_polyinf.md.ions'},
        needs=('md',),
    ),
    Stage(
        'tg', 'cell', 'aiida.workflows:polyinf.tg', 407, protocol='tg', outputs={'glass_transition': 'trial'},
        quantities=(
            quantity('glass_transition_temperature', 'K', 'tg', 'glass-transition temperature, bilinear fit of the '
               'specific volume on stepwise cooling', None),
            quantity('volume_expansion_rubber', '1/K', 'tg', 'volumetric thermal expansion coefficient above Tg', None),
            quantity('volume_expansion_glass', '1/K', 'tg', 'volumetric thermal expansion coefficient below Tg', None),
        ),
        quality=(
            quantity('glass_transition_temperature_err', 'K', 'tg', 'uncertainty of Tg (RSS profile of the fit)', None),
            quantity('glass_transition_r2_glass', '', 'tg', 'R^2 of the fit below Tg', None),
            quantity('glass_transition_r2_rubber', '', 'tg', 'R^2 of the fit above Tg', None),
            quantity('glass_transition_slope_ratio', '', 'tg', 'dv/dT above over below Tg (a clear kink: > 1)', None),
        ),
        process_labels=('TgWorkChain', 'glass_transition'),
        lammps_stages={'tg': 'aiida_polyinf.md.tg'},
        needs=('md',),
    ),
)

STAGES: dict[str, Stage] = {stage.name: stage for stage in STAGE_LIST}

#: The stage names, in order (what the CLI offers).
NAMES: tuple[str, ...] = tuple(STAGES)


def cell_stages() -> tuple[Stage, ...]:
    """The stages that run on an equilibrated MD cell, in order."""
    return tuple(stage for stage in STAGE_LIST if stage.kind == 'cell')


def by_call_label() -> dict[str, str]:
    """Call-link label under the top-level chain -> stage name."""
    return {stage.link_label: stage.name for stage in STAGE_LIST}


def by_input_port() -> dict[str, str]:
    """Input port (namespace) of the top-level chain -> stage name."""
    return {stage.port: stage.name for stage in STAGE_LIST}


def link_stages() -> dict[str, str]:
    """CREATE link label of a values Dict -> the stage whose values it carries."""
    return {label: stage.name for stage in STAGE_LIST for label in stage.outputs}


def trial_links() -> tuple[str, ...]:
    """Link labels of per-trial values Dicts (with ``seed`` and ``trial``)."""
    return tuple(label for stage in STAGE_LIST for label, scope in stage.outputs.items() if scope == 'trial')


def unaggregated_trial_links() -> tuple[str, ...]:
    """Per-trial link labels of the stages that make no per-polymer Dict (nemd, ions, tg): a per-polymer export row
    carries their values from the Dict itself."""
    return tuple(
        label for stage in STAGE_LIST if 'polymer' not in stage.outputs.values()
        for label, scope in stage.outputs.items() if scope == 'trial'
    )


def polymer_links() -> tuple[str, ...]:
    """Link labels of per-polymer values Dicts."""
    return tuple(label for stage in STAGE_LIST for label, scope in stage.outputs.items() if scope == 'polymer')


def process_stages() -> dict[str, str]:
    """Process label -> stage, for a process that failed without making a values Dict."""
    return {label: stage.name for stage in STAGE_LIST for label in stage.process_labels}


def lammps_module(lammps_stage: str) -> str:
    """The module that renders (and names the files of) a LAMMPS stage; raises ``KeyError`` for an unknown one."""
    for stage in STAGE_LIST:
        for name, module in stage.lammps_stages.items():
            if name == lammps_stage or (name.endswith('*') and lammps_stage.startswith(name[:-1])):
                return module
    raise KeyError(lammps_stage)


def lammps_stage_names() -> list[str]:
    return [name for stage in STAGE_LIST for name in stage.lammps_stages]


def quantities() -> dict[str, Quantity]:
    """Every registered quantity, by name."""
    return {q.name: q for stage in STAGE_LIST for q in stage.quantities}
