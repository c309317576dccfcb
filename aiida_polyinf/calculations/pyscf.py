"""``PyscfCalculation``: the QM driver of ``aiida_polyinf.qm`` run by a computer's Python.

The job writes the self-contained driver (``driver.py`` + ``resp.py``) and a JSON input into the calculation folder;
the remote needs only pyscf, geometric and numpy (gpu4pyscf for ``"gpu": true``). Results come back as JSON.

We do not use aiida-pyscf: it pins ``pyscf<2.4`` (2.3.0), so it cannot share an environment with PySCF 2.14, whose
``solvent.pcm`` we use and which gpu4pyscf (>= 2.8) needs; it also parses neither dipoles, charges, polarizabilities
nor solvation energies, always computes forces and leaves no trajectory of geomeTRIC.
"""

from __future__ import annotations

import json
import pathlib

from aiida import orm
from aiida.common.datastructures import CalcInfo, CodeInfo
from aiida.engine import CalcJob

from ..qm.results import driver_files


def validate_parameters(value, _):
    if value is None:
        return None
    unknown = set(value.get_dict()) - {'method', 'optimization', 'properties', 'resources', 'restart', 'gpu',
                                       'molecule', 'verbose'}
    if unknown:
        return f'unknown top-level parameter keys: {", ".join(sorted(unknown))}'
    molecule = value.get_dict().get('molecule', {})
    if set(molecule) - {'charge', 'spin'}:
        return 'parameters.molecule may only set charge and spin; the geometry comes from `structure`'
    return None


class PyscfCalculation(CalcJob):
    """Geometry optimisation, QMex-style descriptors and RESP charges of one molecule with PySCF."""

    _INPUT = 'input.json'
    _RESULTS = 'results.json'
    _LOG = 'pyscf.log'
    _CHK = 'pyscf.chk'
    _RETRIEVE = ('results.json', 'pyscf.log', 'optimized.xyz', 'last_geometry.xyz', 'trajectory.xyz')

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='The molecule; its order is kept in all outputs.')
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            validator=validate_parameters,
            help='Driver input without the geometry: method, optimization, properties, resources, gpu.',
        )
        spec.input(
            'parent_folder',
            valid_type=orm.RemoteData,
            required=False,
            help='Folder of an earlier run: its checkpoint is the initial guess of this one.',
        )
        spec.input(
            'settings', valid_type=orm.Dict, required=False, help='`retrieve_checkpoint: true` also brings the chkfile back.'
        )
        options = spec.inputs['metadata']['options']
        options['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        options['parser_name'].default = 'polyinf.pyscf'
        options['withmpi'].default = False
        options['input_filename'].default = cls._INPUT
        options['output_filename'].default = cls._LOG
        # Caching (`polyinf setup` enables it for this job): the hash covers the inputs (structure, parameters, code,
        # parent_folder, settings) and the options that can change the numbers; AiiDA leaves out the wall time, queue
        # and account, and the driver's own stop time (`walltime_s`) is derived at submission, not stored. Exit codes
        # of runs cut short by the machine (wall time, memory, kill, corrupt output) invalidate the cache, so that an
        # identical relaunch runs again instead of replaying the failure.

        spec.output('output_parameters', valid_type=orm.Dict, help='Energies, descriptors, timings, SCF cycles.')
        spec.output(
            'output_structure',
            valid_type=orm.StructureData,
            required=False,
            help='The optimised geometry, or the last one when the run stopped early.',
        )
        spec.output('charges', valid_type=orm.ArrayData, required=False, help='RESP charges, array `resp`.')
        spec.default_output_node = 'output_parameters'

        spec.exit_code(
            300, 'ERROR_OUTPUT_CORRUPT', message='results.json could not be read: {error}', invalidates_cache=True
        )
        spec.exit_code(310, 'ERROR_DRIVER_FAILED', message='the QM driver failed: {error}', invalidates_cache=True)
        spec.exit_code(410, 'ERROR_SCF_NOT_CONVERGED', message='the SCF did not converge: {error}')
        spec.exit_code(420, 'ERROR_GEOMETRY_NOT_CONVERGED', message='the geometry optimisation did not converge')
        spec.exit_code(
            430, 'ERROR_OUT_OF_WALLTIME', message='the run stopped before its wall time ran out', invalidates_cache=True
        )
        spec.exit_code(440, 'ERROR_OUT_OF_MEMORY', message='the run ran out of memory', invalidates_cache=True)
        spec.exit_code(
            450, 'ERROR_DRIVER_KILLED', message='the driver died without writing results.json', invalidates_cache=True
        )
        spec.exit_code(510, 'ERROR_CHARGES_NOT_NEUTRAL', message='RESP charges sum to {total}, not {charge}')

    def driver_input(self) -> dict:
        """The driver's JSON input: the parameters plus the molecule from ``structure``."""
        parameters = self.inputs.parameters.get_dict()
        structure = self.inputs.structure
        attributes = structure.base.attributes
        molecule = {
            'symbols': [site.kind_name for site in structure.sites],
            'coords_angstrom': [list(site.position) for site in structure.sites],
            'charge': parameters.get('molecule', {}).get('charge', 0),
            'spin': parameters.get('molecule', {}).get('spin', 0),
            'bonds': attributes.get('bonds', []),
            'equivalence': attributes.get('equivalence', None),
        }
        parameters['molecule'] = molecule
        restart = parameters.setdefault('restart', {})
        restart.setdefault('chkfile', self._CHK)
        if 'parent_folder' in self.inputs:
            restart['init_from_chk'] = True
        walltime = self.inputs.metadata.options.get('max_wallclock_seconds')
        resources = parameters.setdefault('resources', {})
        if walltime and not resources.get('walltime_s'):
            resources['walltime_s'] = int(walltime * 0.9)  # stop cleanly, with the checkpoint written, before
        return parameters

    def prepare_for_submission(self, folder):
        with folder.open(self._INPUT, 'w') as handle:
            json.dump(self.driver_input(), handle, indent=1)
        for path in driver_files():
            folder.create_file_from_filelike(open(path, 'rb'), pathlib.Path(path).name, mode='wb')

        codeinfo = CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ['driver.py', self._INPUT]
        codeinfo.stdout_name = self._LOG
        codeinfo.join_files = True

        calcinfo = CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.retrieve_list = list(self._RETRIEVE)
        settings = self.inputs.settings.get_dict() if 'settings' in self.inputs else {}
        if settings.get('retrieve_checkpoint'):
            calcinfo.retrieve_list.append(self._CHK)
        calcinfo.remote_copy_list = []
        if 'parent_folder' in self.inputs:
            parent = self.inputs.parent_folder
            calcinfo.remote_copy_list.append(
                (parent.computer.uuid, str(pathlib.PurePosixPath(parent.get_remote_path()) / self._CHK), self._CHK)
            )
        return calcinfo
