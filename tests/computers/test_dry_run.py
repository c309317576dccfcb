"""Every stage's job against every shipped computer and code configuration, with ``metadata.dry_run``: AiiDA runs
``presubmit`` (so a code whose ``with_mpi`` contradicts a stage's ``withmpi`` fails here) and the scheduler plugin
writes the real submit script (NQSV or Slurm or direct), which is then checked: ``bash -n``, the directives, the
MPI launcher. No transport is opened.
"""

import pathlib
import re
import shutil
import subprocess

import pytest
import yaml
from aiida import orm
from aiida.engine import run_get_node

from aiida_polyinf.calculations.intake import build_oligomer
from aiida_polyinf.calculations.lammps import LammpsCalculation
from aiida_polyinf.calculations.pyscf import PyscfCalculation
from aiida_polyinf.computers import SHIPPED, load
from aiida_polyinf.computers.configure import ensure_codes, ensure_computer, run_profile
from aiida_polyinf.data.polymer import PolymerData
from aiida_polyinf.workchains.ions import IonMobilityWorkChain
from aiida_polyinf.workchains.md import MdWorkChain
from aiida_polyinf.workchains.nemd import NemdThermalConductivityWorkChain
from aiida_polyinf.workchains.qm import QmWorkChain
from aiida_polyinf.workchains.tg import TgWorkChain

ROOT = pathlib.Path(__file__).resolve().parents[2]
CELL = ROOT / 'tests' / 'fixtures' / 'md' / 'cell_pe_fast.data'
DIRECTIVES = ROOT / 'tests' / 'fixtures' / 'nqsv' / 'directives.yaml'
USER = {'username': 'u1', 'group': 'g2', 'venv': '/opt/venv', 'work_dir': '/work/u1/aiida', 'ssh_host': 'remote',
        'hostname': 'vm.example.org', 'cores': 16}
LAMMPS_STAGES = {'md': ('packing', 'eq21', 'sampling', 'additional_1'), 'nemd': ('nemd',), 'ions': ('ions',),
                 'tg': ('tg',)}
CELL_PROCESSES = {'nemd': NemdThermalConductivityWorkChain, 'ions': IonMobilityWorkChain, 'tg': TgWorkChain}


def _dry_run(builder):
    builder.metadata.dry_run = True
    builder.metadata.store_provenance = False
    _, node = run_get_node(builder)
    folder = pathlib.Path(node.dry_run_info['folder'])
    script = (folder / node.dry_run_info['script_filename']).read_text()
    shutil.rmtree(folder, ignore_errors=True)
    return script


def _jobs(computer_label: str):
    """(stage, LAMMPS stage or None, submit script) of every stage's job on the computer, built as the top-level
    chain builds them: the stage's protocol (fast) with the computer's run profile as overrides."""
    profile = run_profile(computer_label)
    overrides = profile.overrides()
    pyscf, lmp = orm.load_code(f'pyscf@{computer_label}'), orm.load_code(f'lmp@{computer_label}')
    polymer = PolymerData('*CC*').store()
    structure = build_oligomer(polymer, orm.Int(1), orm.Int(3))
    qm = QmWorkChain.get_builder_from_protocol(pyscf, polymer, 'fast', overrides['qm'])
    calc = PyscfCalculation.get_builder()
    calc.code = pyscf
    calc.structure = structure
    calc.parameters = qm.pyscf.pyscf.parameters
    calc.metadata.options = qm.pyscf.pyscf.metadata.options
    yield 'qm', None, _dry_run(calc)
    cell = orm.SinglefileData(CELL, filename='cell.data').store()
    for stage, lammps_stages in LAMMPS_STAGES.items():
        if stage == 'md':
            builder = MdWorkChain.get_builder_from_protocol(lmp, polymer, None, 'fast', overrides['md'])
        else:
            builder = CELL_PROCESSES[stage].get_builder_from_protocol(lmp, polymer, cell, 'fast', overrides[stage], seed=1)
        for lammps_stage in lammps_stages:
            calc = LammpsCalculation.get_builder()
            calc.code = lmp
            calc.data = cell
            calc.parameters = orm.Dict({'stage': lammps_stage, 'protocol': builder.parameters.get_dict(), 'seed': 1})
            calc.settings = builder.lammps.lammps.settings
            calc.metadata.options = builder.lammps.lammps.metadata.options
            yield stage, lammps_stage, _dry_run(calc)


@pytest.fixture(scope='module')
def configured(aiida_profile):
    """Every shipped computer and its codes, as `polyinf setup --computer` makes them (mdx-test with its own values)."""
    for name in SHIPPED:
        spec = load(name, user=None if name == 'mdx-test' else USER)
        ensure_codes(spec, ensure_computer(spec, echo=lambda _: None), echo=lambda _: None)
    return SHIPPED


