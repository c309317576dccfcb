"""``PolymerPropertiesWorkChain``: the whole protocol for one polymer, one stage after the other.

Stages: intake -> qm -> ff -> md (K trials) -> nemd -> ions. Each sub-work-chain is exposed in its own namespace,
as in aiida-quantumespresso; a stage whose namespace is not given is skipped. A failed stage ends the chain with
``ERROR_SUB_PROCESS_FAILED_<STAGE>``; what the earlier stages made stays stored and usable.

NEMD and ions start from the equilibrated cell of the first finished MD trial (``trial_00`` unless it failed), with
that trial's properties (density and Cp for the diffusivity, check_eq and nematic order for RadonPy's skip rule).
They are independent: a failed NEMD does not stop the ions, and the chain reports the NEMD failure at the end. A
5xx exit of either (RadonPy's skip rule, a gradient that stays non-linear, ions that do not diffuse) is a physics
result, not a failed stage: it is reported, its values (if any) are exposed, and the chain finishes.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, if_

from ..data.polymer import PolymerData
from ..calculations.md import ff_descriptors
from ..seeds import derive_seed
from .intake import IntakeWorkChain
from .ions import IonMobilityWorkChain
from .md import MdWorkChain
from .nemd import NemdThermalConductivityWorkChain
from .protocols import ProtocolMixin
from .qm import QmWorkChain


class PolymerPropertiesWorkChain(ProtocolMixin, WorkChain):
    """Intake, QM, FF, MD, NEMD and ions of one polymer."""

    _protocol_file = 'polymer'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('polymer', valid_type=PolymerData)
        spec.expose_inputs(IntakeWorkChain, namespace='intake', exclude=('polymer',))
        spec.expose_inputs(
            QmWorkChain,
            namespace='qm',
            exclude=('polymer',),
            namespace_options={'required': False, 'populate_defaults': False, 'help': 'Omit to skip the QM stage.'},
        )
        spec.input(
            'ff_parameters', valid_type=orm.Dict, required=False,
            help='Options of the FF descriptors (`n_units` of the typed oligomer, `protocol`); omit to skip ff.',
        )
        spec.expose_inputs(
            MdWorkChain,
            namespace='md',
            exclude=('polymer', 'charges', 'qm_descriptors'),
            namespace_options={'required': False, 'populate_defaults': False, 'help': 'Omit to skip the MD stage.'},
        )
        for stage, process in (('nemd', NemdThermalConductivityWorkChain), ('ions', IonMobilityWorkChain)):
            spec.expose_inputs(
                process,
                namespace=stage,
                exclude=('polymer', 'cell', 'md_properties', 'seed', 'trial'),
                namespace_options={'required': False, 'populate_defaults': False,
                                   'help': f'Omit to skip the {stage} stage (needs the md stage).'},
            )
        spec.outline(
            cls.run_intake,
            cls.inspect_intake,
            if_(cls.should_run_qm)(
                cls.run_qm,
                cls.inspect_qm,
                if_(cls.should_run_ff)(cls.run_ff),
                if_(cls.should_run_md)(
                    cls.run_md,
                    cls.inspect_md,
                    if_(cls.should_run_nemd)(cls.run_nemd, cls.inspect_nemd),
                    if_(cls.should_run_ions)(cls.run_ions, cls.inspect_ions),
                    cls.finalize,
                ),
            ),
        )
        spec.expose_outputs(IntakeWorkChain, namespace='intake')
        spec.expose_outputs(QmWorkChain, namespace='qm', namespace_options={'required': False})
        spec.output('ff_descriptors', valid_type=orm.Dict, required=False)
        spec.expose_outputs(MdWorkChain, namespace='md', namespace_options={'required': False})
        spec.expose_outputs(NemdThermalConductivityWorkChain, namespace='nemd', namespace_options={'required': False})
        spec.expose_outputs(IonMobilityWorkChain, namespace='ions', namespace_options={'required': False})
        spec.exit_code(401, 'ERROR_SUB_PROCESS_FAILED_INTAKE', message='the intake stage failed: {message}')
        spec.exit_code(402, 'ERROR_SUB_PROCESS_FAILED_QM', message='the qm stage failed: {message}')
        spec.exit_code(403, 'ERROR_SUB_PROCESS_FAILED_FF', message='the ff stage failed: {message}')
        spec.exit_code(404, 'ERROR_SUB_PROCESS_FAILED_MD', message='the md stage failed: {message}')
        spec.exit_code(405, 'ERROR_SUB_PROCESS_FAILED_NEMD', message='the nemd stage failed: {message}')
        spec.exit_code(406, 'ERROR_SUB_PROCESS_FAILED_IONS', message='the ions stage failed: {message}')

    @classmethod
    def get_builder_from_protocol(
        cls, codes: dict, polymer: PolymerData, protocol: str | None = None, overrides: dict | None = None,
        seed: int = 42,
    ):
        """A builder for the stages that have ``codes`` (``{'pyscf': code}``), from the named protocol."""
        protocol = protocol or cls.get_default_protocol()
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        builder.polymer = polymer
        builder.intake.n = orm.Int(inputs['intake']['n'])
        builder.intake.seed = orm.Int(seed)
        if 'qm' in inputs['stages'] and codes.get('pyscf') is not None:
            qm = QmWorkChain.get_builder_from_protocol(codes['pyscf'], polymer, protocol, inputs.get('qm'))
            qm.conformer_seed = orm.Int(seed)
            qm.pop('polymer', None)
            builder.qm = qm._inputs(prune=True)
        if 'ff' in inputs['stages']:
            builder.ff_parameters = orm.Dict({'protocol': protocol, **inputs.get('ff', {})})
        if 'md' in inputs['stages']:
            if codes.get('lmp') is not None and codes.get('pyscf') is not None:
                md = MdWorkChain.get_builder_from_protocol(codes['lmp'], polymer, None, protocol, inputs.get('md'))
                for key in ('polymer', 'charges', 'qm_descriptors'):
                    md.pop(key, None)
                builder.md = md._inputs(prune=True)
        for stage, process in (('nemd', NemdThermalConductivityWorkChain), ('ions', IonMobilityWorkChain)):
            if stage in inputs['stages'] and 'md' in inputs['stages'] and codes.get('lmp') is not None \
                    and codes.get('pyscf') is not None:
                sub = process.get_builder_from_protocol(codes['lmp'], polymer, None, protocol, inputs.get(stage))
                for key in ('polymer', 'cell', 'md_properties', 'seed', 'trial'):
                    sub.pop(key, None)
                builder[stage] = sub._inputs(prune=True)
        return builder

    def _failed(self, node, exit_code):
        return exit_code.format(message=f'{node.process_label}<{node.pk}> exit {node.exit_status}: {node.exit_message}')

    def run_intake(self):
        inputs = AttributeDict(self.exposed_inputs(IntakeWorkChain, 'intake'))
        inputs.polymer = self.inputs.polymer
        inputs.metadata = {'call_link_label': 'intake'}
        return ToContext(intake=self.submit(IntakeWorkChain, **inputs))

    def inspect_intake(self):
        node = self.ctx.intake
        if not node.is_finished_ok:
            return self._failed(node, self.exit_codes.ERROR_SUB_PROCESS_FAILED_INTAKE)
        self.out_many(self.exposed_outputs(node, IntakeWorkChain, namespace='intake'))
        return None

    def should_run_qm(self):
        return 'qm' in self.inputs

    def run_qm(self):
        inputs = AttributeDict(self.exposed_inputs(QmWorkChain, 'qm'))
        inputs.polymer = self.inputs.polymer
        inputs.metadata = {'call_link_label': 'qm'}
        return ToContext(qm=self.submit(QmWorkChain, **inputs))

    def inspect_qm(self):
        node = self.ctx.qm
        if not node.is_finished_ok:
            return self._failed(node, self.exit_codes.ERROR_SUB_PROCESS_FAILED_QM)
        self.out_many(self.exposed_outputs(node, QmWorkChain, namespace='qm'))
        return None

    def should_run_ff(self):
        return 'ff_parameters' in self.inputs

    def run_ff(self):
        try:
            result = ff_descriptors(self.inputs.polymer, self.ctx.qm.outputs.charges, self.inputs.ff_parameters)
        except Exception as exception:  # noqa: BLE001 - a typing failure is recorded as the named exit code
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_FF.format(message=str(exception))
        self.out('ff_descriptors', result['ff_descriptors'])
        return None

    def should_run_md(self):
        return 'md' in self.inputs

    def run_md(self):
        inputs = AttributeDict(self.exposed_inputs(MdWorkChain, 'md'))
        inputs.polymer = self.inputs.polymer
        inputs.charges = self.ctx.qm.outputs.charges
        inputs.qm_descriptors = self.ctx.qm.outputs.descriptors
        inputs.metadata = {'call_link_label': 'md'}
        return ToContext(md=self.submit(MdWorkChain, **inputs))

    def inspect_md(self):
        node = self.ctx.md
        if not node.is_finished_ok:
            return self._failed(node, self.exit_codes.ERROR_SUB_PROCESS_FAILED_MD)
        self.out_many(self.exposed_outputs(node, MdWorkChain, namespace='md'))
        cells = dict(node.outputs.final_cells) if 'final_cells' in node.outputs else {}
        self.ctx.cell_trial = sorted(cells)[0] if cells else None
        self.ctx.late_failure = None
        return None

    def _property_stage_inputs(self, stage: str, process) -> AttributeDict:
        label = self.ctx.cell_trial
        md = self.ctx.md.outputs
        inputs = AttributeDict(self.exposed_inputs(process, stage))
        trial = int(label.split('_')[1])
        inputs.polymer = self.inputs.polymer
        inputs.cell = md.final_cells[label]
        protocol = inputs.protocol.value if 'protocol' in inputs else 'custom'
        inputs.seed = orm.Int(derive_seed(self.inputs.polymer.smiles, protocol, trial, stage))
        inputs.trial = orm.Int(trial)
        inputs.metadata = {'call_link_label': stage}
        return inputs

    def should_run_nemd(self):
        return 'nemd' in self.inputs and self.ctx.cell_trial is not None

    def run_nemd(self):
        inputs = self._property_stage_inputs('nemd', NemdThermalConductivityWorkChain)
        inputs.md_properties = self.ctx.md.outputs.trials[self.ctx.cell_trial]
        return ToContext(nemd=self.submit(NemdThermalConductivityWorkChain, **inputs))

    def _inspect_property_stage(self, stage: str, process, exit_code):
        node = self.ctx[stage]
        self.out_many(self.exposed_outputs(node, process, namespace=stage))
        if node.is_finished_ok:
            return
        if node.exit_status is not None and 500 <= node.exit_status < 600:
            self.report(f'{stage}: {node.process_label}<{node.pk}> ended with {node.exit_status}: {node.exit_message} '
                        '(a physics result: recorded, not a failed stage)')
            return
        if self.ctx.late_failure is None:  # the first failure is the chain's exit code, after the other stages ran
            self.ctx.late_failure = self._failed(node, exit_code)

    def inspect_nemd(self):
        self._inspect_property_stage('nemd', NemdThermalConductivityWorkChain,
                                     self.exit_codes.ERROR_SUB_PROCESS_FAILED_NEMD)

    def should_run_ions(self):
        return 'ions' in self.inputs and self.ctx.cell_trial is not None

    def run_ions(self):
        inputs = self._property_stage_inputs('ions', IonMobilityWorkChain)
        return ToContext(ions=self.submit(IonMobilityWorkChain, **inputs))

    def inspect_ions(self):
        self._inspect_property_stage('ions', IonMobilityWorkChain, self.exit_codes.ERROR_SUB_PROCESS_FAILED_IONS)

    def finalize(self):
        return self.ctx.late_failure
