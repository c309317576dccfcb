"""The NEC NQSV scheduler plugin (``polyinf.nqsv``) against recorded outputs, and the computer files that use it.

The qstat/qsub samples in tests/fixtures/nqsv are reconstructed from published NQSV output (see the README there).
"""

import os
import pathlib
import secrets
import stat
import subprocess

import pytest
from aiida.common.datastructures import CodeRunMode
from aiida.plugins import SchedulerFactory
from aiida.schedulers import SchedulerError
from aiida.schedulers.datastructures import JobState, JobTemplate, JobTemplateCodeInfo

from aiida_polyinf.schedulers.nqsv import NQSV_STATES, NqsvScheduler

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / 'tests' / 'fixtures' / 'nqsv'
COMPUTERS = ROOT / 'setup' / 'computers'


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def template(scheduler, **resources) -> JobTemplate:
    job = JobTemplate()
    job.shebang = '#!/bin/bash'
    job.job_resource = scheduler.create_job_resource(**resources)
    job.job_name = 'aiida-1234'
    job.sched_output_path = '_scheduler-stdout.txt'
    job.sched_error_path = '_scheduler-stderr.txt'
    job.codes_run_mode = CodeRunMode.SERIAL
    return job


def code_info(mpirun: list[str]) -> JobTemplateCodeInfo:
    info = JobTemplateCodeInfo()
    info.prepend_cmdline_params = mpirun
    info.cmdline_params = ['/sqfs/home/u6x001/bin/lmp', '-in', 'in.lammps']
    info.stdout_name = 'lammps.out'
    return info


def test_entry_point():
    assert SchedulerFactory('polyinf.nqsv') is NqsvScheduler


def test_submit_script_mpi_job():
    """Two SQUID nodes, 76 MPI processes each: the whole script equals the recorded one."""
    scheduler = NqsvScheduler()
    job = template(scheduler, num_machines=2, num_mpiprocs_per_machine=76)
    job.max_wallclock_seconds = 2 * 3600 + 30 * 60 + 5
    job.max_memory_kb = 248_000_000
    job.queue_name = 'SQUID'
    job.account = 'G12345'
    job.prepend_text = 'module load BaseCPU'
    job.codes_info = [code_info(['mpirun', '-np', '152'])]
    assert scheduler.get_submit_script(job) == fixture('submit_mpi.sh')


def test_submit_script_serial_gpu_job_and_options():
    scheduler = NqsvScheduler()
    job = template(scheduler, num_machines=1, num_mpiprocs_per_machine=1, num_cores_per_machine=8,
                   num_gpus_per_machine=1)
    job.codes_info = [code_info([])]
    job.max_wallclock_seconds = 600
    job.sched_join_files = True
    job.email = 'someone@example.org'
    job.email_on_terminated = True
    header = scheduler._get_submit_script_header(job).splitlines()
    assert '#PBS -b 1' in header
    assert '#PBS -l cpunum_job=8' in header  # the cores, not the single MPI process
    assert '#PBS -l gpunum_job=1' in header
    assert '#PBS -l elapstim_req=00:10:00' in header
    assert '#PBS -j o' in header and not any(line.startswith('#PBS -e') for line in header)
    assert '#PBS -M someone@example.org' in header and '#PBS -m e' in header
    assert not any(line.startswith(('#PBS -T', '#PBS --group', '#PBS -A', '#PBS -q', '#PBS -l memsz')) for line in header)
    assert header[-1] == 'cd "$PBS_O_WORKDIR"'


def test_custom_mpi_type_replaces_intmpi():
    scheduler = NqsvScheduler()
    job = template(scheduler, num_machines=4, num_mpiprocs_per_machine=76)
    job.codes_info = [code_info(['mpirun', '-np', '304'])]
    job.custom_scheduler_commands = '#PBS -T openmpi\n#PBS -v NQSV_MPI_VER=4.1.5'
    header = scheduler._get_submit_script_header(job)
    assert '#PBS -T openmpi' in header and '-T intmpi' not in header


def test_memory_rounds_up_to_whole_gigabytes():
    lines = NqsvScheduler()._get_resource_lines(1, 1, None, 1024**2 + 1, None)
    assert lines == ['#PBS -b 1', '#PBS -l cpunum_job=1', '#PBS -l memsz_job=2GB']
    with pytest.raises(ValueError):
        NqsvScheduler()._get_resource_lines(1, 1, None, None, -5)


def test_unknown_resource_key_is_refused():
    with pytest.raises(ValueError, match='not recognized'):
        NqsvScheduler().create_job_resource(num_machines=1, num_mpiprocs_per_machine=1, num_gpus=1)


