"""LAMMPS parser and restart handlers, fed with logs recorded from real `lmp` runs (tests/fixtures/md/generate.py)."""

import pathlib

import pytest
from aiida import orm
from aiida.common import LinkType
from aiida.engine import ProcessState
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager

from aiida_polyinf.calculations.lammps import RESTART_LIST, LammpsCalculation
from aiida_polyinf import protocols
from aiida_polyinf.parsers.lammps import LammpsParser, last_restart
from aiida_polyinf.workchains.lammps_base import DT_FACTOR, LammpsBaseWorkChain

FIXTURES = pathlib.Path(__file__).parent.parent / 'fixtures' / 'md'
STAGE = 'eq21'


def data_file():
    return orm.SinglefileData.from_string('LAMMPS data file\n', filename='cell.data')


def stage_parameters(**extra):
    return orm.Dict({'stage': STAGE, 'protocol': protocols.parameters('md', 'fast'), 'seed': 1, **extra})


def calcjob_node(code, log_name, restarts='eq21.restart.1000\neq21.restart.2000\n'):
    """A stored LammpsCalculation node whose retrieved folder holds the recorded log ``log_name``."""
    node = orm.CalcJobNode(computer=code.computer, process_type='aiida.calculations:polyinf.lammps')
    node.set_option('resources', {'num_machines': 1, 'num_mpiprocs_per_machine': 1})
    for label, value in (('data', data_file()), ('parameters', stage_parameters()), ('code', code)):
        node.base.links.add_incoming(value.store() if not value.is_stored else value, LinkType.INPUT_CALC, label)
    node.store()
    retrieved = orm.FolderData()
    retrieved.base.repository.put_object_from_file(str(FIXTURES / log_name), f'{STAGE}.log')
    retrieved.base.repository.put_object_from_bytes(restarts.encode(), RESTART_LIST)
    retrieved.base.links.add_incoming(node, LinkType.CREATE, 'retrieved')
    retrieved.store()
    return node


CASES = {
    'lost_atoms.log': 'ERROR_LOST_ATOMS',
    'bond_atoms_missing.log': 'ERROR_BOND_ATOMS_MISSING',
    'timeout.log': 'ERROR_OUT_OF_WALLTIME',
    'killed.log': 'ERROR_LAMMPS_KILLED',
}


@pytest.mark.parametrize('log_name,label', CASES.items())
def test_parser_names_recorded_failures(polyinf_codes, log_name, label):
    node = calcjob_node(polyinf_codes['lmp'], log_name)
    results, calcfunction = LammpsParser.parse_from_node(node, store_provenance=False)
    assert calcfunction.exit_status == LammpsCalculation.exit_codes[label].status
    summary = results['output_parameters'].get_dict()
    assert summary['last_restart'] == {'file': 'eq21.restart.2000', 'step': 2000}


def test_last_restart_picks_the_newest():
    assert last_restart('a.restart.500\na.restart.12000\na.restart.9000\n')['step'] == 12000
    assert last_restart('') is None


def failed_node(code, log_name, label, restarts='eq21.restart.1000\neq21.restart.2000\n'):
    node = calcjob_node(code, log_name, restarts)
    results, _ = LammpsParser.parse_from_node(node, store_provenance=False)
    parameters = results['output_parameters']
    parameters.base.links.add_incoming(node, LinkType.CREATE, 'output_parameters')
    parameters.store()
    remote = orm.RemoteData(computer=code.computer, remote_path='/tmp/nowhere')
    remote.base.links.add_incoming(node, LinkType.CREATE, 'remote_folder')
    remote.store()
    node.set_process_state(ProcessState.FINISHED)
    node.set_exit_status(LammpsCalculation.exit_codes[label].status)
    return node


@pytest.fixture
def workchain(polyinf_codes):
    inputs = {'lammps': {'code': polyinf_codes['lmp'], 'data': data_file(), 'parameters': stage_parameters()}}
    process = instantiate_process(get_manager().get_runner(), LammpsBaseWorkChain, **inputs)
    process.setup()
    return process


@pytest.mark.parametrize('log_name,label', [('timeout.log', 'ERROR_OUT_OF_WALLTIME'),
                                            ('killed.log', 'ERROR_LAMMPS_KILLED')])
def test_walltime_and_crash_continue_from_last_restart(workchain, polyinf_codes, log_name, label):
    node = failed_node(polyinf_codes['lmp'], log_name, label)
    report = workchain.handle_walltime_or_crash(node)
    assert report.exit_code.status == 0
    restart = workchain.ctx.inputs.parameters['restart']
    assert restart == {'file': 'eq21.restart.2000', 'step': 2000, 'dt_scale': 1.0}
    assert workchain.ctx.inputs.parent_folder.uuid == node.outputs.remote_folder.uuid


def test_lost_atoms_halve_the_time_step_until_a_floor(workchain, polyinf_codes):
    node = failed_node(polyinf_codes['lmp'], 'lost_atoms.log', 'ERROR_LOST_ATOMS')
    scale = 1.0
    while scale * DT_FACTOR >= 0.125:
        report = workchain.handle_unstable(node)
        scale *= DT_FACTOR
        assert report.exit_code.status == 0
        assert workchain.ctx.inputs.parameters['restart']['dt_scale'] == pytest.approx(scale)
    report = workchain.handle_unstable(node)
    assert report.exit_code.status == LammpsBaseWorkChain.exit_codes.ERROR_UNRECOVERABLE_FAILURE.status


def test_unstable_without_restart_file_restarts_with_smaller_dt(workchain, polyinf_codes):
    node = failed_node(polyinf_codes['lmp'], 'bond_atoms_missing.log', 'ERROR_BOND_ATOMS_MISSING', restarts='')
    dt = workchain.ctx.inputs.parameters['protocol']['dt']
    workchain.handle_unstable(node)
    assert 'restart' not in workchain.ctx.inputs.parameters.get_dict()
    assert workchain.ctx.inputs.parameters['protocol']['dt'] == pytest.approx(dt * DT_FACTOR)
