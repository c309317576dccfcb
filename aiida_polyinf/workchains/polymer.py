"""``PolymerPropertiesWorkChain``: the whole protocol for one polymer, one stage after the other.

Stages: intake -> qm -> ff -> md (-> nemd -> ions, as they land). Each sub-work-chain is exposed in its own
namespace, as in aiida-quantumespresso; a stage whose namespace is not given is skipped. A failed stage ends the chain
with ``ERROR_SUB_PROCESS_FAILED_<STAGE>``; what the earlier stages made stays stored and usable.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, if_

from ..data.polymer import PolymerData
from ..calculations.md import ff_descriptors
from .intake import IntakeWorkChain
from .md import MdWorkChain
from .protocols import ProtocolMixin
from .qm import QmWorkChain


class PolymerPropertiesWorkChain(ProtocolMixin, WorkChain):
    """Intake, QM, FF and MD of one polymer (NEMD and ions are added by their issue)."""

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
        spec.outline(
            cls.run_intake,
            cls.inspect_intake,
            if_(cls.should_run_qm)(
                cls.run_qm,
                cls.inspect_qm,
                if_(cls.should_run_ff)(cls.run_ff),
                if_(cls.should_run_md)(cls.run_md, cls.inspect_md),
            ),
        )
        spec.expose_outputs(IntakeWorkChain, namespace='intake')
        spec.expose_outputs(QmWorkChain, namespace='qm', namespace_options={'required': False})
        spec.output('ff_descriptors', valid_type=orm.Dict, required=False)
        spec.expose_outputs(MdWorkChain, namespace='md', namespace_options={'required': False})
        spec.exit_code(401, 'ERROR_SUB_PROCESS_FAILED_INTAKE', message='the intake stage failed: {message}')
        spec.exit_code(402, 'ERROR_SUB_PROCESS_FAILED_QM', message='the qm stage failed: {message}')
        spec.exit_code(403, 'ERROR_SUB_PROCESS_FAILED_FF', message='the ff stage failed: {message}')
        spec.exit_code(404, 'ERROR_SUB_PROCESS_FAILED_MD', message='the md stage failed: {message}')

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
        return None