def test_qsub_output():
    scheduler = NqsvScheduler()
    assert scheduler._get_submit_command('_aiidasubmit.sh') == 'qsub _aiidasubmit.sh'
    assert scheduler._parse_submit_output(0, fixture('qsub.stdout'), '') == '12345'
    assert scheduler._parse_submit_output(0, '\nRequest 143993.ace-ssiox submitted to queue: clexpress.\n', '') == '143993'
    with pytest.raises(SchedulerError, match='retval=1'):
        scheduler._parse_submit_output(1, '', 'qsub: Invalid group name (--group=G0).')
    with pytest.raises(SchedulerError, match='cannot find the request id'):
        scheduler._parse_submit_output(0, 'something else\n', '')


def test_qstat_command_and_states():
    scheduler = NqsvScheduler()
    assert scheduler._get_joblist_command(jobs=['12345', '12346']) == 'qstat'
    jobs = {job.job_id: job for job in scheduler._parse_joblist_output(0, fixture('qstat.stdout'), '')}
    assert len(jobs) == 12

    squid = jobs['640170']  # the line published from SQUID
    assert squid.job_state == JobState.RUNNING and squid.job_substate == 'RUN'
    assert (squid.title, squid.job_owner, squid.queue_name, squid.num_machines) == ('calc', 'u6b878', 'DBG-C', 1)
    assert squid.wallclock_time_seconds == 1 and squid.raw_data == {'memory_kb': 11345}

    expected = {
        '12345': JobState.QUEUED, '12346': JobState.RUNNING, '12347': JobState.QUEUED_HELD,
        '12348': JobState.RUNNING, '12349': JobState.RUNNING, '12350': JobState.RUNNING, '12351': JobState.RUNNING,
        '12352': JobState.QUEUED, '12353': JobState.SUSPENDED, '12354': JobState.QUEUED, '12355': JobState.QUEUED,
    }
    assert {job_id: jobs[job_id].job_state for job_id in expected} == expected
    running = jobs['12346']
    assert (running.title, running.job_owner, running.queue_name) == ('aiida-12', 'u6x001', 'SQUID-C')
    assert (running.cpu_time, running.wallclock_time_seconds, running.num_machines) == (41234, 5432, 2)
    assert running.raw_data == {'memory_kb': int(35.12 * 1024**2)}


def test_qstat_truncated_ids_and_wide_columns():
    jobs = NqsvScheduler()._parse_joblist_output(0, fixture('qstat_wide.stdout'), '')
    assert [(job.job_id, job.job_state, job.num_machines, job.cpu_time) for job in jobs] == [
        ('123456', JobState.RUNNING, 4, 1393093),
        ('123457', JobState.RUNNING, 1, 29977),
    ]


def test_qstat_unexpected_lines_are_kept_undetermined():
    """A request line the parser cannot read must not vanish: AiiDA would take the job for finished."""
    text = fixture('qstat.stdout').splitlines()[:2] + [
        '99999.sqd       aiida-77 u6x001   SQUID       0 XYZ -    0.00B     0.00        0 Y Y Y    1',
        '99998.sqd       garbled RUN',
    ]
    jobs = {job.job_id: job for job in NqsvScheduler()._parse_joblist_output(0, '\n'.join(text), '')}
    assert jobs['99999'].job_state == JobState.UNDETERMINED
    assert jobs['99998'].job_state == JobState.RUNNING  # the state code found in the line
    assert NqsvScheduler()._parse_joblist_output(0, '', '') == []
    with pytest.raises(SchedulerError):
        NqsvScheduler()._parse_joblist_output(1, '', 'qstat: cannot connect to the batch server')


def test_every_state_maps_to_an_aiida_state():
    assert set(NQSV_STATES.values()) <= set(JobState)
    assert {'QUE', 'RUN', 'HLD', 'SUS', 'EXT', 'STG', 'PRR', 'POR', 'WAT', 'GQD'} <= set(NQSV_STATES)


def test_qdel():
    scheduler = NqsvScheduler()
    assert scheduler._get_kill_command('12345') == 'qdel 12345'
    assert scheduler._parse_kill_output(0, 'Request 12345.sqd was deleted.\n', '') is True
    assert scheduler._parse_kill_output(1, '', 'qdel: Request 12345.sqd does not exist.') is False
    assert scheduler._get_detailed_job_info_command('12345') == 'qstat -f 12345'


class RecordingTransport:
    """Answers each command with a recorded output, and remembers the commands."""

    def __init__(self, answers):
        self.answers, self.commands = answers, []

    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False

    def exec_command_wait(self, command, workdir=None):
        self.commands.append((command, workdir))
        return self.answers[command.split()[0]]


def test_submit_poll_kill_through_a_transport():
    transport = RecordingTransport({
        'qsub': (0, fixture('qsub.stdout'), ''),
        'qstat': (0, fixture('qstat.stdout'), ''),
        'qdel': (0, '', ''),
    })
    scheduler = NqsvScheduler()
    scheduler.set_transport(transport)
    job_id = scheduler.submit_job('/sqfs/work/G12345/u6x001/aiida/ab/cd', '_aiidasubmit.sh')
    assert job_id == '12345'
    assert scheduler.get_jobs(jobs=[job_id], as_dict=True)[job_id].job_state == JobState.QUEUED
    assert scheduler.kill_job(job_id) is True
    assert [command for command, _ in transport.commands] == ["qsub '_aiidasubmit.sh'", 'qstat', 'qdel 12345']


