"""``TgWorkChain``: the glass-transition temperature of one equilibrated cell by stepwise NPT cooling.

One ``tg`` LAMMPS stage (:mod:`aiida_polyinf.md.tg`: heating to ``t_start``, then NPT plateaus down to ``t_end``),
run by a ``LammpsBaseWorkChain`` so that it restarts from its restart files, then the ``glass_transition``
calcfunction over the thermo output of every run. Where the specific volume shows no clear kink, the values and the
fit are still stored and the chain ends with ``ERROR_NO_CLEAR_KINK`` (a physics result, not a crash).
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain

from ..calculations.tg import glass_transition
from ..protocols import ProtocolMixin
from .cell import cell_stage_builder, define_cell_inputs, run_failed, submit_cell_run


class TgWorkChain(ProtocolMixin, WorkChain):
    """Tg, its uncertainty and the expansion coefficients above and below it, of one equilibrated cell."""

    _protocol_file = 'tg'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        define_cell_inputs(spec, 'The Tg parameters (protocols/tg.yaml, read by aiida_polyinf.md.tg).')
        spec.outline(cls.run_tg, cls.inspect_tg)
        spec.output('glass_transition', valid_type=orm.Dict, help='Tg, expansion coefficients, the fit and its quality.')
        spec.output('final_cell', valid_type=orm.SinglefileData, required=False, help='The cell at the last temperature.')
        spec.exit_code(403, 'ERROR_SUB_PROCESS_FAILED_LAMMPS', message='the cooling run failed: {message}')
        spec.exit_code(510, 'ERROR_NO_CLEAR_KINK', message='no clear glass transition: {reason}')
        spec.exit_code(520, 'ERROR_ANALYSIS_FAILED', message='the Tg analysis failed: {message}')

    @classmethod
    def get_builder_from_protocol(cls, code, polymer, cell, protocol=None, overrides=None, md_properties=None,
                                  seed: int | None = None, trial: int = 0):
        return cell_stage_builder(cls, 'tg', code, polymer, cell, protocol, overrides, seed, trial, md_properties)

    def run_tg(self):
        return ToContext(run=submit_cell_run(self, 'tg'))

    def inspect_tg(self):
        node = self.ctx.run
        if not node.is_finished_ok:
            return run_failed(self, node)
        runs = sorted((calc for calc in node.called if 'thermo' in calc.outputs), key=lambda calc: calc.pk)
        thermo = {f'thermo_{i}': calc.outputs.thermo for i, calc in enumerate(runs)}
        try:
            result = glass_transition(
                self.inputs.polymer, self.inputs.parameters, self.inputs.seed, self.inputs.trial, self.inputs.protocol,
                **thermo, metadata={'call_link_label': 'analysis'},
            )['glass_transition']
        except Exception as exception:  # noqa: BLE001 - recorded as the named exit code
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=str(exception))
        self.out('glass_transition', result)
        if 'output_data' in node.outputs:
            self.out('final_cell', node.outputs.output_data)
        fit = result.get('settings', {})
        tg = result.get('glass_transition_temperature')
        self.report(f'Tg {tg} K, R2 glass {fit.get("r2_glass")} rubber {fit.get("r2_rubber")}, '
                    f'clear kink {fit.get("clear_kink")}')
        if not fit.get('clear_kink'):
            return self.exit_codes.ERROR_NO_CLEAR_KINK.format(reason=fit.get('reason') or 'no reason given')
        return None
