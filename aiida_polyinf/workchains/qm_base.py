"""``PyscfBaseWorkChain``: runs ``PyscfCalculation`` and restarts it when it fails in a way that can be mended."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ProcessHandlerReport, process_handler, while_

from ..calculations.pyscf import PyscfCalculation
from ..protocols import merge
from .restart import RestartWorkChain

#: SCF rescue strategies, tried in order: level shift, then damping, then second-order SCF.
SCF_STRATEGIES = (
    {'level_shift': 0.3},
    {'level_shift': 0.3, 'damping': 0.5, 'max_cycle': 300},
    {'newton': True, 'max_cycle': 100},
)


class PyscfBaseWorkChain(RestartWorkChain):
    """Run a ``PyscfCalculation`` and handle its recoverable failures (exit codes 4xx)."""

    _process_class = PyscfCalculation

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(PyscfCalculation, namespace='pyscf')
        spec.expose_outputs(PyscfCalculation)
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(
                cls.run_process,
                cls.inspect_process,
            ),
            cls.results,
        )

    def setup(self):
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(PyscfCalculation, 'pyscf'))
        self.ctx.scf_strategy = 0
        self.ctx.memory_fixes = 0

    def _update_parameters(self, update: dict) -> None:
        self.ctx.inputs.parameters = orm.Dict(merge(self.ctx.inputs.parameters.get_dict(), update))

    def _restart_from(self, node, use_checkpoint: bool) -> None:
        """Continue from the last geometry of ``node`` and, if asked, from its checkpoint (SCF guess)."""
        if 'output_structure' in node.outputs:
            self.ctx.inputs.structure = node.outputs.output_structure
        if use_checkpoint and 'remote_folder' in node.outputs:
            self.ctx.inputs.parent_folder = node.outputs.remote_folder

    @process_handler(priority=600, exit_codes=[PyscfCalculation.exit_codes.ERROR_SCF_NOT_CONVERGED])
    def handle_scf_not_converged(self, node):
        """SCF not converged: level shift, then damping, then second-order SCF."""
        if self.ctx.scf_strategy >= len(SCF_STRATEGIES):
            self.report(f'{node.process_label}<{node.pk}>: SCF failed with every strategy, aborting')
            return ProcessHandlerReport(
                True, self.exit_codes.ERROR_UNRECOVERABLE_FAILURE.format(message='SCF did not converge')
            )
        strategy = SCF_STRATEGIES[self.ctx.scf_strategy]
        self.ctx.scf_strategy += 1
        self._update_parameters({'method': {'scf': strategy}})
        self._restart_from(node, use_checkpoint=False)
        self.report(f'{node.process_label}<{node.pk}>: SCF not converged, restarting with {strategy}')
        return ProcessHandlerReport(True)

    @process_handler(priority=500, exit_codes=[PyscfCalculation.exit_codes.ERROR_GEOMETRY_NOT_CONVERGED])
    def handle_geometry_not_converged(self, node):
        """Geometry not converged: restart the optimisation from the last geometry."""
        self._restart_from(node, use_checkpoint=True)
        self.report(f'{node.process_label}<{node.pk}>: geometry not converged, restarting from the last geometry')
        return ProcessHandlerReport(True)

    @process_handler(
        priority=400,
        exit_codes=[PyscfCalculation.exit_codes.ERROR_OUT_OF_WALLTIME, PyscfCalculation.exit_codes.ERROR_DRIVER_KILLED],
    )
    def handle_out_of_walltime(self, node):
        """Out of wall time (or killed): restart from the last geometry and the checkpoint."""
        self._restart_from(node, use_checkpoint=True)
        self.report(f'{node.process_label}<{node.pk}>: {node.exit_message}; restarting from the checkpoint')
        return ProcessHandlerReport(True)

    @process_handler(priority=300, exit_codes=[PyscfCalculation.exit_codes.ERROR_OUT_OF_MEMORY])
    def handle_out_of_memory(self, node):
        """Out of memory: first switch on density fitting, then halve the threads."""
        parameters = self.ctx.inputs.parameters.get_dict()
        if not parameters.get('method', {}).get('density_fit'):
            self._update_parameters({'method': {'density_fit': True}})
            action = 'density fitting'
        else:
            threads = parameters.get('resources', {}).get('num_threads', 2)
            if threads <= 1:
                return ProcessHandlerReport(
                    True, self.exit_codes.ERROR_UNRECOVERABLE_FAILURE.format(message='out of memory on one thread')
                )
            self._update_parameters({'resources': {'num_threads': max(1, threads // 2)}})
            action = f'{max(1, threads // 2)} thread(s)'
        self._restart_from(node, use_checkpoint=False)
        self.report(f'{node.process_label}<{node.pk}>: out of memory, restarting with {action}')
        return ProcessHandlerReport(True)
