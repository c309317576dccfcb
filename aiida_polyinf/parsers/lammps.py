"""Parser of ``LammpsCalculation``: the full thermo time series, the final data file, restart bookkeeping and, for
sampling stages, the MD properties of :func:`aiida_polyinf.md.analysis.analyze_sampling`."""

from __future__ import annotations

import json
import pathlib
import re

import numpy as np
from aiida import orm
from aiida.parsers import Parser

from ..calculations.lammps import RESTART_LIST, STDOUT, stage_module
from ..md import logs
from ..md.ions import INSERT_FAILED_MARK

FAILURE_EXIT = {
    'lost_atoms': 'ERROR_LOST_ATOMS',
    'bond_atoms_missing': 'ERROR_BOND_ATOMS_MISSING',
    'shake_failure': 'ERROR_LOST_ATOMS',
    'pppm_out_of_range': 'ERROR_LOST_ATOMS',
    'nan': 'ERROR_LOST_ATOMS',
    'timeout': 'ERROR_OUT_OF_WALLTIME',
    'incomplete': 'ERROR_LAMMPS_KILLED',
    'error': 'ERROR_LAMMPS',
    'ion_insertion': 'ERROR_ION_INSERTION_FAILED',
}


def last_restart(listing: str) -> dict | None:
    """The newest numbered restart file (``<stage>.restart.<step>``) of the ``ls`` listing the job leaves."""
    best = None
    for name in listing.split():
        match = re.search(r'\.restart\.(\d+)$', name)
        if match and (best is None or int(match.group(1)) > best['step']):
            best = {'file': name, 'step': int(match.group(1))}
    return best


def _plain(value):
    """numpy scalars and booleans as plain JSON values."""
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    return float(value)


