"""Density of the ``fast`` MD protocol, run through the AiiDA workflow, against RadonPy's PI1070 (PE and PS).

    .venv/bin/python benchmarks/md_vs_radonpy.py WORKDIR [--polymers PE,PS] [--jobs 2] [--charges gasteiger|qm]
        [--moderate-speed] [--smoke]
    -> prints a table, writes benchmarks/md_vs_radonpy.json

What runs: for each polymer, ``MdWorkChain.get_builder_from_protocol(lmp@localhost, polymer, charges, 'fast')``
through ``aiida.engine.run_get_node`` on a temporary embedded profile (SQLite + ZeroMQ, ``localhost``, made under
WORKDIR/<name>/aiida, never the user's profiles): RadonPy's amorphous cell (``build_cell``), packing, the 21 steps,
the NPT sampling (10 ps) and one additional 10 ps round (``fast`` never passes RadonPy's ``check_eq``), every stage a
``LammpsCalculation`` in ``LammpsBaseWorkChain``. With ``--jobs 2`` the polymers run at the same time, each in its
own Python and profile, one LAMMPS thread each.

Charges: by default ``--charges gasteiger``, i.e. the protocol override ``parameters: {charge_model: gasteiger}``
(Gasteiger charges on RadonPy's monomer and CH3 terminators, ``aiida_polyinf.ff.typing``), which skips the QM stage
to save its minutes on a 2-core machine; ``--charges qm`` first runs ``QmWorkChain`` with the ``fast`` QM protocol
and uses its RESP charges (and its polarizability for the refractive index), as ``polyinf run`` does (checked with
``--smoke --charges qm --polymers PE``: the QM fast chain took 800 s at load 31-37, then every MD stage ran with
``charge_model: resp``). PE and PS are
non-polar hydrocarbons: their densities are set by the LJ terms, so the charge model changes them little.

Reference: PI1070 (``aiida_polyinf/datasets/radonpy/PI1070.csv``, shipped in the package), the row whose repeat unit has the same
canonical SMILES (PE = PI1 ``*CC*``; PS = PI82 ``*C(C*)c1ccccc1``); its ``density`` is the mean of 5 RadonPy runs of
10 chains x ~1,000 atoms with 5 ns sampling.

Expectation, loosely: within ~5 % of PI1070. ``fast`` is not a converged calculation: ~400 atoms (4 chains), packing
and 21-step equilibration with 1/100-1/200 of RadonPy's steps, 10 + 10 ps of sampling (a density from the last 6 ps),
PPPM 1e-5. A too-short compression/relaxation leaves the cell less dense than the converged one (a previous PE fast
run gave 0.782 vs 0.838 g/cm^3, -6.7 %), so a miss on the low side is the expected failure, and is reported as such.

``--moderate-speed`` also measures what ``moderate`` would cost here: the packed PE cell of the fast run replicated
3 x 3 x 3 (10,584 atoms, about RadonPy's 10 x 1,000), a short NPT run with ``moderate``'s force-field settings (PPPM
1e-6), giving katom-step/s; the cost of ``moderate`` = its MD steps x 10,000 atoms / that speed.

Running ``moderate`` for one polymer (RadonPy's full protocol, QM moderate + 10 chains x 1,000 atoms, 2 M packing
steps, 1.56 M steps of the 21-step equilibration, 5 ns sampling + up to 4 more 5 ns rounds) is the ordinary command:

    printf 'id,smiles\\nPS,*CC(*)c1ccccc1\\n' > ps.csv
    polyinf run ps.csv --protocol moderate --wait

Its cost on this machine (2 shared cores, 1 LAMMPS thread; figures in ``md_vs_radonpy.json``, key
``moderate_cost``): the MD alone is 8.56 M steps (2 M of packing, 1.56 M of the 21 steps, 5 M of sampling) x ~10^4
atoms before any additional round, plus up to 20 M steps of additional rounds; see the README for the figure measured
here. It is a job for the SQUID/mdx computers (setup/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _embedded  # noqa: E402
from aiida_polyinf.datasets import PI1070 as DATASET  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PI1070 = str(DATASET)  # the copy shipped inside the package
OUT = os.path.join(ROOT, 'benchmarks', 'md_vs_radonpy.json')
LMP = os.path.join(ROOT, '.venv', 'bin', 'lmp')
POLYMERS = {'PE': '*CC*', 'PS': '*CC(*)c1ccccc1'}
TOLERANCE = 0.05
SMOKE = {  # --smoke: every stage of the workflow, a few hundred steps each (checks the script, not the physics)
    'packing': {'min_maxiter': 100, 'relax_steps': 200, 'heat_steps': 300, 'compress_steps': 1000},
    'eq21': {'step_list': [[20, 20, 20]] * 7},
    'sampling': {'steps': 400}, 'additional': {'steps': 400, 'max_rounds': 1},
    'thermo_every': 20, 'dump_every': 100, 'restart_every': 500,
}


def log(*args):
    print(f'[{_embedded.stamp()} load {_embedded.load()}]', *args, flush=True)


def reference(smiles: str) -> dict:
    """The PI1070 row of this repeat unit (by canonical SMILES, as the project's identity)."""
    import pandas as pd

    from aiida_polyinf.polymers.smiles import parse_repeat_unit

    table = pd.read_csv(PI1070)
    target = parse_repeat_unit(smiles).smiles

    def canon(s):
        try:
            return parse_repeat_unit(s).smiles
        except Exception:  # noqa: BLE001
            return None

    rows = table[table['smiles'].map(canon) == target]
    if rows.empty:
        raise SystemExit(f'{smiles}: no PI1070 row')
    row = rows.iloc[0]
    return {'id': row['monomer_ID'], 'smiles': row['smiles'], 'density': float(row['density']),
            'density_std': float(row['density_std']), 'density_count': int(row['density_count']),
            'n_atom_mean': int(row['n_atom_mean']), 'n_mol': int(row['n_mol']), 'DP': int(row['DP'])}


def run_one(name: str, smiles: str, workdir: str, charges_model: str, smoke: bool) -> dict:
    """One polymer through the workflow on its own temporary profile; returns the figures."""
    _embedded.use_temporary_profile(os.path.join(workdir, 'aiida'))
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_polyinf.calculations.intake import register_polymer
    from aiida_polyinf.workchains.md import MdWorkChain

    os.environ['OMP_NUM_THREADS'] = '1'
    t0 = time.time()
    polymer = register_polymer(orm.Str(smiles))
    qm_descriptors = None
    out = {'name': name, 'smiles': smiles, 'charges': charges_model, 'load_start': _embedded.load(),
           'start': _embedded.stamp()}
    if charges_model == 'qm':
        from aiida_polyinf.workchains.qm import QmWorkChain

        log(f'{name}: QmWorkChain fast')
        qm, qm_node = run_get_node(QmWorkChain.get_builder_from_protocol(orm.load_code('pyscf@localhost'), polymer,
                                                                        protocol='fast'))
        if not qm_node.is_finished_ok:
            raise SystemExit(f'{name}: QM failed: {qm_node.exit_status} {qm_node.exit_message}')
        charges, qm_descriptors = qm['charges'], qm['descriptors']
        out['qm_s'] = round(time.time() - t0, 1)
        overrides = {}
    else:
        charges = orm.ArrayData()
        charges.label = 'unused: charge_model gasteiger'
        overrides = {'parameters': {'charge_model': 'gasteiger'}}
    if smoke:
        overrides = {'parameters': {**overrides.get('parameters', {}), **SMOKE}}
    builder = MdWorkChain.get_builder_from_protocol(orm.load_code('lmp@localhost'), polymer, charges, 'fast',
                                                    overrides=overrides, qm_descriptors=qm_descriptors)
    log(f'{name}: MdWorkChain fast ({charges_model} charges)')
    t1 = time.time()
    results, node = run_get_node(builder)
    out['md_s'] = round(time.time() - t1, 1)
    out['total_s'] = round(time.time() - t0, 1)
    out['end'] = _embedded.stamp()
    out['load_end'] = _embedded.load()
    out['workchain'] = {'pk': node.pk, 'exit_status': node.exit_status, 'exit_message': node.exit_message}
    if not node.is_finished_ok:
        log(f'{name}: MdWorkChain failed: {node.exit_status} {node.exit_message}')
        return out
    aggregate = results['aggregate'].get_dict()
    out['density'] = aggregate.get('density')
    trial = results['trials']['trial_00'].get_dict()
    out['density_err'] = trial.get('density_err')
    out['converged'] = trial.get('settings', {}).get('converged')
    cell = next(n for n in node.called_descendants if n.process_label == 'MdEquilibrationWorkChain')
    out['cell'] = {k: cell.outputs.cell_info.get(k) for k in ('num_atoms', 'num_chains', 'atoms_per_chain',
                                                              'degree_of_polymerization', 'charge_model')}
    stages = {}
    for calc in sorted((n for n in node.called_descendants if n.process_label == 'LammpsCalculation'),
                       key=lambda n: n.pk):
        stage = calc.inputs.parameters['stage']
        params = calc.outputs.output_parameters.get_dict() if 'output_parameters' in calc.outputs else {}
        entry = {'pk': calc.pk, 'exit_status': calc.exit_status,
                 'wall_s': round((calc.mtime - calc.ctime).total_seconds(), 1), 'steps': params.get('last_step')}
        if 'thermo' in calc.outputs and 'Density' in calc.outputs.thermo.get_arraynames():
            dens = calc.outputs.thermo.get_array('Density')
            entry['density_last'] = round(float(dens[-1]), 4)
            entry['density_mean_last_60pct'] = round(float(dens[int(0.4 * len(dens)):].mean()), 4)
        if 'analysis' in calc.outputs:
            entry['density'] = calc.outputs.analysis.get_dict().get('values', {}).get('density')
        stages[stage] = entry
    out['stages'] = stages
    out['final_cell'] = os.path.join(workdir, 'final_cell.data')
    with open(out['final_cell'], 'wb') as handle:
        handle.write(cell.outputs.final_cell.get_content(mode='rb'))
    log(f'{name}: density {out["density"]} g/cm^3 in {out["total_s"]} s')
    return out


def moderate_speed(data_file: str, workdir: str, steps: int = 200) -> dict:
    """katom-step/s of moderate's force field on a 3x3x3 replica of a packed fast cell, and the implied cost."""
    from aiida_polyinf import protocols
    from aiida_polyinf.md import inputs

    p = protocols.parameters('md', 'moderate', {'sampling': {'steps': steps}, 'thermo_every': 50, 'dump_every': 10 ** 7,
                                         'restart_every': 10 ** 7})
    script = inputs.render_stage('sampling', p, data_file=os.path.basename(data_file), seed=7)
    lines = script.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith('read_data'))
    lines.insert(at + 1, 'replicate 3 3 3')
    directory = os.path.join(workdir, 'moderate_speed')
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, 'sampling.in'), 'w') as handle:
        handle.write('\n'.join(lines) + '\n')
    subprocess.run(['cp', data_file, directory], check=True)
    load = _embedded.load()
    t = time.time()
    rc = subprocess.run([LMP, '-in', 'sampling.in', '-screen', 'none'], cwd=directory,
                        env={**os.environ, 'OMP_NUM_THREADS': '1'}).returncode
    wall = time.time() - t
    text = open(os.path.join(directory, 'sampling.log')).read()
    import re

    atoms = int(re.findall(r'with (\d+) atoms', text)[-1])
    loop = float(re.findall(r'Loop time of ([\d.eE+-]+) on', text)[-1])
    speed = atoms * steps / loop / 1000.0
    m = protocols.parameters('md', 'moderate')
    heavy = m['packing']['heat_steps'] + m['packing']['compress_steps']
    eq = sum(sum(row) for row in m['eq21']['step_list'])
    base = eq + m['sampling']['steps']
    extra = m['additional']['steps'] * m['additional']['max_rounds']
    n = m['cell']['n_chains'] * m['cell']['atoms_per_chain']
    day = 86400.0
    # packing runs lj/cut 3.0 without Coulomb and PPPM: counted at the measured speed, an upper bound
    cost = {'rc': rc, 'atoms': atoms, 'steps': steps, 'loop_s': round(loop, 1), 'wall_s': round(wall, 1),
            'load_start': load, 'load_end': _embedded.load(), 'katom_steps_per_s': round(speed, 1),
            'moderate_md_steps': {'packing': heavy, 'eq21': eq, 'sampling': m['sampling']['steps'],
                                  'additional_max': extra},
            'moderate_days_1core_without_additional': round((heavy + base) * n / (speed * 1000) / day, 1),
            'moderate_days_1core_with_all_additional': round((heavy + base + extra) * n / (speed * 1000) / day, 1)}
    log('moderate cost', cost)
    return cost


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('workdir')
    parser.add_argument('--polymers', default='PE,PS')
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument('--charges', choices=('gasteiger', 'qm'), default='gasteiger')
    parser.add_argument('--moderate-speed', action='store_true')
    parser.add_argument('--smoke', action='store_true')
    parser.add_argument('--only', help=argparse.SUPPRESS)
    parser.add_argument('--out', default=OUT)
    args = parser.parse_args()
    args.workdir = os.path.abspath(args.workdir)

    if args.only:  # a child: one polymer, its own profile
        directory = os.path.join(args.workdir, args.only)
        result = run_one(args.only, POLYMERS[args.only], directory, args.charges, args.smoke)
        json.dump(result, open(os.path.join(directory, 'result.json'), 'w'), indent=1)
        return

    names = args.polymers.split(',')
    children, pending = {}, list(names)
    t0 = time.time()
    log(f'fast MD through MdWorkChain for {names}, {args.jobs} at a time, {args.charges} charges')
    while pending or children:
        while pending and len(children) < args.jobs:
            name = pending.pop(0)
            os.makedirs(os.path.join(args.workdir, name), exist_ok=True)
            cmd = [sys.executable, __file__, args.workdir, '--only', name, '--charges', args.charges]
            if args.smoke:
                cmd.append('--smoke')
            logfile = open(os.path.join(args.workdir, name, 'run.log'), 'w')
            children[name] = (subprocess.Popen(cmd, stdout=logfile, stderr=subprocess.STDOUT), logfile)
            log(f'{name}: started (log {logfile.name})')
        time.sleep(30)
        for name, (proc, logfile) in list(children.items()):
            if proc.poll() is not None:
                logfile.close()
                log(f'{name}: finished, rc {proc.returncode}')
                del children[name]
        running = ', '.join(f'{n}: {_last_stage(os.path.join(args.workdir, n, "aiida"))}' for n in children)
        if running:
            log(f'{round(time.time() - t0)} s; running {running}')

    rows = []
    for name in names:
        path = os.path.join(args.workdir, name, 'result.json')
        result = json.load(open(path)) if os.path.exists(path) else {'name': name, 'error': 'no result'}
        ref = reference(POLYMERS[name])
        result['pi1070'] = ref
        if result.get('density') is not None:
            result['rel_diff'] = round(result['density'] / ref['density'] - 1, 4)
            result['within_5pct'] = abs(result['rel_diff']) <= TOLERANCE
        rows.append(result)

    print()
    print(f'{"polymer":8} {"PI1070":7} {"atoms":>5} {"fast rho":>9} {"+-":>6} {"PI1070 rho":>10} {"+-sd":>6} '
          f'{"diff":>7}  within 5%   wall')
    for r in rows:
        ref = r['pi1070']
        if r.get('density') is None:
            print(f'{r["name"]:8} {ref["id"]:7} failed: {r.get("workchain", r.get("error"))}')
            continue
        print(f'{r["name"]:8} {ref["id"]:7} {r["cell"]["num_atoms"]:>5} {r["density"]:9.4f} '
              f'{r["density_err"] or 0:6.4f} {ref["density"]:10.4f} {ref["density_std"]:6.4f} '
              f'{100 * r["rel_diff"]:+6.1f}%  {"yes" if r["within_5pct"] else "NO":9} {r["total_s"]:6.0f} s '
              f'(load {r["load_start"]} -> {r["load_end"]})')

    summary = {
        'what': 'density of the fast MD protocol (MdWorkChain via aiida.engine.run_get_node on a temporary embedded '
                'profile) vs PI1070',
        'charges': args.charges,
        'smoke': args.smoke,
        'tolerance': TOLERANCE,
        'expectation': 'within ~5 % of PI1070, loosely: fast is ~400 atoms, 1/100-1/200 of RadonPy equilibration, '
                       '10 + 10 ps sampling; an under-dense cell is the expected failure',
        'polymers': rows,
        'wall_s': round(time.time() - t0, 1),
        'jobs': args.jobs,
        'cpus': os.cpu_count(),
    }
    if args.moderate_speed:
        pe = next((r for r in rows if r['name'] == 'PE' and r.get('final_cell')), None)
        if pe and os.path.exists(pe['final_cell']):
            summary['moderate_cost'] = moderate_speed(pe['final_cell'], args.workdir)
    previous = json.load(open(args.out)) if os.path.exists(args.out) else {}
    if 'moderate_cost' in previous and 'moderate_cost' not in summary:
        summary['moderate_cost'] = previous['moderate_cost']
    json.dump(summary, open(args.out, 'w'), indent=1)
    log(f'wrote {args.out}')


