"""``IonMobilityWorkChain``: Na+ and Cl- diffusion in one equilibrated polymer cell (a property RadonPy lacks).

One ``ions`` LAMMPS stage (:mod:`aiida_polyinf.md.ions`: insertion, brief relaxation, NPT production with the ion
positions dumped), run by a ``LammpsBaseWorkChain`` so that it restarts from its restart files, then the
``ion_mobility`` calcfunction. A species whose MSD exponent is below the protocol's ``min_msd_exponent`` gets no D;
the values are still stored and the chain ends with ``ERROR_NOT_DIFFUSIVE`` (a physics result, not a crash).
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain

from ..calculations.nemd import ion_mobility
from ..md.ions import SPECIES
from ..protocols import ProtocolMixin
from .cell import cell_stage_builder, define_cell_inputs, run_failed, submit_cell_run


class IonMobilityWorkChain(ProtocolMixin, WorkChain):
    """Diffusion coefficients and MSD exponents of Na+ and Cl- in one equilibrated cell."""

    _protocol_file = 'ions'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        define_cell_inputs(spec, 'The ion parameters (protocols/ions.yaml, read by aiida_polyinf.md.ions).')
        spec.outline(cls.run_ions, cls.inspect_ions)
        spec.output('ion_mobility', valid_type=orm.Dict, help='D (m^2/s) and MSD exponent of each ion species.')
        spec.exit_code(403, 'ERROR_SUB_PROCESS_FAILED_LAMMPS', message='the ion run failed: {message}')
        spec.exit_code(510, 'ERROR_NOT_DIFFUSIVE', message='no diffusion coefficient: {reasons}')

    @classmethod
    def get_builder_from_protocol(cls, code, polymer, cell, protocol=None, overrides=None, md_properties=None,
                                  seed: int | None = None, trial: int = 0):
        return cell_stage_builder(cls, 'ions', code, polymer, cell, protocol, overrides, seed, trial, md_properties)

    def run_ions(self):
        return ToContext(run=submit_cell_run(self, 'ions'))

    def inspect_ions(self):
        node = self.ctx.run
        if not node.is_finished_ok or 'analysis' not in node.outputs:
            return run_failed(self, node)
        result = ion_mobility(
            self.inputs.polymer, node.outputs.analysis, self.inputs.seed, self.inputs.trial, self.inputs.protocol,
            metadata={'call_link_label': 'analysis'},
        )['ion_mobility']
        self.out('ion_mobility', result)
        missing = result.get('_missing', {})
        reasons = {s: missing[f'ion_diffusion_{s}'] for s in SPECIES if f'ion_diffusion_{s}' in missing}
        for species in SPECIES:
            name = f'ion_diffusion_{species}'
            if name in result.keys():
                self.report(f'{species}: D = {result[name]:.3g} m2/s, MSD exponent {result.get(f"ion_msd_exponent_{species}"):.2f}')
        if reasons:
            return self.exit_codes.ERROR_NOT_DIFFUSIVE.format(reasons='; '.join(f'{k}: {v}' for k, v in reasons.items()))
        return None
