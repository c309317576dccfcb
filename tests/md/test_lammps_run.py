"""A real, short lmp run of our inputs on a tiny polyethylene cell, and its continuation from a restart file."""

import os
import pathlib
import subprocess

import pytest

from aiida_polyinf.ff.typing import type_polymer
from aiida_polyinf import protocols
from aiida_polyinf.md import inputs, logs
from aiida_polyinf.md.cell import make_cell

LMP = pathlib.Path(__file__).resolve().parents[2] / '.venv' / 'bin' / 'lmp'
TINY = {
    'packing': {'min_maxiter': 100, 'relax_steps': 200, 'heat_steps': 300, 'compress_steps': 1000},
    'sampling': {'steps': 400},
    'thermo_every': 20, 'dump_every': 100, 'restart_every': 500,
}

pytestmark = pytest.mark.skipif(not LMP.exists(), reason='no lmp in .venv')


def run(directory, stage):
    return subprocess.run([str(LMP), '-in', f'{stage}.in', '-screen', 'none'], cwd=directory, timeout=120,
                          env={**os.environ, 'OMP_NUM_THREADS': '1'}).returncode


def test_packing_sampling_and_restart(tmp_path):
    protocol = protocols.parameters('md', 'fast', TINY)
    typed = type_polymer('*CC*', charge_model='gasteiger', dp=5, seed=1)
    make_cell(typed.chain, str(tmp_path), 2, seed=1)
    inputs.write_stage(str(tmp_path), 'packing', protocol, data_file='cell.data', seed=3)
    assert run(tmp_path, 'packing') == 0
    result = logs.read_log(tmp_path / 'packing.log')
    assert result.complete and result.stage_complete and result.last_step == 1500
    assert (tmp_path / 'packing.data').exists() and (tmp_path / 'packing.restart.1000').exists()
    assert result.joined().column('Density')[-1] == pytest.approx(0.8, rel=0.02)  # compressed to f_density

    # continue the packing stage from its restart at step 1000 with half the time step
    (tmp_path / 'packing.data').unlink()
    text = inputs.render_stage('packing', protocol, seed=3,
                               restart=inputs.RestartPoint('packing.restart.1000', 1000, 0.5))
    (tmp_path / 'packing.in').write_text(text)
    assert run(tmp_path, 'packing') == 0
    assert logs.read_log(tmp_path / 'packing.log').stage_complete and (tmp_path / 'packing.data').exists()

    inputs.write_stage(str(tmp_path), 'sampling', protocol, data_file='packing.data', seed=3)
    assert run(tmp_path, 'sampling') == 0
    sampling = logs.read_log(tmp_path / 'sampling.log')
    assert sampling.stage_complete and 'v_msd' in sampling.joined().columns
