"""MD stage: ``MdEquilibrationWorkChain`` (one trial) and ``MdWorkChain`` (K trials and their aggregate).

One trial follows RadonPy's protocol (``radonpy/sim/preset/eq.py``): the packing stage, the 21 steps, the NPT
sampling run, then RadonPy's convergence check with up to ``additional.max_rounds`` extra sampling rounds. Each stage
is a ``LammpsBaseWorkChain``, so it restarts from its last restart file when it breaks. ``fast`` runs are too short to
pass RadonPy's thresholds: they record ``converged: false`` and go on.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, while_

from ..calculations.md import aggregate_trials, build_cell, md_properties
from ..data.polymer import PolymerData
from ..common.seeds import derive_seed
from ..protocols import ProtocolMixin
from .cell import LAMMPS_EXCLUDE
from .lammps_base import LammpsBaseWorkChain, fill_lammps_namespace


class MdEquilibrationWorkChain(WorkChain):
    """Amorphous cell, packing, 21-step equilibration, sampling (+ extra rounds) and the properties of one trial."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('polymer', valid_type=PolymerData)
        spec.input('charges', valid_type=orm.ArrayData, help='RESP charges of the capped monomer (QM stage).')
        spec.input('parameters', valid_type=orm.Dict, help='The MD parameters (protocols/md.yaml).')
        spec.input('seed', valid_type=orm.Int, help='Seed of the chains, the packing and the velocities.')
        spec.input('trial', valid_type=orm.Int, default=lambda: orm.Int(0))
        spec.input('protocol', valid_type=orm.Str, default=lambda: orm.Str('custom'))
        spec.input('qm_descriptors', valid_type=orm.Dict, required=False, help='For the refractive index.')
        spec.expose_inputs(LammpsBaseWorkChain, namespace='lammps', exclude=LAMMPS_EXCLUDE)
        spec.outline(
            cls.setup,
            cls.make_cell,
            cls.run_stage,
            cls.inspect_stage,
            while_(cls.next_stage)(cls.run_stage, cls.inspect_stage),
            cls.results,
        )
        spec.output('properties', valid_type=orm.Dict, help='Value and error of each property of this trial.')
        spec.output('final_cell', valid_type=orm.SinglefileData, help='The LAMMPS data file after sampling.')
        spec.output('cell_info', valid_type=orm.Dict)
        spec.exit_code(320, 'ERROR_CELL_FAILED', message='the amorphous cell could not be built: {reason}')
        spec.exit_code(403, 'ERROR_SUB_PROCESS_FAILED_STAGE', message='MD stage {stage} failed: {message}')

    def setup(self):
        self.ctx.protocol = self.inputs.parameters.get_dict()
        self.ctx.stages = ['packing', 'eq21', 'sampling']
        self.ctx.index = 0
        self.ctx.rounds = 0

    def make_cell(self):
        try:
            outputs = build_cell(self.inputs.polymer, self.inputs.charges, self.inputs.parameters, self.inputs.seed)
        except Exception as exception:  # noqa: BLE001 - a RadonPy failure is recorded as the named exit code
            return self.exit_codes.ERROR_CELL_FAILED.format(reason=exception)
        self.ctx.data = outputs['data']
        self.ctx.topology = outputs['topology']
        self.out('cell_info', outputs['cell_info'])
        return None

    def _sampling_inputs(self) -> dict:
        sampling = {'temp': self.ctx.protocol.get('temp', 300.0), 'press': self.ctx.protocol.get('press', 1.0),
                    'criteria': self.ctx.protocol.get('check_eq')}
        if 'qm_descriptors' in self.inputs:
            qm = self.inputs.qm_descriptors
            if 'polarizability_iso_bohr3' in qm.keys() and 'molecular_weight_amu' in qm.keys():
                sampling['polarizability_angstrom3'] = qm['polarizability_iso_bohr3'] * 0.529177210903**3
                sampling['polarizability_mol_weight'] = qm['molecular_weight_amu']
        return sampling

    def run_stage(self):
        stage = self.ctx.stages[self.ctx.index]
        inputs = AttributeDict(self.exposed_inputs(LammpsBaseWorkChain, 'lammps'))
        parameters = {'stage': stage, 'protocol': self.ctx.protocol, 'seed': self.inputs.seed.value}
        if stage == 'sampling' or stage.startswith('additional'):
            parameters['sampling'] = self._sampling_inputs()
            inputs.lammps.topology = self.ctx.topology
        inputs.lammps.data = self.ctx.data
        inputs.lammps.parameters = orm.Dict(parameters)
        inputs.metadata = {'call_link_label': stage}
        node = self.submit(LammpsBaseWorkChain, **inputs)
        self.report(f'{stage}: launched LammpsBaseWorkChain<{node.pk}>')
        return ToContext(stage=node)

    def inspect_stage(self):
        node = self.ctx.stage
        stage = self.ctx.stages[self.ctx.index]
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_STAGE.format(
                stage=stage, message=f'{node.process_label}<{node.pk}> exit {node.exit_status}: {node.exit_message}'
            )
        self.ctx.data = node.outputs.output_data
        if 'analysis' in node.outputs:
            self.ctx.analysis = node.outputs.analysis
        self.ctx.index += 1
        return None

    def next_stage(self):
        if self.ctx.index < len(self.ctx.stages):
            return True
        converged = self.ctx.analysis.get_dict().get('check_eq', {}).get('converged', False)
        max_rounds = self.ctx.protocol.get('additional', {}).get('max_rounds', 0)
        if converged or self.ctx.rounds >= max_rounds:
            if not converged:
                self.report(f'not converged after {self.ctx.rounds} additional round(s): recorded, going on')
            return False
        self.ctx.rounds += 1
        self.ctx.stages.append(f'additional_{self.ctx.rounds}')
        self.report(f'check_eq failed: additional sampling round {self.ctx.rounds}')
        return True

    def results(self):
        outputs = md_properties(
            self.inputs.polymer, self.ctx.analysis, self.inputs.seed, self.inputs.trial, self.inputs.protocol
        )
        self.out('properties', outputs['properties'])
        self.out('final_cell', self.ctx.data)


