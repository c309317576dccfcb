"""``LammpsCalculation``: one LAMMPS stage run by ``lmp``: the MD protocol's packing, eq21, sampling and
additional_k, and the property stages (nemd, ions, tg, ...): every LAMMPS stage of the stage registry.

The job renders the stage's LAMMPS input from ``parameters`` with the ``render`` function of the module the stage
registry names for it (:func:`aiida_polyinf.common.stages.lammps_module`; so the provenance holds the stage, the
protocol numbers and the seed, not an opaque script), copies the data file in,
and brings back the log, the final data file and a list of the restart files, which stay on the computer. Sampling
stages write a trajectory that is retrieved only for parsing (``retrieve_temporary_list``) and not stored, unless
``settings.retrieve_trajectory`` asks for it.

We do not use aiida-lammps 1.0.2: its ``LammpsBaseCalculation`` refuses ``atom_style full`` (bonded systems) and its
``LammpsRawCalculation`` parser drops the thermo data and has no restart support.
"""

from __future__ import annotations

import pathlib

from aiida import orm
from aiida.common.datastructures import CalcInfo, CodeInfo
from aiida.engine import CalcJob

from ..common import stages as registry
from ..md.inputs import RestartPoint

DATA_IN = 'input.data'
RESTART_LIST = 'restarts.txt'
STDOUT = 'lammps.out'


def stage_module(stage: str):
    """The module that renders a LAMMPS stage and names its files (``render``, ``files``), from the stage registry."""
    import importlib

    return importlib.import_module(registry.lammps_module(stage))


def validate_parameters(value, _):
    parameters = value.get_dict()
    stage = parameters.get('stage', '')
    try:
        registry.lammps_module(stage)
    except KeyError:
        return f'unknown stage {stage!r}: one of {", ".join(registry.lammps_stage_names())}'
    if 'protocol' not in parameters:
        return 'parameters need the `protocol` dictionary of the stage'
    if 'seed' not in parameters:
        return 'parameters need the `seed` of the stage (derived by the work chain, recorded here)'
    return None


class LammpsCalculation(CalcJob):
    """One stage of RadonPy's equilibration protocol in LAMMPS."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('data', valid_type=orm.SinglefileData, help='The LAMMPS data file the stage starts from.')
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            validator=validate_parameters,
            help='`stage`, `protocol` (the MD protocol dict), `seed`, optional `timeout`, `restart` '
            '({file, step, dt_scale}: continue from a restart file of `parent_folder`) and, for sampling stages, '
            '`sampling` ({temp, press, polarizability_angstrom3, polarizability_mol_weight, criteria}).',
        )
        spec.input('parent_folder', valid_type=orm.RemoteData, required=False, help='Folder with the restart file.')
        spec.input(
            'topology', valid_type=orm.SinglefileData, required=False,
            help="The cell's topology.json (chains, residues), for the analysis of a sampling stage.",
        )
        spec.input('settings', valid_type=orm.Dict, required=False, help='`retrieve_trajectory`, `omp_threads`.')
        options = spec.inputs['metadata']['options']
        options['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        options['parser_name'].default = 'polyinf.lammps'
        options['withmpi'].default = False
        options['output_filename'].default = STDOUT

        spec.output('output_parameters', valid_type=orm.Dict, help='Status, steps, timings, last restart file.')
        spec.output('thermo', valid_type=orm.ArrayData, required=False, help='The thermo time series, one array per column.')
        spec.output('output_data', valid_type=orm.SinglefileData, required=False, help='The final data file.')
        spec.output('analysis', valid_type=orm.Dict, required=False, help='Properties of a sampling or ions stage.')
        spec.output('profile', valid_type=orm.ArrayData, required=False, help='NEMD slab temperatures over time.')
        spec.default_output_node = 'output_parameters'

        spec.exit_code(300, 'ERROR_OUTPUT_MISSING', message='the LAMMPS log is missing')
        spec.exit_code(310, 'ERROR_LAMMPS', message='LAMMPS stopped with an error: {error}')
        spec.exit_code(320, 'ERROR_ION_INSERTION_FAILED', message='the ions did not fit into the matrix: {error}')
        spec.exit_code(410, 'ERROR_LOST_ATOMS', message='LAMMPS lost atoms: {error}')
        spec.exit_code(411, 'ERROR_BOND_ATOMS_MISSING', message='bond atoms missing: {error}')
        spec.exit_code(430, 'ERROR_OUT_OF_WALLTIME', message='the stage stopped at its wall-time limit')
        spec.exit_code(450, 'ERROR_LAMMPS_KILLED', message='LAMMPS died before the end of the stage')
        spec.exit_code(520, 'ERROR_ANALYSIS_FAILED', message='the sampling analysis failed: {error}')

    def prepare_for_submission(self, folder):
        parameters = self.inputs.parameters.get_dict()
        settings = self.inputs.settings.get_dict() if 'settings' in self.inputs else {}
        stage = parameters['stage']
        module = stage_module(stage)
        files = module.files(stage)
        restart = None
        remote_copy = []
        if parameters.get('restart'):
            info = parameters['restart']
            restart = RestartPoint(info['file'], int(info['step']), float(info.get('dt_scale', 1.0)))
            if 'parent_folder' not in self.inputs:
                raise ValueError('`restart` needs `parent_folder`, where the restart file is')
            parent = self.inputs.parent_folder
            source = str(pathlib.PurePosixPath(parent.get_remote_path()) / info['file'])
            remote_copy.append((parent.computer.uuid, source, info['file']))
        timeout = parameters.get('timeout')
        walltime = self.inputs.metadata.options.get('max_wallclock_seconds')
        if timeout is None and walltime:  # core.direct enforces no wall time: LAMMPS stops itself, restartable
            timeout = int(walltime * 0.9)
        script = module.render(
            stage,
            parameters['protocol'],
            data_file=DATA_IN,
            seed=int(parameters['seed']),
            timeout=timeout,
            restart=restart,
            data_text=self.inputs.data.get_content() if getattr(module, 'READS_DATA', False) else None,
        )
        with folder.open(files['input'], 'w') as handle:
            handle.write(script)
        with self.inputs.data.open(mode='rb') as source:
            folder.create_file_from_filelike(source, DATA_IN, mode='wb')

        codeinfo = CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ['-in', files['input'], '-log', 'none']
        threads = int(settings.get('omp_threads', 0))
        if threads:
            codeinfo.cmdline_params += ['-sf', 'omp', '-pk', 'omp', str(threads)]
        codeinfo.stdout_name = STDOUT
        codeinfo.join_files = True

        calcinfo = CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.remote_copy_list = remote_copy
        calcinfo.append_text = f'ls -1 {files["restart_glob"]} > {RESTART_LIST} 2>/dev/null || true'
        calcinfo.retrieve_list = [files['log'], files['data_out'], STDOUT, RESTART_LIST]
        calcinfo.retrieve_temporary_list = []
        if 'profile' in files:
            calcinfo.retrieve_temporary_list.append(files['profile'])
        if 'dump' in files:
            target = calcinfo.retrieve_list if settings.get('retrieve_trajectory') else calcinfo.retrieve_temporary_list
            target.append(files['dump'])
        return calcinfo