def _last_stage(profile_dir: str) -> str:
    """The newest LammpsCalculation's stage in a child's profile (read-only look at its SQLite database)."""
    import glob
    import sqlite3

    paths = glob.glob(os.path.join(profile_dir, '.aiida', 'repository', '*', 'database.sqlite'))
    paths += glob.glob(os.path.join(profile_dir, '**', 'database.sqlite'), recursive=True)
    for path in paths:
        try:
            con = sqlite3.connect(f'file:{path}?mode=ro', uri=True, timeout=1)
            row = con.execute("select label, process_type, attributes from db_dbnode where node_type like "
                              "'process.calculation.calcjob.%' order by id desc limit 1").fetchone()
            con.close()
        except sqlite3.Error:
            continue
        if row:
            attrs = json.loads(row[2] or '{}')
            return f'{attrs.get("process_state", "?")} calcjob, {_count_calcjobs(path)} so far'
        return 'building the cell'
    return 'starting'


def _count_calcjobs(path: str) -> int:
    import sqlite3

    con = sqlite3.connect(f'file:{path}?mode=ro', uri=True, timeout=1)
    n = con.execute("select count(*) from db_dbnode where node_type like 'process.calculation.calcjob.%'").fetchone()[0]
    con.close()
    return n


if __name__ == '__main__':
    main()