# ------------------------------------------------------------------------------------------- setup/computers/*
USER = {'username': 'u6x001', 'group': 'G12345', 'venv': '/sqfs/work/G12345/u6x001/venv', 'ssh_host': 'squid',
        'work_dir': '/sqfs/work/G12345/u6x001/aiida', 'hostname': 'vm.example.org', 'cores': 16}


def shipped_computer(name: str):
    """A shipped computer made by the code of `polyinf setup --computer`, under a throwaway label."""
    from aiida_polyinf.computers import load
    from aiida_polyinf.computers.configure import ensure_computer

    spec = load(name, user=USER)
    spec.computer['label'] = f'{name}-{secrets.token_hex(4)}'
    return ensure_computer(spec, echo=lambda _: None)


def verdi(*args):
    from aiida.cmdline.commands.cmd_verdi import verdi as cmd_verdi
    from click.testing import CliRunner

    result = CliRunner().invoke(cmd_verdi, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize('name, scheduler', [
    ('squid', 'polyinf.nqsv'), ('mdx', 'core.direct'), ('mdx-slurm', 'core.slurm'),
])
def test_computer_files_load(aiida_profile, name, scheduler):
    """Each shipped computer is set up from its files (under a throwaway label), its transport configured."""
    computer = shipped_computer(name)
    assert (computer.scheduler_type, computer.transport_type) == (scheduler, 'core.ssh_async')
    assert computer.is_configured and computer.get_configuration()['backend'] == 'openssh'
    if name == 'squid':
        assert isinstance(computer.get_scheduler(), NqsvScheduler)
        assert computer.get_default_mpiprocs_per_machine() == 76


def test_localhost_file_loads(aiida_profile):
    """`verdi computer setup --config` accepts the localhost file (under a throwaway label)."""
    from aiida import orm

    label = f'localhost-{secrets.token_hex(4)}'
    verdi('computer', 'setup', '--config', str(COMPUTERS / 'localhost.yaml'), '--label', label, '--non-interactive')
    computer = orm.load_computer(label)
    assert (computer.scheduler_type, computer.transport_type) == ('core.direct', 'core.local')


def test_squid_submit_script_passes_nqsv_mpiopts(aiida_profile, tmp_path):
    """A dry run on the squid computer renders an NQSV script whose mpirun gets ${NQSV_MPIOPTS} as separate words.

    The script is then run with bash, with stand-ins for `module` and `mpirun`, as NQSV would start it.
    """
    from aiida import orm
    from aiida.engine import run_get_node
    from aiida.plugins import CalculationFactory

    computer = shipped_computer('squid')
    code = orm.InstalledCode(label='bash', computer=computer, filepath_executable='/bin/bash').store()

    builder = CalculationFactory('core.arithmetic.add').get_builder()
    builder.code = code
    builder.x, builder.y = orm.Int(1), orm.Int(2)
    builder.metadata.dry_run = True
    builder.metadata.options.update({
        'account': 'G12345', 'queue_name': 'SQUID', 'withmpi': True, 'max_wallclock_seconds': 3600,
        'resources': {'num_machines': 2, 'num_mpiprocs_per_machine': 76},
    })
    _, node = run_get_node(builder)
    folder = pathlib.Path(node.dry_run_info['folder'])
    script = (folder / '_aiidasubmit.sh').read_text()
    for line in ('#PBS -q SQUID', '#PBS --group=G12345', '#PBS -T intmpi', '#PBS -b 2', '#PBS -l cpunum_job=76',
                 '#PBS -l memsz_job=248GB', '#PBS -l elapstim_req=01:00:00', 'module load BaseCPU',
                 "'mpirun' '-np' '152' '/bin/bash'"):
        assert line in script, line

    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake_mpirun = bin_dir / 'mpirun'
    fake_mpirun.write_text('#!/bin/bash\nprintf "%s\\n" "$@" > "$PBS_O_WORKDIR/mpirun.args"\n')
    fake_mpirun.chmod(fake_mpirun.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', PBS_O_WORKDIR=str(folder),
               NQSV_MPIOPTS='-hostfile /var/opt/nec/nqsv/hosts.12345 -perhost 76')
    subprocess.run(['bash', '-c', 'module() { :; }; export -f module; bash _aiidasubmit.sh'], cwd=folder, env=env,
                   check=True, timeout=60)
    assert (folder / 'mpirun.args').read_text().split('\n')[:7] == [
        '-hostfile', '/var/opt/nec/nqsv/hosts.12345', '-perhost', '76', '-np', '152', '/bin/bash']
