"""``PolymerPropertiesWorkChain``: the whole protocol for one polymer, one stage after the other.

The stages come from the stage registry (:mod:`aiida_polyinf.common.stages`): intake -> qm -> ff -> md (K trials),
then every cell stage (nemd, ions, tg, ...) on the equilibrated cell. Each sub-process is exposed in its own namespace,
as in aiida-quantumespresso; a stage whose namespace is not given is skipped. A failed stage ends the chain with the
registry's ``ERROR_SUB_PROCESS_FAILED_<STAGE>``; what the earlier stages made stays stored and usable.

The intake stage builds the start conformer of the QM stage (the capped oligomer with the QM protocol's ``n`` and
``num_conformers``); QM starts from it.

The cell stages start from the equilibrated cell of the first finished MD trial (``trial_00`` unless it failed), with
that trial's properties (density and Cp for the diffusivity, check_eq and nematic order for RadonPy's skip rule), and
run at the same time, independently: a failed NEMD does not stop the ions, and the chain reports the first failure at
the end. A 5xx exit of a cell stage (RadonPy's skip rule, a gradient that stays non-linear, ions that do not diffuse,
no clear glass transition) is a physics result, not a failed stage: it is reported, its values (if any) are exposed,
and the chain finishes.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, if_
from aiida.plugins import WorkflowFactory

from ..calculations.md import ff_descriptors
from ..common import stages as registry
from ..common.seeds import derive_seed
from ..data.polymer import PolymerData
from ..protocols import ProtocolMixin
from .cell import FROM_MD
from .intake import IntakeWorkChain
from .md import MdWorkChain
from .qm import QmWorkChain

#: QM inputs the chain sets itself: the polymer and the intake stage's conformer.
QM_FROM_CHAIN = ('polymer', 'structure')


def _cell_process(stage: registry.Stage):
    return WorkflowFactory(stage.process.split(':', 1)[1])


class PolymerPropertiesWorkChain(ProtocolMixin, WorkChain):
    """Intake, QM, FF, MD and the cell stages (NEMD, ions, Tg) of one polymer."""

    _protocol_file = 'polymer'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('polymer', valid_type=PolymerData)
        spec.expose_inputs(IntakeWorkChain, namespace='intake', exclude=('polymer',))
        spec.expose_inputs(
            QmWorkChain,
            namespace='qm',
            exclude=QM_FROM_CHAIN,
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
        for stage in registry.cell_stages():
            spec.expose_inputs(
                _cell_process(stage),
                namespace=stage.port,
                exclude=FROM_MD,
                namespace_options={'required': False, 'populate_defaults': False,
                                   'help': f'Omit to skip the {stage.name} stage (needs the md stage).'},
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
                    cls.run_cell_stages,
                    cls.inspect_cell_stages,
                ),
            ),
        )
        spec.expose_outputs(IntakeWorkChain, namespace='intake')
        spec.expose_outputs(QmWorkChain, namespace='qm', namespace_options={'required': False})
        spec.output('ff_descriptors', valid_type=orm.Dict, required=False)
        spec.expose_outputs(MdWorkChain, namespace='md', namespace_options={'required': False})
        for stage in registry.cell_stages():
            spec.expose_outputs(_cell_process(stage), namespace=stage.port, namespace_options={'required': False})
        for stage in registry.STAGE_LIST:
            spec.exit_code(stage.exit_status, stage.exit_code_label, message=f'the {stage.name} stage failed: {{message}}')

    @classmethod
    def get_builder_from_protocol(
        cls, codes: dict, polymer: PolymerData, protocol: str | None = None, overrides: dict | None = None,
        seed: int | None = None,
    ):
        """A builder for the stages that have ``codes`` (``{'pyscf': code, 'lmp': code}``), from the named protocol.

        ``seed`` is the conformer seed of the intake and QM stages (default: derived from the polymer and protocol);
        the MD trials and the cell stages derive their own from the polymer, protocol, trial and stage.
        """
        protocol = protocol or cls.get_default_protocol()
        inputs = cls.get_protocol_inputs(protocol, overrides)
        if seed is None:
            seed = derive_seed(polymer.smiles, protocol, 0, 'conformer')
        stages = inputs['stages']
        builder = cls.get_builder()
        builder.polymer = polymer
        qm_inputs = QmWorkChain.get_protocol_inputs(protocol, inputs.get('qm'))
        builder.intake.n = orm.Int(qm_inputs['n'])  # the intake stage builds the conformer the QM stage starts from
        builder.intake.num_conformers = orm.Int(qm_inputs['num_conformers'])
        builder.intake.seed = orm.Int(seed)
        lmp_ready = codes.get('lmp') is not None and codes.get('pyscf') is not None
        if 'qm' in stages and codes.get('pyscf') is not None:
            qm = QmWorkChain.get_builder_from_protocol(codes['pyscf'], polymer, protocol, inputs.get('qm'))
            qm.conformer_seed = orm.Int(seed)
            for key in QM_FROM_CHAIN:
                qm.pop(key, None)
            builder.qm = qm._inputs(prune=True)
        if 'ff' in stages:
            builder.ff_parameters = orm.Dict({
                'protocol': protocol, 'seed': derive_seed(polymer.smiles, protocol, 0, 'ff'), **inputs.get('ff', {}),
            })
        if 'md' in stages and lmp_ready:
            md = MdWorkChain.get_builder_from_protocol(codes['lmp'], polymer, None, protocol, inputs.get('md'))
            for key in ('polymer', 'charges', 'qm_descriptors'):
                md.pop(key, None)
            builder.md = md._inputs(prune=True)
        for stage in registry.cell_stages():
            if stage.name in stages and 'md' in stages and lmp_ready:
                sub = _cell_process(stage).get_builder_from_protocol(
                    codes['lmp'], polymer, None, protocol, inputs.get(stage.name),
                )
                for key in FROM_MD:
                    sub.pop(key, None)
                builder[stage.port] = sub._inputs(prune=True)
        return builder

    def _failed(self, node, stage: str):
        exit_code = self.exit_codes[registry.STAGES[stage].exit_code_label]
        return exit_code.format(message=f'{node.process_label}<{node.pk}> exit {node.exit_status}: {node.exit_message}')

    def run_intake(self):
        inputs = AttributeDict(self.exposed_inputs(IntakeWorkChain, 'intake'))
        inputs.polymer = self.inputs.polymer
        inputs.metadata = {'call_link_label': registry.STAGES['intake'].link_label}
        return ToContext(intake=self.submit(IntakeWorkChain, **inputs))

    def inspect_intake(self):
        node = self.ctx.intake
        if not node.is_finished_ok:
            return self._failed(node, 'intake')
        self.out_many(self.exposed_outputs(node, IntakeWorkChain, namespace='intake'))
        return None

    def should_run_qm(self):
        return 'qm' in self.inputs

    def run_qm(self):
        inputs = AttributeDict(self.exposed_inputs(QmWorkChain, 'qm'))
        inputs.polymer = self.inputs.polymer
        inputs.structure = self.ctx.intake.outputs.structure
        inputs.metadata = {'call_link_label': registry.STAGES['qm'].link_label}
        return ToContext(qm=self.submit(QmWorkChain, **inputs))

    def inspect_qm(self):
        node = self.ctx.qm
        if not node.is_finished_ok:
            return self._failed(node, 'qm')
        self.out_many(self.exposed_outputs(node, QmWorkChain, namespace='qm'))
        return None

    def should_run_ff(self):
        return registry.STAGES['ff'].port in self.inputs

    def run_ff(self):
        try:
            result = ff_descriptors(
                self.inputs.polymer, self.ctx.qm.outputs.charges, self.inputs.ff_parameters,
                metadata={'call_link_label': registry.STAGES['ff'].link_label},
            )
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
        inputs.metadata = {'call_link_label': registry.STAGES['md'].link_label}
        return ToContext(md=self.submit(MdWorkChain, **inputs))

    def inspect_md(self):
        node = self.ctx.md
        if not node.is_finished_ok:
            return self._failed(node, 'md')
        self.out_many(self.exposed_outputs(node, MdWorkChain, namespace='md'))
        cells = dict(node.outputs.final_cells) if 'final_cells' in node.outputs else {}
        self.ctx.cell_trial = sorted(cells)[0] if cells else None
        return None

    def _cell_stages_to_run(self) -> list[registry.Stage]:
        if self.ctx.cell_trial is None:
            return []
        return [stage for stage in registry.cell_stages() if stage.port in self.inputs]

    def run_cell_stages(self):
        """Every cell stage of this chain on the first finished MD trial's cell, all at once."""
        label = self.ctx.cell_trial
        md = self.ctx.md.outputs
        trial = int(label.split('_')[1]) if label else 0
        calls = {}
        for stage in self._cell_stages_to_run():
            process = _cell_process(stage)
            inputs = AttributeDict(self.exposed_inputs(process, stage.port))
            protocol = inputs.protocol.value if 'protocol' in inputs else 'custom'
            inputs.polymer = self.inputs.polymer
            inputs.cell = md.final_cells[label]
            inputs.md_properties = md.trials[label]
            inputs.seed = orm.Int(derive_seed(self.inputs.polymer.smiles, protocol, trial, stage.name))
            inputs.trial = orm.Int(trial)
            inputs.metadata = {'call_link_label': stage.link_label}
            calls[stage.name] = self.submit(process, **inputs)
            self.report(f'{stage.name}: {process.__name__}<{calls[stage.name].pk}> on {label}')
        return ToContext(**calls)

    def inspect_cell_stages(self):
        """Expose what each cell stage made; a 5xx is a physics result, any other failure fails the chain (the first
        one, after every stage has run)."""
        failure = None
        for stage in self._cell_stages_to_run():
            node = self.ctx[stage.name]
            self.out_many(self.exposed_outputs(node, _cell_process(stage), namespace=stage.port))
            if node.is_finished_ok:
                continue
            if node.exit_status is not None and 500 <= node.exit_status < 600:
                self.report(f'{stage.name}: {node.process_label}<{node.pk}> ended with {node.exit_status}: '
                            f'{node.exit_message} (a physics result: recorded, not a failed stage)')
                continue
            if failure is None:
                failure = self._failed(node, stage.name)
        return failure
