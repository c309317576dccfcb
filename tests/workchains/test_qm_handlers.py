"""Parser and restart handlers of the QM stage, fed with failures recorded from real driver runs.

The recordings in tests/fixtures/qm/<case>/ (results.json and the driver's stdout) were made by
tests/fixtures/qm/generate.py with provoking settings (2 SCF cycles, 1 optimisation step, a tiny wall time or
memory limit, a SIGKILL).
"""

import json
import pathlib

import pytest
from aiida import orm
from aiida.common import LinkType
from aiida.engine import ProcessState
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager

from aiida_polyinf.calculations.pyscf import PyscfCalculation
from aiida_polyinf.parsers.pyscf import PyscfParser
from aiida_polyinf.workchains.qm_base import SCF_STRATEGIES, PyscfBaseWorkChain

FIXTURES = pathlib.Path(__file__).parent.parent / 'fixtures' / 'qm'
BUTANE = json.loads((FIXTURES / 'butane_molecule.json').read_text())


def butane_structure():
    molecule = BUTANE.get('molecule', BUTANE)
    structure = orm.StructureData(cell=[[20, 0, 0], [0, 20, 0], [0, 0, 20]])
    for symbol, position in zip(molecule['symbols'], molecule['coords_angstrom']):
        structure.append_atom(position=position, symbols=symbol)
    return structure


def calcjob_node(code, case, exit_status=None):
    """A stored PyscfCalculation node whose retrieved folder holds the recording of ``case``."""
    structure = butane_structure().store()
    parameters = orm.Dict({'method': {'xc': 'b3lyp', 'basis': 'sto-3g', 'density_fit': False},
                           'resources': {'num_threads': 2}}).store()
    node = orm.CalcJobNode(computer=code.computer, process_type='aiida.calculations:polyinf.pyscf')
    node.set_option('resources', {'num_machines': 1, 'num_mpiprocs_per_machine': 1})
    node.base.links.add_incoming(structure, LinkType.INPUT_CALC, 'structure')
    node.base.links.add_incoming(parameters, LinkType.INPUT_CALC, 'parameters')
    node.base.links.add_incoming(code, LinkType.INPUT_CALC, 'code')
    node.store()
    retrieved = orm.FolderData()
    folder = FIXTURES / case
    if (folder / 'results.json').exists():
        retrieved.base.repository.put_object_from_file(str(folder / 'results.json'), 'results.json')
    retrieved.base.repository.put_object_from_file(str(folder / 'stdout.txt'), 'pyscf.log')
    retrieved.base.links.add_incoming(node, LinkType.CREATE, 'retrieved')
    retrieved.store()
    return node


CASES = {
    'scf_not_converged': 'ERROR_SCF_NOT_CONVERGED',
    'geometry_not_converged': 'ERROR_GEOMETRY_NOT_CONVERGED',
    'walltime_exceeded': 'ERROR_OUT_OF_WALLTIME',
    'out_of_memory': 'ERROR_OUT_OF_MEMORY',
    'sigkill': 'ERROR_DRIVER_KILLED',
}


@pytest.mark.parametrize('case,label', CASES.items())
def test_parser_names_recorded_failures(polyinf_codes, case, label):
    node = calcjob_node(polyinf_codes['pyscf'], case)
    results, calcfunction = PyscfParser.parse_from_node(node, store_provenance=False)
    assert calcfunction.exit_status == PyscfCalculation.exit_codes[label].status
    if case in ('geometry_not_converged', 'walltime_exceeded'):
        assert 'output_structure' in results  # the last geometry, to restart from


def failed_node(code, case, label):
    """A finished, failed calculation with its parsed outputs attached, as the engine leaves it."""
    node = calcjob_node(code, case)
    results, _ = PyscfParser.parse_from_node(node, store_provenance=False)
    for link_label, output in results.items():
        if link_label == 'output_structure':
            output.base.links.add_incoming(node, LinkType.CREATE, link_label)
            output.store()
    remote = orm.RemoteData(computer=code.computer, remote_path='/tmp/nowhere')
    remote.base.links.add_incoming(node, LinkType.CREATE, 'remote_folder')
    remote.store()
    node.set_process_state(ProcessState.FINISHED)
    node.set_exit_status(PyscfCalculation.exit_codes[label].status)
    return node


