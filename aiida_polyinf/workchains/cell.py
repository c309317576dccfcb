"""What the cell stages (NEMD, ions, Tg: ``kind='cell'`` in the stage registry) share: their common inputs and the
builder from their protocol file.

A cell stage runs LAMMPS on the equilibrated cell of one MD trial. Its work chain calls :func:`define_cell_inputs` in
``define`` and :func:`cell_stage_builder` in ``get_builder_from_protocol``, so that ``PolymerPropertiesWorkChain`` can
expose it, build it and launch it knowing only its registry entry.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict

from ..common.seeds import derive_seed
from ..data.polymer import PolymerData
from .lammps_base import LammpsBaseWorkChain, fill_lammps_namespace

#: The LAMMPS inputs a cell stage sets itself (not exposed).
LAMMPS_EXCLUDE = ('lammps.data', 'lammps.parameters', 'lammps.parent_folder', 'lammps.topology')
#: The inputs the top-level chain sets from the MD stage (not exposed there).
FROM_MD = ('polymer', 'cell', 'md_properties', 'seed', 'trial')


def define_cell_inputs(spec, parameters_help: str) -> None:
    """The inputs every cell stage has."""
    spec.input('polymer', valid_type=PolymerData)
    spec.input('cell', valid_type=orm.SinglefileData, help='The equilibrated LAMMPS data file (MD final_cell).')
    spec.input('md_properties', valid_type=orm.Dict, required=False,
               help="This trial's MD properties (density and Cp, converged, nematic order, ...).")
    spec.input('parameters', valid_type=orm.Dict, help=parameters_help)
    spec.input('seed', valid_type=orm.Int, help='The seed of the stage (velocities, insertion), derived by '
               'aiida_polyinf.common.seeds.derive_seed and recorded on the outputs.')
    spec.input('trial', valid_type=orm.Int, default=lambda: orm.Int(0))
    spec.input('protocol', valid_type=orm.Str, default=lambda: orm.Str('custom'))
    spec.expose_inputs(LammpsBaseWorkChain, namespace='lammps', exclude=LAMMPS_EXCLUDE)


def cell_stage_builder(process, stage: str, code, polymer, cell, protocol=None, overrides=None, seed=None, trial=0,
                       md_properties=None):
    """A builder of the cell stage ``stage`` from its protocol file; ``seed`` defaults to the stage's derived seed."""
    protocol = protocol or process.get_default_protocol()
    inputs = process.get_protocol_inputs(protocol, overrides)
    builder = process.get_builder()
    builder.polymer = polymer
    if cell is not None:
        builder.cell = cell
    if md_properties is not None:
        builder.md_properties = md_properties
    builder.parameters = orm.Dict(inputs['parameters'])
    builder.seed = orm.Int(seed if seed is not None else derive_seed(polymer.smiles, protocol, trial, stage))
    builder.trial = orm.Int(trial)
    builder.protocol = orm.Str(protocol)
    fill_lammps_namespace(builder.lammps, code, inputs)
    return builder


def submit_cell_run(workchain, stage: str):
    """Submit the ``LammpsBaseWorkChain`` of a cell stage's one LAMMPS run on the cell (``parameters``: the stage,
    the stage's parameters and its seed); returns the node."""
    inputs = AttributeDict(workchain.exposed_inputs(LammpsBaseWorkChain, 'lammps'))
    inputs.lammps.data = workchain.inputs.cell
    inputs.lammps.parameters = orm.Dict(
        {'stage': stage, 'protocol': workchain.inputs.parameters.get_dict(), 'seed': workchain.inputs.seed.value}
    )
    inputs.metadata = {'call_link_label': stage}
    node = workchain.submit(LammpsBaseWorkChain, **inputs)
    workchain.report(f'{stage}: LammpsBaseWorkChain<{node.pk}>')
    return node


def run_failed(workchain, node):
    """``ERROR_SUB_PROCESS_FAILED_LAMMPS`` of a cell stage for a LAMMPS run that did not finish ok."""
    return workchain.exit_codes.ERROR_SUB_PROCESS_FAILED_LAMMPS.format(
        message=f'{node.process_label}<{node.pk}> exit {node.exit_status}: {node.exit_message}'
    )
