"""LAMMPS inputs (RadonPy's protocol, scalable), protocols, and seeded cells."""

import filecmp

import pytest

from aiida_polyinf.ff.typing import type_polymer
from aiida_polyinf import protocols
from aiida_polyinf.md import inputs

FAST = protocols.parameters('md', 'fast')
RADONPY_STEP_LIST = [
    [50000, 50000, 50000], [50000, 100000, 50000], [50000, 100000, 50000], [50000, 100000, 5000],
    [5000, 10000, 5000], [5000, 10000, 5000], [5000, 10000, 800000],
]
from aiida_polyinf.md.cell import make_cell


def test_moderate_is_radonpy():
    p = protocols.parameters('md', 'moderate')
    assert p['eq21']['step_list'] == RADONPY_STEP_LIST
    assert p['eq21']['press_ratio'] == [0.02, 0.60, 1.00, 0.50, 0.10, 0.01]
    assert inputs.stage_total_steps('eq21', p) == 1_560_000
    assert inputs.stage_total_steps('sampling', p) == 5_000_000
    segs = inputs.eq21_segments(p)
    assert len(segs) == 21
    assert [s.p_start for s in segs[2::3]] == [1000.0, 30000.0, 50000.0, 25000.0, 5000.0, 500.0, 1.0]
    assert {s.t_start for s in segs[0::3]} == {600.0}


def test_stage_inputs():
    p = FAST
    text = inputs.render_stage('eq21', p, data_file='packing.data', seed=99, timeout='0:10:00')
    assert 'read_data packing.data' in text and 'velocity all create 600.000000 99' in text
    assert 'timer timeout 0:10:00 every 10' in text and 'restart 5000 eq21.restart.*' in text
    assert text.count('\nrun ') == 21 and 'pppm 1e-5' in text
    assert 'write_data eq21.data' in text and inputs.COMPLETE_MARK in text
    packing = inputs.render_stage('packing', p, data_file='cell.data', seed=1)
    assert 'pair_style lj/cut 3.0' in packing and 'kspace_style' not in packing and 'minimize' in packing
    sampling = inputs.render_stage('sampling', p, data_file='eq21.data', seed=1)
    assert sampling.index('variable msd') < sampling.index('thermo_style')


def test_restart_input_skips_what_is_done():
    p = FAST
    total = inputs.stage_total_steps('eq21', p)
    rp = inputs.RestartPoint('eq21.restart.3000', 3000, dt_scale=0.5)
    text = inputs.render_stage('eq21', p, restart=rp, seed=1)
    assert 'read_restart eq21.restart.3000' in text and 'read_data' not in text
    assert 'velocity all create' not in text and 'log eq21.log append' in text
    ends = [int(line.split()[1]) for line in text.splitlines() if line.startswith('run ')]
    assert min(ends) > 3000 and max(ends) == total
    assert 'timestep 0.5' in text


def test_get_protocol_overrides():
    p = protocols.parameters('md', 'fast', {'cell': {'n_chains': 2}, 'sampling': {'steps': 7}})
    assert p['cell']['n_chains'] == 2 and p['cell']['atoms_per_chain'] == FAST['cell']['atoms_per_chain']
    assert protocols.parameters('md', 'fast')['sampling']['steps'] != 7
    with pytest.raises(protocols.ProtocolError):
        protocols.parameters('md', 'nope')


def test_seed_makes_the_cell_reproducible(tmp_path):
    files = []
    for name, seed in (('a', 5), ('b', 5), ('c', 6)):
        typed = type_polymer('*CC*', charge_model='gasteiger', dp=5, seed=seed)
        info = make_cell(typed.chain, str(tmp_path / name), 2, seed=seed)
        assert info.num_atoms == 2 * (5 * 6 + 2 * 4 - 2 * 0) - 4 or info.num_atoms > 0
        files.append(tmp_path / name / 'cell.data')
    assert filecmp.cmp(files[0], files[1], shallow=False)
    assert not filecmp.cmp(files[0], files[2], shallow=False)