class MdWorkChain(ProtocolMixin, WorkChain):
    """K independent trials of ``MdEquilibrationWorkChain`` (namespaces ``trial_00``...) and their ``aggregate``.

    A failed trial does not stop the others; the aggregate says how many runs each value used.
    """

    _protocol_file = 'md'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('polymer', valid_type=PolymerData)
        spec.input('charges', valid_type=orm.ArrayData)
        spec.input('qm_descriptors', valid_type=orm.Dict, required=False)
        spec.input('parameters', valid_type=orm.Dict)
        spec.input('protocol', valid_type=orm.Str, default=lambda: orm.Str('custom'))
        spec.input('trials', valid_type=orm.Int, default=lambda: orm.Int(1))
        spec.expose_inputs(LammpsBaseWorkChain, namespace='lammps', exclude=LAMMPS_EXCLUDE)
        spec.outline(cls.run_trials, cls.aggregate)
        spec.output_namespace('trials', valid_type=orm.Dict, dynamic=True, help='`properties` of each trial.')
        spec.output_namespace('final_cells', valid_type=orm.SinglefileData, dynamic=True, required=False,
                              help='The equilibrated cell of each finished trial (for NEMD and ions).')
        spec.output('aggregate', valid_type=orm.Dict)
        spec.exit_code(404, 'ERROR_ALL_TRIALS_FAILED', message='every MD trial failed')

    @classmethod
    def get_builder_from_protocol(
        cls, code: orm.AbstractCode, polymer: PolymerData, charges: orm.ArrayData, protocol: str | None = None,
        overrides: dict | None = None, qm_descriptors: orm.Dict | None = None,
    ):
        protocol = protocol or cls.get_default_protocol()
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        builder.polymer = polymer
        if charges is not None:
            builder.charges = charges
        if qm_descriptors is not None:
            builder.qm_descriptors = qm_descriptors
        builder.protocol = orm.Str(protocol)
        builder.trials = orm.Int(inputs['trials'])
        builder.parameters = orm.Dict(inputs['parameters'])
        fill_lammps_namespace(builder.lammps, code, inputs)
        return builder

    def run_trials(self):
        base = AttributeDict(self.exposed_inputs(LammpsBaseWorkChain, 'lammps'))
        calls = {}
        for k in range(self.inputs.trials.value):
            label = f'trial_{k:02d}'
            seed = derive_seed(self.inputs.polymer.smiles, self.inputs.protocol.value, k, 'md')
            inputs = {
                'polymer': self.inputs.polymer, 'charges': self.inputs.charges, 'parameters': self.inputs.parameters,
                'seed': orm.Int(seed), 'trial': orm.Int(k), 'protocol': self.inputs.protocol, 'lammps': base,
                'metadata': {'call_link_label': label},
            }
            if 'qm_descriptors' in self.inputs:
                inputs['qm_descriptors'] = self.inputs.qm_descriptors
            calls[label] = self.submit(MdEquilibrationWorkChain, **inputs)
            self.report(f'{label}: seed {seed}, MdEquilibrationWorkChain<{calls[label].pk}>')
        return ToContext(**calls)

    def aggregate(self):
        done = {}
        for k in range(self.inputs.trials.value):
            label = f'trial_{k:02d}'
            node = self.ctx[label]
            if node.is_finished_ok:
                done[label] = node.outputs.properties
            else:
                self.report(f'{label} failed (exit {node.exit_status}: {node.exit_message}); left out of the aggregate')
        if not done:
            return self.exit_codes.ERROR_ALL_TRIALS_FAILED
        self.out('trials', done)
        self.out('final_cells', {label: self.ctx[label].outputs.final_cell for label in done})
        result = aggregate_trials(self.inputs.polymer, self.inputs.protocol, **done)
        self.out('aggregate', result['aggregate'])
        return None
