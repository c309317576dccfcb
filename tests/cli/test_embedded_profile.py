"""`polyinf setup` and the main job on a real embedded profile, in a fresh AIIDA_PATH, as a user runs them.

This is the one test that goes through the installed console scripts (`polyinf`, `verdi`) in subprocesses.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

BIN = pathlib.Path(sys.executable).parent


def run(args, env, cwd, check=True):
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f'{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}')
    return result


@pytest.mark.daemon
def test_setup_is_idempotent_and_runs_the_campaign(tmp_path):
    env = dict(os.environ, AIIDA_PATH=str(tmp_path / 'aiida'), PATH=f'{BIN}{os.pathsep}{os.environ["PATH"]}')
    polyinf, verdi = str(BIN / 'polyinf'), str(BIN / 'verdi')

    first = run([polyinf, 'setup'], env, tmp_path).stdout
    assert 'profile   polyinf: created (core.sqlite_dos + core.zeromq)' in first
    assert 'computer  localhost: created' in first
    assert 'code      lmp@localhost: created' in first and 'code      pyscf@localhost: created' in first
    second = run([polyinf, 'setup'], env, tmp_path).stdout
    assert 'created' not in second and second.count('exists') == 4

    csv = tmp_path / 'three.csv'
    csv.write_text('id,smiles\nPE,*CC*\nPVC,*CC(*)Cl\nPDMS,*[Si](C)(C)O*\n')
    try:
        result = run([polyinf, 'run', str(csv), '--protocol', 'fast', '--wait', '--timeout', '180'], env, tmp_path)
        assert '2 finished ok, 0 failed' in result.stdout + result.stderr
        assert 'rejected: row 3 (PDMS): element' in result.stderr
        listing = run([verdi, 'process', 'list', '-a'], env, tmp_path).stdout
        assert listing.count('IntakeWorkChain') == 2 and listing.count('build_oligomer') == 2
        assert listing.count('register_polymer') == 2

        pk = run([verdi, 'group', 'show', 'polyinf/three'], env, tmp_path).stdout.split('\n')
        polymer_pk = next(line.split()[0] for line in pk if 'PolymerData' in line)
        if shutil.which('dot'):
            graph = run([verdi, 'node', 'graph', 'generate', '-f', 'png', polymer_pk], env, tmp_path)
            assert any(tmp_path.glob(f'{polymer_pk}.dot.png')), graph.stdout
    finally:
        run([verdi, 'daemon', 'stop'], env, tmp_path, check=False)