@pytest.fixture
def workchain(polyinf_codes):
    inputs = {
        'pyscf': {
            'code': polyinf_codes['pyscf'],
            'structure': butane_structure(),
            'parameters': orm.Dict({'method': {'density_fit': False}, 'resources': {'num_threads': 2}}),
        }
    }
    process = instantiate_process(get_manager().get_runner(), PyscfBaseWorkChain, **inputs)
    process.setup()
    return process


def test_scf_handler_escalates(workchain, polyinf_codes):
    node = failed_node(polyinf_codes['pyscf'], 'scf_not_converged', 'ERROR_SCF_NOT_CONVERGED')
    for strategy in SCF_STRATEGIES:
        report = workchain.handle_scf_not_converged(node)
        assert report.do_break and report.exit_code.status == 0
        scf = workchain.ctx.inputs.parameters['method']['scf']
        assert all(scf[key] == value for key, value in strategy.items())
    report = workchain.handle_scf_not_converged(node)
    assert report.exit_code.status == PyscfBaseWorkChain.exit_codes.ERROR_UNRECOVERABLE_FAILURE.status


def test_geometry_handler_restarts_from_last_geometry(workchain, polyinf_codes):
    node = failed_node(polyinf_codes['pyscf'], 'geometry_not_converged', 'ERROR_GEOMETRY_NOT_CONVERGED')
    report = workchain.handle_geometry_not_converged(node)
    assert report.exit_code.status == 0
    assert workchain.ctx.inputs.structure.uuid == node.outputs.output_structure.uuid
    assert workchain.ctx.inputs.parent_folder.uuid == node.outputs.remote_folder.uuid


@pytest.mark.parametrize('case,label', [('walltime_exceeded', 'ERROR_OUT_OF_WALLTIME'),
                                        ('sigkill', 'ERROR_DRIVER_KILLED')])
def test_walltime_handler_restarts_from_checkpoint(workchain, polyinf_codes, case, label):
    node = failed_node(polyinf_codes['pyscf'], case, label)
    report = workchain.handle_out_of_walltime(node)
    assert report.exit_code.status == 0
    assert workchain.ctx.inputs.parent_folder.uuid == node.outputs.remote_folder.uuid
    if 'output_structure' in node.outputs:
        assert workchain.ctx.inputs.structure.uuid == node.outputs.output_structure.uuid


def test_memory_handler_density_fitting_then_threads(workchain, polyinf_codes):
    node = failed_node(polyinf_codes['pyscf'], 'out_of_memory', 'ERROR_OUT_OF_MEMORY')
    workchain.handle_out_of_memory(node)
    assert workchain.ctx.inputs.parameters['method']['density_fit'] is True
    workchain.handle_out_of_memory(node)
    assert workchain.ctx.inputs.parameters['resources']['num_threads'] == 1
    report = workchain.handle_out_of_memory(node)
    assert report.exit_code.status == PyscfBaseWorkChain.exit_codes.ERROR_UNRECOVERABLE_FAILURE.status


def test_unrecoverable_codes_abort_with_a_name(workchain, polyinf_codes):
    node = failed_node(polyinf_codes['pyscf'], 'out_of_memory', 'ERROR_OUT_OF_MEMORY')
    node.set_exit_status(PyscfCalculation.exit_codes.ERROR_DRIVER_FAILED.status)
    report = workchain.handle_unrecoverable(node)
    assert report.exit_code.status == 310
    assert workchain.handle_unrecoverable(failed_node(polyinf_codes['pyscf'], 'out_of_memory',
                                                      'ERROR_OUT_OF_MEMORY')) is None