def _bash_n(script: str):
    result = subprocess.run(['bash', '-n'], input=script, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _nqsv_lines(script: str, table: dict) -> dict:
    """Every ``#PBS`` line matched against the directive table of SQUID's manual; returns {name: match groups}."""
    found = {}
    for line in script.splitlines():
        if not line.startswith('#PBS'):
            continue
        for directive in table['directives']:
            match = re.match(directive['pattern'], line)
            if match:
                found.setdefault(directive['name'], []).append(match.groups())
                break
        else:
            raise AssertionError(f'{line!r} is not a directive of the SQUID table ({DIRECTIVES.name})')
    return found


def test_squid_scripts_against_the_manual(configured):
    table = yaml.safe_load(DIRECTIVES.read_text())
    profile = run_profile('squid')
    seen = set()
    for stage, lammps_stage, script in _jobs('squid'):
        seen.add(stage)
        _bash_n(script)
        spec = profile.stages[stage]
        lines = _nqsv_lines(script, table)
        text = '\n'.join(line for line in script.splitlines() if line.startswith('#PBS'))
        assert f'#PBS -q {spec["queue"]}' in text and '#PBS --group=g2' in text, (stage, text)
        cores = int(spec['mpi_ranks']) * int(spec['threads'])
        assert re.search(rf'cpunum_job={cores}\b', text), (stage, text)
        limits = table['queues'][spec['queue']]
        assert cores <= limits['max_cores_per_node'] and int(spec['nodes']) <= limits['max_nodes']
        memory = re.search(r'memsz_job=(\d+)GB', text)
        assert memory and int(memory.group(1)) <= limits['max_memory_gb_per_node'], (stage, text)
        hours, minutes, seconds = (int(x) for x in re.search(r'elapstim_req=(\d+):(\d\d):(\d\d)', text).groups())
        assert hours + minutes / 60 + seconds / 3600 <= limits['max_walltime_hours']
        if int(spec['mpi_ranks']) > 1:
            assert '#PBS -T intmpi' in text and f"'mpirun' '-np' '{cores}'" in script
            assert 'NQSV_MPIOPTS' in script  # the computer's mpirun function adds the host list
        else:
            assert '-T intmpi' not in text and "'mpirun'" not in script
        assert 'gpunum_job' not in text and 'group' in lines
    assert seen == {'qm', 'md', 'nemd', 'ions', 'tg'}


def test_slurm_scripts(configured):
    for computer in ('mdx-slurm', 'mdx-test'):
        profile = run_profile(computer)
        for stage, lammps_stage, script in _jobs(computer):
            _bash_n(script)
            spec = profile.stages[stage]
            assert f'#SBATCH --partition={spec["queue"]}' in script
            assert f'#SBATCH --nodes={spec["nodes"]}' in script
            assert f'#SBATCH --ntasks-per-node={spec["mpi_ranks"]}' in script
            if int(spec['threads']) > 1:
                assert f'#SBATCH --cpus-per-task={spec["threads"]}' in script
            assert '#SBATCH --time=' in script and '#SBATCH --mem=' in script
            if int(spec['mpi_ranks']) > 1:
                assert f"'srun' '-n' '{spec['mpi_ranks']}'" in script, (computer, stage)
            else:
                assert "'srun'" not in script


def test_direct_scripts(configured):
    for stage, lammps_stage, script in _jobs('mdx'):
        _bash_n(script)
        assert '#SBATCH' not in script and '#PBS' not in script and "'mpirun'" not in script


def test_a_code_that_contradicts_a_stage_fails_at_presubmit(configured):
    """The check this test relies on: a code with `with_mpi: true` and a 1-rank QM job (withmpi false) is refused."""
    computer = orm.Computer.collection.get(label='squid')
    wrong = orm.InstalledCode(label='pyscf-mpi', computer=computer, filepath_executable='/opt/venv/bin/python',
                              default_calc_job_plugin='polyinf.pyscf', with_mpi=True).store()
    polymer = PolymerData('*CC(*)C').store()
    qm = QmWorkChain.get_builder_from_protocol(wrong, polymer, 'fast', run_profile('squid').overrides()['qm'])
    calc = PyscfCalculation.get_builder()
    calc.code = wrong
    calc.structure = build_oligomer(polymer, orm.Int(1), orm.Int(3))
    calc.parameters = qm.pyscf.pyscf.parameters
    calc.metadata.options = qm.pyscf.pyscf.metadata.options
    with pytest.raises(Exception, match='with_mpi|withmpi|MPI'):
        _dry_run(calc)


def test_setup_again_changes_nothing_and_refuses_a_changed_file(configured):
    from aiida_polyinf.computers import ComputerConfigError

    lines = []
    spec = load('mdx', user=USER)
    ensure_codes(spec, ensure_computer(spec, echo=lines.append), echo=lines.append)
    assert lines and all('exists' in line or 'configured before' in line for line in lines), lines
    moved = load('mdx', user={**USER, 'work_dir': '/elsewhere'})
    with pytest.raises(ComputerConfigError, match="work_dir: '/work/u1/aiida' here, '/elsewhere' in the files"):
        ensure_computer(moved, echo=lines.append)
    other = load('mdx', user={**USER, 'venv': '/other/venv'})
    with pytest.raises(ComputerConfigError, match='code lmp@mdx exists with the executable /opt/venv/bin/lmp'):
        ensure_codes(other, orm.Computer.collection.get(label='mdx'), echo=lines.append)
