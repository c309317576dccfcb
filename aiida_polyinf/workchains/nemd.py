"""``NemdThermalConductivityWorkChain``: kappa of one equilibrated cell by Mueller-Plathe NEMD (RadonPy ``NEMD_MP``).

It follows RadonPy's rule first: no kappa when the equilibration did not converge or the cell is ordered (nematic
order >= 0.1), each a named 5xx exit code, when the protocol applies the rule (``moderate`` does, ``fast`` not). Then
the NEMD run (a ``LammpsBaseWorkChain``, so it restarts from its restart files when it breaks), the analysis
(``thermal_conductivity`` calcfunction), and, while the temperature gradient fails RadonPy's R^2 threshold, up to
``max_extensions`` extension runs continued from the last restart file, each analysed with all runs so far. Out of
extensions, the last kappa is kept with its fit quality and the chain ends with ``ERROR_GRADIENT_NOT_LINEAR``, unless
the protocol accepts a poor fit (``fast``).
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, append_, if_, while_

from ..calculations.nemd import thermal_conductivity
from ..md.nemd import skip_reason, total_steps
from ..protocols import ProtocolMixin, merge
from .cell import cell_stage_builder, define_cell_inputs
from .lammps_base import LammpsBaseWorkChain

class NemdThermalConductivityWorkChain(ProtocolMixin, WorkChain):
    """Thermal conductivity and diffusivity of one equilibrated cell."""

    _protocol_file = 'nemd'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        define_cell_inputs(spec, 'The NEMD parameters (protocols/nemd.yaml, read by aiida_polyinf.md.nemd).')
        spec.outline(
            cls.setup,
            if_(cls.should_run)(
                cls.run_nemd,
                cls.inspect_nemd,
                while_(cls.should_extend)(cls.run_nemd, cls.inspect_nemd),
                cls.results,
            ).else_(cls.skipped),
        )
        spec.output('thermal_conductivity', valid_type=orm.Dict, help='kappa, its error, diffusivity, fit quality.')
        spec.output('final_cell', valid_type=orm.SinglefileData, required=False)
        spec.exit_code(403, 'ERROR_SUB_PROCESS_FAILED_LAMMPS', message='the NEMD run failed: {message}')
        spec.exit_code(501, 'ERROR_NOT_EQUILIBRATED', message='no kappa: {reason}')
        spec.exit_code(502, 'ERROR_CELL_ORDERED', message='no kappa: {reason}')
        spec.exit_code(510, 'ERROR_GRADIENT_NOT_LINEAR',
                       message='the temperature gradient stayed non-linear after {rounds} extension(s): {fit}')
        spec.exit_code(520, 'ERROR_ANALYSIS_FAILED', message='the NEMD analysis failed: {message}')

    @classmethod
    def get_builder_from_protocol(cls, code, polymer, cell, protocol=None, overrides=None, md_properties=None,
                                  seed: int | None = None, trial: int = 0):
        return cell_stage_builder(cls, 'nemd', code, polymer, cell, protocol, overrides, seed, trial, md_properties)

    def setup(self):
        self.ctx.protocol = self.inputs.parameters.get_dict()
        self.ctx.runs = []
        self.ctx.extensions = 0
        self.ctx.result = None

    def should_run(self):
        converged, nematic = None, None
        if 'md_properties' in self.inputs:
            props = self.inputs.md_properties.get_dict()
            converged = props.get('settings', {}).get('converged')
            nematic = props.get('nematic_order_parameter')
        reason = skip_reason(self.ctx.protocol, converged, nematic)
        if reason:
            self.report(f'RadonPy rule: {reason}; kappa not computed')
            code = self.exit_codes.ERROR_CELL_ORDERED if 'nematic' in reason else self.exit_codes.ERROR_NOT_EQUILIBRATED
            self.ctx.skip = code.format(reason=reason)
            return False
        self.ctx.skip = None
        return True

    def skipped(self):
        return self.ctx.skip

    def run_nemd(self):
        inputs = AttributeDict(self.exposed_inputs(LammpsBaseWorkChain, 'lammps'))
        parameters = {'stage': 'nemd', 'protocol': self.ctx.protocol, 'seed': self.inputs.seed.value}
        if self.ctx.runs:  # an extension: more steps, continued from the end of the last run
            last = self.ctx.runs[-1]
            end = total_steps(self.ctx.protocol)
            self.ctx.protocol = merge(
                self.ctx.protocol, {'steps': self.ctx.protocol['steps'] + self.ctx.protocol['extension_steps']}
            )
            parameters['protocol'] = self.ctx.protocol
            parameters['restart'] = {'file': f'nemd.restart.{end}', 'step': end, 'dt_scale': 1.0}
            inputs.lammps.parent_folder = last.outputs.remote_folder
        inputs.lammps.data = self.inputs.cell
        inputs.lammps.parameters = orm.Dict(parameters)
        label = f'nemd_{len(self.ctx.runs):02d}'
        inputs.metadata = {'call_link_label': label}
        node = self.submit(LammpsBaseWorkChain, **inputs)
        self.report(f'{label}: {total_steps(self.ctx.protocol)} steps, LammpsBaseWorkChain<{node.pk}>')
        return ToContext(runs=append_(node))

    def inspect_nemd(self):
        node = self.ctx.runs[-1]
        if not node.is_finished_ok or 'profile' not in node.outputs:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_LAMMPS.format(
                message=f'{node.process_label}<{node.pk}> exit {node.exit_status}: {node.exit_message}'
            )
        runs = {}
        for i, run in enumerate(self.ctx.runs):
            runs[f'profile_{i}'] = run.outputs.profile
            runs[f'thermo_{i}'] = run.outputs.thermo
        kwargs = {}
        if 'md_properties' in self.inputs:
            kwargs['md_properties'] = self.inputs.md_properties
        try:
            result = thermal_conductivity(
                self.inputs.polymer, self.inputs.parameters, self.inputs.seed, self.inputs.trial,
                self.inputs.protocol, **kwargs, **runs, metadata={'call_link_label': f'analysis_{len(self.ctx.runs):02d}'},
            )
        except Exception as exception:  # noqa: BLE001 - recorded as the named exit code
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=str(exception))
        self.ctx.result = result['thermal_conductivity']
        fit = self.ctx.result.get('settings', {})
        self.report(
            f'kappa {self.ctx.result.get("thermal_conductivity"):.4g} W/m/K, R2 {fit.get("r2_left"):.3f}/'
            f'{fit.get("r2_right"):.3f}, single-fit rate {fit.get("single_fit_rate"):.2f}, linear {fit.get("linear")}'
        )
        return None

    def should_extend(self):
        if self.ctx.result.get('settings', {}).get('linear'):
            return False
        if self.ctx.extensions >= self.ctx.protocol.get('max_extensions', 0):
            return False
        self.ctx.extensions += 1
        self.report(f'temperature gradient not linear: extension {self.ctx.extensions}')
        return True

    def results(self):
        self.out('thermal_conductivity', self.ctx.result)
        last = self.ctx.runs[-1]
        if 'output_data' in last.outputs:
            self.out('final_cell', last.outputs.output_data)
        fit = self.ctx.result.get('settings', {})
        if not fit.get('linear') and not self.ctx.protocol.get('accept_poor_fit'):
            return self.exit_codes.ERROR_GRADIENT_NOT_LINEAR.format(
                rounds=self.ctx.extensions,
                fit=f'R2 {fit.get("r2_left"):.3f}/{fit.get("r2_right"):.3f} < {fit.get("threshold_r2")}',
            )
        return None
