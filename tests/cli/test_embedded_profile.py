"""The main job on a real embedded profile, in a fresh AIIDA_PATH, as a user runs it: `polyinf setup`, then
`polyinf run --protocol fast --wait` through the daemon, which runs every stage (intake, QM, FF, MD, Tg, NEMD, ions) on
one tiny polymer with the real programs (RDKit, PySCF, RadonPy typing, LAMMPS). This is the end-to-end test of the
pipeline.
"""

import csv
import os
import re
import pathlib
import shutil
import subprocess
import sys

import pytest

from aiida_polyinf.common.stages import NAMES, STAGE_LIST

BIN = pathlib.Path(sys.executable).parent


def run(args, env, cwd, check=True, timeout=600):
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f'{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}')
    return result


@pytest.mark.daemon
@pytest.mark.slow
@pytest.mark.timeout(2700)  # every stage of one polymer; ~15 min on an idle 2-core machine, much more when loaded
def test_setup_and_fast_campaign_end_to_end(tmp_path):
    env = dict(os.environ, AIIDA_PATH=str(tmp_path / 'aiida'), PATH=f'{BIN}{os.pathsep}{os.environ["PATH"]}')
    polyinf, verdi = str(BIN / 'polyinf'), str(BIN / 'verdi')

    first = run([polyinf, 'setup'], env, tmp_path).stdout
    assert 'profile   polyinf: created (core.sqlite_dos + core.zeromq)' in first
    assert 'computer  localhost: created' in first
    assert 'code      lmp@localhost: created' in first and 'code      pyscf@localhost: created' in first
    second = run([polyinf, 'setup'], env, tmp_path).stdout
    assert 'created' not in second and second.count('exists') == 4

    table = tmp_path / 'tiny.csv'
    table.write_text('id,smiles\nPE,*CC*\nPDMS,*[Si](C)(C)O*\n')
    try:
        result = run([polyinf, 'run', str(table), '--protocol', 'fast', '--wait', '--timeout', '2400'], env, tmp_path,
                     timeout=2500)
        output = result.stdout + result.stderr
        assert '1 finished ok, 0 failed' in output, output
        assert 'rejected: row 2 (PDMS): element' in result.stderr

        listing = run([verdi, 'process', 'list', '-a', '-p', '1'], env, tmp_path).stdout
        for label in ('PolymerPropertiesWorkChain', 'IntakeWorkChain', 'QmWorkChain', 'PyscfCalculation',
                      'ff_descriptors', 'MdWorkChain', 'MdEquilibrationWorkChain', 'LammpsCalculation',
                      'md_properties', 'aggregate_trials', 'NemdThermalConductivityWorkChain',
                      'thermal_conductivity', 'IonMobilityWorkChain', 'ion_mobility', 'TgWorkChain',
                      'glass_transition'):
            assert label in listing, label

        # Every stage of the registry finished (a 5xx of a cell stage is a physics result, recorded).
        status = run([polyinf, 'status', '--group', 'polyinf/tiny'], env, tmp_path).stdout
        lines = {line.split()[0]: line for line in status.splitlines() if line.split()}
        for stage in NAMES:  # queued running finished failed skipped; a 5xx is listed as `1 (510×1)` under failed
            finished = lines[stage].split()[3] == '1'
            assert finished or re.search(r' 1 \(5\d\d×1\) ', lines[stage]), (stage, status)

        # The properties reach the dataset export, with the QM descriptors beside them.
        out = tmp_path / 'export'
        run([polyinf, 'export', '--group', 'polyinf/tiny', '--out', str(out)], env, tmp_path)
        rows = list(csv.DictReader(open(out / 'dataset.csv')))
        assert len(rows) == 1 and rows[0]['smiles'] == '*CC*'
        assert 0.3 < float(rows[0]['density']) < 1.5
        assert rows[0]['density_count'] == '1'
        assert float(rows[0]['qmex.homo_eV']) < 0
        # Every value a stage declares is a column, or named missing with its reason (e.g. no D of a caged ion).
        for stage in STAGE_LIST:
            for name in stage.value_names:
                assert rows[0].get(name) or f'{name}:' in rows[0].get('missing.values', ''), (stage.name, name)
        assert float(rows[0]['thermal_conductivity']) > 0 and rows[0]['uuid.thermal_conductivity']
        assert rows[0]['uuid.ion_mobility'] and rows[0]['uuid.glass_transition']
        tg = float(rows[0]['glass_transition_temperature'])
        assert 100 < tg < 700
        for branch in ('glass', 'rubber'):  # each R^2 is stored, or named missing with its reason (checked above)
            if rows[0].get(f'glass_transition_r2_{branch}'):
                assert 0 <= float(rows[0][f'glass_transition_r2_{branch}']) <= 1
        print(f'fast PE: Tg {tg:.0f} +- {rows[0].get("glass_transition_temperature_err")} K, R2 glass '
              f'{rows[0].get("glass_transition_r2_glass")}, rubber {rows[0].get("glass_transition_r2_rubber")}, slope ratio '
              f'{rows[0].get("glass_transition_slope_ratio")}; kappa {rows[0]["thermal_conductivity"]} W/(m K)')

        # The provenance of the density leads back to the SMILES, the RESP charges and the trial's seed.
        show = run([polyinf, 'show', '*CC*'], env, tmp_path).stdout
        assert 'density' in show
        assert 'thermal_conductivity' in show and 'ion_msd_exponent_Na' in show  # the nemd and ions stages
        assert 'glass_transition_temperature' in show and 'TgWorkChain' in show
        if shutil.which('dot'):
            uuid = rows[0]['uuid.aggregate']
            run([verdi, 'node', 'graph', 'generate', '-a', '20', '-d', '0', '-f', 'dot', '-O', str(tmp_path / 'g.dot'), uuid],
                env, tmp_path)
            dot = (tmp_path / 'g.dot').read_text()
            for piece in ('PolymerData', 'ArrayData', 'build_cell', 'Int'):
                assert piece in dot, piece
    finally:
        run([verdi, 'daemon', 'stop'], env, tmp_path, check=False)
