"""The shipped computers, a user's settings and the run profiles (pure: no AiiDA)."""

import pytest

from aiida_polyinf import computers
from aiida_polyinf.computers import ComputerConfigError, RunProfile

USER = {'username': 'u1', 'group': 'g2', 'venv': '/opt/venv', 'work_dir': '/work/u1/aiida', 'ssh_host': 'squid',
        'hostname': 'vm.example.org', 'cores': 16}


def test_every_shipped_computer_loads_and_sizes_every_stage():
    for name in computers.SHIPPED:
        spec = computers.load(name, user=None if name == 'mdx-test' else USER)
        assert spec.computer['label'] == name and spec.transport['backend'] == 'openssh'
        assert set(spec.codes) == {'lmp', 'pyscf'} and spec.codes['pyscf']['with_mpi'] is False
        assert spec.run.problems() == []
        overrides = spec.run.overrides()
        assert set(overrides) == set(computers.JOB_STAGES)
        assert overrides['qm']['options']['withmpi'] is False  # the pyscf code is with_mpi: false


def test_squid_never_gives_a_whole_node_to_a_one_core_job():
    run = computers.load('squid', user=USER).run
    qm = run.options('qm')
    assert qm['queue_name'] == 'SQUID-S' and qm['resources']['num_cores_per_mpiproc'] == 38 and qm['account'] == 'g2'
    assert run.overrides()['qm']['parameters']['resources']['num_threads'] == 38
    for stage in ('md', 'nemd', 'ions', 'tg'):
        options = run.options(stage)
        assert options['queue_name'] == 'SQUID' and options['withmpi']
        assert options['resources'] == {'num_machines': 1, 'num_mpiprocs_per_machine': 76}  # the node filled
        assert 'custom_scheduler_commands' not in options  # cloud bursting is opt-in
    assert run.max_active_chains == 33


def test_cloud_bursting_only_for_jobs_that_fit_its_rule():
    run = computers.load('squid', user=USER).run
    run.cloud_bursting = True
    run.stages['ions'] = {**run.stages['ions'], 'walltime_hours': 1}
    assert run.options('ions')['custom_scheduler_commands'] == computers.CLOUD_BURSTING
    assert 'custom_scheduler_commands' not in run.options('md')  # 120 h
    run.stages['qm'] = {**run.stages['qm'], 'walltime_hours': 1}
    assert 'custom_scheduler_commands' not in run.options('qm')  # SQUID-S: not a cloud-bursting queue


@pytest.mark.parametrize('change, words', [
    ({'qm': {'threads': 76}}, ('stage qm', '76 cores per node', 'SQUID-S')),
    ({'md': {'walltime_hours': 200}}, ('stage md', '200 hours', '120')),
    ({'md': {'nodes': 3, 'queue': 'DBG'}}, ('stage md', '3 nodes', 'DBG')),
    ({'qm': {'memory_gb': 200}}, ('stage qm', 'GB of memory', '124')),
    ({'tg': {'queue': 'NOPE'}}, ('stage tg', "'NOPE'", 'SQUID-S')),
])
def test_requests_above_the_queue_limits_are_refused_by_name(change, words):
    run = computers.load('squid', user=USER).run
    for stage, values in change.items():
        run.stages[stage] = {**run.stages[stage], **values}
    with pytest.raises(ComputerConfigError) as info:
        run.check()
    for word in words:
        assert word in str(info.value), str(info.value)
    assert RunProfile.from_dict(computers.load('squid', user=USER).run.as_dict()).problems() == []


def test_bad_computer_names_and_user_files(tmp_path):
    with pytest.raises(ComputerConfigError, match="unknown computer 'fugaku'; the shipped computers are squid"):
        computers.load('fugaku', user=USER)
    example = tmp_path / 'squid.yaml'
    example.write_text((computers.FOLDER / 'squid' / 'user.example.yaml').read_text())
    with pytest.raises(ComputerConfigError, match='placeholders left in group, username, venv, work_dir'):
        computers.load('squid', example)
    partial = tmp_path / 'partial.yaml'
    partial.write_text('username: u1\nventure: /x\n')
    with pytest.raises(ComputerConfigError, match='needs `group`, `ssh_host`, `venv`, `work_dir`'):
        computers.load('squid', partial)
    with pytest.raises(ComputerConfigError, match='needs your settings'):
        computers.load('squid')
    broken = tmp_path / 'broken.yaml'
    broken.write_text('- a list\n')
    with pytest.raises(ComputerConfigError, match='must be a mapping'):
        computers.load('squid', broken)
    with pytest.raises(ComputerConfigError, match='no user file'):
        computers.load('squid', tmp_path / 'absent.yaml')


def test_mdx_test_is_the_mdx_slurm_files_on_this_machine():
    spec = computers.load('mdx-test')
    slurm = computers.load('mdx-slurm', user={**USER, 'ssh_host': 'polyinf-mdx-test'})
    assert spec.computer['scheduler'] == slurm.computer['scheduler'] == 'core.slurm'
    assert spec.transport == slurm.transport
    assert spec.transport['host'] == 'polyinf-mdx-test' and spec.computer['hostname'] == '127.0.0.1'
    assert spec.codes['lmp']['filepath_executable'].endswith('/bin/lmp')
