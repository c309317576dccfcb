"""``LammpsBaseWorkChain``: runs one MD stage and restarts it from the last LAMMPS restart file when it breaks."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ProcessHandlerReport, process_handler, while_

from ..calculations.lammps import LammpsCalculation
from ..protocols import merge
from .restart import RestartWorkChain

def fill_lammps_namespace(namespace, code, inputs: dict) -> None:
    """Set a builder's ``LammpsBaseWorkChain`` namespace from a stage's protocol inputs (``max_iterations``,
    ``options``, ``settings``) and the ``lmp`` code."""
    namespace.max_iterations = orm.Int(inputs['max_iterations'])
    namespace.lammps.code = code
    namespace.lammps.metadata.options = merge(inputs['options'], {})
    namespace.lammps.settings = orm.Dict(inputs.get('settings', {}))


#: Factor applied to the time step after "lost atoms" / "bond atoms missing", and how small it may get.
DT_FACTOR = 0.5
MIN_DT_SCALE = 0.125


class LammpsBaseWorkChain(RestartWorkChain):
    """Run a ``LammpsCalculation``; on wall time or a crash continue from the last restart file; on lost atoms or
    missing bond atoms continue from the last good restart file with half the time step."""

    _process_class = LammpsCalculation

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(LammpsCalculation, namespace='lammps')
        spec.expose_outputs(LammpsCalculation)
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(cls.run_process, cls.inspect_process),
            cls.results,
        )

    def setup(self):
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(LammpsCalculation, 'lammps'))

    def _continue_from_restart(self, node, dt_scale: float | None = None) -> bool:
        """Point the next run at the last restart file of ``node``; False when there is none."""
        summary = node.outputs.output_parameters.get_dict() if 'output_parameters' in node.outputs else {}
        last = summary.get('last_restart')
        if not last or 'remote_folder' not in node.outputs:
            return False
        parameters = self.ctx.inputs.parameters.get_dict()
        previous = parameters.get('restart') or {}
        scale = float(previous.get('dt_scale', 1.0)) * (dt_scale or 1.0)
        restart = {'file': last['file'], 'step': int(last['step']), 'dt_scale': scale}
        self.ctx.inputs.parameters = orm.Dict(merge(parameters, {'restart': restart}))
        self.ctx.inputs.parent_folder = node.outputs.remote_folder
        return True

    @process_handler(
        priority=500,
        exit_codes=[LammpsCalculation.exit_codes.ERROR_OUT_OF_WALLTIME, LammpsCalculation.exit_codes.ERROR_LAMMPS_KILLED],
    )
    def handle_walltime_or_crash(self, node):
        """Out of wall time or killed: continue from the last restart file (or start the stage again)."""
        if self._continue_from_restart(node):
            self.report(f'{node.process_label}<{node.pk}>: {node.exit_message}; continuing from the last restart file')
        else:
            self.report(f'{node.process_label}<{node.pk}>: {node.exit_message}; no restart file, running the stage again')
        return ProcessHandlerReport(True)

    @process_handler(
        priority=400,
        exit_codes=[LammpsCalculation.exit_codes.ERROR_LOST_ATOMS, LammpsCalculation.exit_codes.ERROR_BOND_ATOMS_MISSING],
    )
    def handle_unstable(self, node):
        """Lost atoms / bond atoms missing: halve the time step and continue from the last good restart file."""
        current = float((self.ctx.inputs.parameters.get_dict().get('restart') or {}).get('dt_scale', 1.0))
        if current * DT_FACTOR < MIN_DT_SCALE:
            return ProcessHandlerReport(
                True, self.exit_codes.ERROR_UNRECOVERABLE_FAILURE.format(message=f'still unstable at dt x {current}')
            )
        if not self._continue_from_restart(node, dt_scale=DT_FACTOR):
            parameters = self.ctx.inputs.parameters.get_dict()
            protocol = parameters['protocol']
            protocol['dt'] = float(protocol.get('dt', 1.0)) * DT_FACTOR  # no restart file yet: start over, smaller dt
            self.ctx.inputs.parameters = orm.Dict(parameters)
        self.report(f'{node.process_label}<{node.pk}>: {node.exit_message}; time step x {DT_FACTOR}, continuing')
        return ProcessHandlerReport(True)
