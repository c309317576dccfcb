"""Wall time of the ``fast`` MD protocol on one cell (typing + cell + packing + 21 steps + sampling + analysis).

    .venv/bin/python benchmarks/md_fast_run.py WORKDIR [--smiles '*CC*'] [--threads 1]   -> WORKDIR/timing.json

LAMMPS runs here through subprocess only because this is a benchmark; the pipeline runs it as a CalcJob.
"""

import argparse
import json
import os
import subprocess
import time

from aiida_polyinf.ff.typing import type_polymer
from aiida_polyinf import protocols
from aiida_polyinf.md import analysis, inputs, logs
from aiida_polyinf.md.cell import make_cell


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('workdir')
    parser.add_argument('--smiles', default='*CC*')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--lmp', default=os.path.join(os.path.dirname(__file__), '..', '.venv', 'bin', 'lmp'))
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    p = protocols.parameters('md', 'fast')
    t0 = time.time()
    typed = type_polymer(args.smiles, charge_model='gasteiger', n_atoms=p['cell']['atoms_per_chain'], seed=3)
    info = make_cell(typed.chain, args.workdir, p['cell']['n_chains'], seed=5)
    res = {'atoms': info.num_atoms, 'dp': typed.degree_of_polymerization, 'build_s': round(time.time() - t0, 1),
           'threads': args.threads, 'load_avg_start': os.getloadavg()[0]}
    print(res, flush=True)
    data = 'cell.data'
    cmd = [args.lmp, '-screen', 'none'] + (['-sf', 'omp', '-pk', 'omp', str(args.threads)] if args.threads > 1 else [])
    for stage in inputs.STAGES:
        inputs.write_stage(args.workdir, stage, p, data_file=data, seed=7)
        t = time.time()
        rc = subprocess.run(cmd + ['-in', f'{stage}.in'], cwd=args.workdir,
                            env={**os.environ, 'OMP_NUM_THREADS': str(args.threads)}).returncode
        dt = time.time() - t
        steps = inputs.stage_total_steps(stage, p)
        res[stage] = {'rc': rc, 'wall_s': round(dt, 1), 'steps': steps,
                      'katom_steps_per_s': round(info.num_atoms * steps / dt / 1000, 1)}
        print(stage, res[stage], flush=True)
        if rc:
            break
        data = inputs.next_data_file(stage)
    else:
        block = logs.read_log(os.path.join(args.workdir, 'sampling.log')).joined()
        res['properties'] = analysis.analyze_sampling(
            block, analysis=p['analysis'], dump_path=os.path.join(args.workdir, 'sampling.dump'),
            topology=os.path.join(args.workdir, 'topology.json'))['values']
    res['total_s'] = round(time.time() - t0, 1)
    res['load_avg_end'] = os.getloadavg()[0]
    with open(os.path.join(args.workdir, 'timing.json'), 'w') as handle:
        json.dump(res, handle, indent=1)
    print(res)


if __name__ == '__main__':
    main()