class LammpsParser(Parser):
    """Parse one MD stage."""

    def parse(self, retrieved_temporary_folder=None, **kwargs):
        parameters = self.node.inputs.parameters.get_dict()
        stage = parameters['stage']
        files = stage_module(stage).files(stage)
        repository = self.retrieved.base.repository
        names = repository.list_object_names()
        if files['log'] not in names:
            return self.exit_codes.ERROR_OUTPUT_MISSING
        result = logs.parse_log(repository.get_object_content(files['log']))
        stdout = repository.get_object_content(STDOUT) if STDOUT in names else ''
        if result.failure is None and not result.stage_complete:
            result.failure = 'timeout' if 'POLYINF_TIMEOUT' in stdout else 'incomplete'
            if INSERT_FAILED_MARK in stdout:
                result.failure = 'ion_insertion'
                result.errors.append(next(x for x in stdout.splitlines() if INSERT_FAILED_MARK in x))

        listing = repository.get_object_content(RESTART_LIST) if RESTART_LIST in names else ''
        summary = {
            'stage': stage,
            'status': 'ok' if result.failure is None else result.failure,
            'errors': result.errors[-5:],
            'warnings': len(result.warnings),
            'last_step': result.last_step,
            'wall_time': result.wall_time,
            'performance_katom_step_per_s': result.performance,
            'last_restart': last_restart(listing),
        }
        joined = result.joined()
        if joined is not None and len(joined.data):
            thermo = orm.ArrayData()
            for column, values in joined.as_dict().items():
                thermo.set_array(re.sub(r'\W', '_', column), np.asarray(values))
            thermo.base.attributes.set('columns', list(joined.columns))
            self.out('thermo', thermo)
            summary['final'] = {c: float(v) for c, v in zip(joined.columns, joined.data[-1]) if np.isfinite(v)}

        if result.failure is None and files['data_out'] in names:
            with repository.open(files['data_out'], 'rb') as handle:
                self.out('output_data', orm.SinglefileData(handle, filename=files['data_out']))

        if result.failure is None and 'profile' in files:
            profile = self._profile(files['profile'], retrieved_temporary_folder)
            if isinstance(profile, str):
                self.out('output_parameters', orm.Dict(summary))
                return self.exit_codes.ERROR_ANALYSIS_FAILED.format(error=profile)
            self.out('profile', profile)

        if result.failure is None and 'dump' in files:
            analysis = self._analyse(parameters, joined, files, retrieved_temporary_folder)
            if isinstance(analysis, str):
                self.out('output_parameters', orm.Dict(summary))
                return self.exit_codes.ERROR_ANALYSIS_FAILED.format(error=analysis)
            self.out('analysis', orm.Dict(analysis))

        self.out('output_parameters', orm.Dict(json.loads(json.dumps(summary, allow_nan=False))))
        if result.failure is not None:
            label = FAILURE_EXIT[result.failure]
            return self.exit_codes[label].format(error='; '.join(result.errors[-2:]) or result.failure)
        return None

    def _profile(self, name, temporary_folder):
        """The NEMD temperature profile as ArrayData (``step``, ``coord``, ``temp``, ``count``); a string on failure."""
        from ..md.nemd import parse_profile

        path = pathlib.Path(temporary_folder or '') / name
        if not temporary_folder or not path.exists():
            return f'no {name} retrieved'
        profile = parse_profile(path.read_text())
        if not len(profile['step']):
            return f'{name} has no complete profile'
        node = orm.ArrayData()
        for key, value in profile.items():
            node.set_array(key, value)
        return node

    def _analyse(self, parameters, thermo, files, temporary_folder):
        """Properties of a stage that dumps a trajectory: the stage's module's ``analyse_dump`` where it has one (the
        ions), else the MD sampling analysis; a string on failure."""
        from ..md.analysis import analyze_sampling, check_eq

        module = stage_module(parameters['stage'])
        if hasattr(module, 'analyse_dump'):
            return self._analyse_dump(module, parameters, files, temporary_folder)
        dump = None
        for folder in (temporary_folder,):
            if folder and (pathlib.Path(folder) / files['dump']).exists():
                dump = str(pathlib.Path(folder) / files['dump'])
        if dump is None and files['dump'] in self.retrieved.base.repository.list_object_names():
            dump = self._copy_out(files['dump'])
        topology = None
        if 'topology' in self.node.inputs:
            topology = json.loads(self.node.inputs.topology.get_content())
        options = parameters.get('sampling', {})
        try:
            result = analyze_sampling(
                thermo,
                temp=options.get('temp', 300.0),
                press=options.get('press', 1.0),
                analysis=parameters['protocol'].get('analysis'),
                dump_path=dump,
                topology=topology,
                polarizability=options.get('polarizability_angstrom3'),
                polarizability_mol_weight=options.get('polarizability_mol_weight'),
            )
            result['check_eq'] = check_eq(
                thermo, parameters['protocol'].get('analysis'),
                options.get('criteria') or parameters['protocol']['check_eq'],
            )
        except Exception as exception:  # noqa: BLE001 - reported as the named exit code
            return f'{type(exception).__name__}: {exception}'
        return json.loads(json.dumps(result, allow_nan=False, default=_plain))

    def _analyse_dump(self, module, parameters, files, temporary_folder):
        path = pathlib.Path(temporary_folder or '') / files['dump']
        try:
            if temporary_folder and path.exists():
                text = path.read_text()
            else:
                text = self.retrieved.base.repository.get_object_content(files['dump'])
            result = module.analyse_dump(text, self.node.inputs.data.get_content(), parameters['protocol'])
        except Exception as exception:  # noqa: BLE001 - reported as the named exit code
            return f'{type(exception).__name__}: {exception}'
        return json.loads(json.dumps(result, allow_nan=False, default=_plain))

    def _copy_out(self, name):
        import tempfile

        target = pathlib.Path(tempfile.mkdtemp()) / name
        target.write_bytes(self.retrieved.base.repository.get_object_content(name, mode='rb'))
        return str(target)
