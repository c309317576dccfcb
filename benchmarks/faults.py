"""Fault injection on a PostgreSQL + RabbitMQ profile with a running daemon (issue #8 item 5).

    .venv/bin/python benchmarks/faults.py [--base /tmp/polyinf-faults] [--timeout 2400] [--keep]

Everything runs on a throwaway profile ``faults-pg`` (``polyinf setup --postgres --profile-name faults-pg``) in its
own AiiDA config folder, on a PostgreSQL cluster and a RabbitMQ node of its own (``_isolated_services.sh``): stopping
PostgreSQL or RabbitMQ here never touches the shared services of ``setup/services.sh`` that other runs use. The
daemon runs 2 workers. Campaigns (``fast`` protocol, tiny molecules, each with its own campaign key so that
``polyinf restart-failed --protocol faults-<campaign>`` relaunches exactly its failed chains):

- ``c1``: *CC*, *CC(*)C, *CC(*)Cl, stages intake + qm. Injected while it runs: kill -9 of a PySCF driver.py, kill -9
  of a daemon worker, a RabbitMQ stop/start, a PostgreSQL restart (``pg_ctlcluster ... restart``).
- ``scf``: *CC* with ``method.scf.max_cycle = 1`` and ``max_iterations = 2``: the SCF never converges, the handlers
  try level shift, then the work chain gives up with a named exit code.
- ``md``: *CC(*)C with intake, qm, ff and a shrunk ``fast`` MD (2 chains of 40 atoms, a few thousand steps,
  no additional round) whose LAMMPS jobs get ``max_wallclock_seconds = 40`` (LAMMPS ``timer timeout``: exit 430,
  continued from the timeout restart file); one ``lmp`` is killed with -9; the run does not equilibrate and records
  ``converged: false``.
- ``md2``: *CC* with the same MD but 20,000 sampling steps and ``max_wallclock_seconds = 20``, for a machine with
  little load (where ``md`` ends before LAMMPS' timeout and before an ``lmp`` can be caught): exits 450 and 430.
- ``unreachable``: *CC* (QM only) with its PySCF code on a computer ``flaky`` (core.local) whose work directory cannot
  be created (a plain file is in its place): the upload fails, AiiDA's exponential backoff retries, then the process
  pauses; the file is removed and ``verdi process play`` resumes it.

After the campaigns: every chain terminated (finished, or failed with a named exit code), an integrity check (no
non-terminal process, no orphan, no terminated caller with a live child, every CalcJob has its code), ``verdi
storage maintain --dry-run``, then ``polyinf restart-failed`` per campaign and the same checks again. Writes
``benchmarks/faults.json`` after every step, so a partial table exists if the run is cut short. ``--resume`` picks a
cut-short run up again without repeating the faults already injected; ``--only`` chooses campaigns.

Measured (faults.json): after the RabbitMQ stop/start the process tasks were gone (nothing moved until ``verdi
process repair``, daemon stopped), and after the PostgreSQL restart the workers' sessions stayed in
PendingRollbackError until the daemon was restarted. This script does not do those repairs itself: an operator does.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _faultlib as F  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent / 'faults.json'
PROFILE = 'faults-pg'
TOP = 'PolymerPropertiesWorkChain'
# top-level processes: the chains and the calcfunctions called outside a chain (intake, caching lookups)
TOP_LABELS = (TOP, 'register_polymer', 'build_oligomer', 'ff_descriptors', 'qm_descriptors', 'ShellJob<')

MD_OVERRIDES = {
    'stages': ['intake', 'qm', 'ff', 'md'],
    'md': {
        'max_iterations': 30,
        'options': {'max_wallclock_seconds': 40},
        'parameters': {
            'cell': {'n_chains': 2, 'atoms_per_chain': 40},
            'packing': {'min_maxiter': 200, 'relax_steps': 200, 'heat_steps': 600, 'compress_steps': 600},
            'eq21': {'step_list': [[100, 100, 100]] * 7},
            'sampling': {'steps': 2000},
            'additional': {'steps': 1000, 'max_rounds': 0},
            'thermo_every': 10,
            'dump_every': 100,
            'restart_every': 200,
        },
    },
}
CAMPAIGNS = {
    'c1': {'smiles': ['*CC*', '*CC(*)C', '*CC(*)Cl'], 'overrides': {'stages': ['intake', 'qm']}},
    'scf': {'smiles': ['*CC*'], 'overrides': {'stages': ['intake', 'qm'], 'qm': {
        'max_iterations': 2, 'parameters': {'method': {'scf': {'max_cycle': 1}}}}}},
    'md': {'smiles': ['*CC(*)C'], 'overrides': MD_OVERRIDES},
    # a second MD run, longer sampling, so that lmp runs long enough to be killed and to reach its timer timeout
    'md2': {'smiles': ['*CC*'], 'overrides': {**MD_OVERRIDES, 'md': {
        **MD_OVERRIDES['md'], 'options': {'max_wallclock_seconds': 20},
        'parameters': {**MD_OVERRIDES['md']['parameters'], 'sampling': {'steps': 20000}}}}},
    'unreachable': {'smiles': ['*CC*'], 'overrides': {'stages': ['intake', 'qm']}, 'computer': 'flaky'},
}

STATE: dict = {'rows': {}, 'events': [], 'campaigns': {}}


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime('%H:%M:%S')


def save() -> None:
    STATE['updated'] = now()
    STATE['loadavg_at_save'] = F.loadavg()
    OUT.write_text(json.dumps(STATE, indent=1, default=str) + '\n')


def event(message: str, **extra) -> None:
    record = {'t': now(), 'loadavg': F.loadavg(), 'msg': message, **extra}
    STATE['events'].append(record)
    print(f'[{record["t"]} load {record["loadavg"][0]:.1f}] {message}', flush=True)
    save()


def row(fault: str, **fields) -> None:
    STATE['rows'].setdefault(fault, {'fault': fault, 'injected': False, 'survived': None, 'nodes_before': None,
                                     'nodes_after': None, 'notes': ''})
    STATE['rows'][fault].update(fields)
    save()


# ----------------------------------------------------------------------------------------------------- setup
def setup_profile(base: str) -> None:
    F.isolated_env(base, PROFILE)
    result = F.services('start')
    event('isolated services started', out=result.stdout.strip()[-300:], rc=result.returncode)
    from aiida.manage.configuration import get_config

    if PROFILE not in get_config(create=True).profile_names:
        event('polyinf setup --postgres', out=F.ensure_profile(PROFILE)[-600:])
    from aiida import load_profile

    load_profile(PROFILE, allow_switch=True)
    # Quick transport retries (default: 5 attempts from 20 s), so the unreachable computer pauses within a minute.
    F.configure(PROFILE, {'transport.task_retry_initial_interval': 2, 'transport.task_maximum_attempts': 3})
    ensure_flaky(base)


def ensure_flaky(base: str):
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    from aiida_polyinf.profiles.setup import code_specs

    try:
        computer = orm.load_computer('flaky')
    except NotExistent:
        computer = orm.Computer(label='flaky', hostname='localhost', transport_type='core.local',
                                scheduler_type='core.direct', workdir=f'{base}/flaky-scratch').store()
        computer.configure(safe_interval=0)
        computer.set_minimum_job_poll_interval(1)
        computer.set_default_mpiprocs_per_machine(1)
    try:
        orm.load_code('pyscf@flaky')
    except NotExistent:
        spec = code_specs()['pyscf']
        orm.InstalledCode(label='pyscf', computer=computer, filepath_executable=spec['executable'],
                          default_calc_job_plugin=spec['plugin']).store()
    return computer


def break_flaky(base: str) -> None:
    import shutil

    path = pathlib.Path(f'{base}/flaky-scratch')
    if path.is_dir():
        shutil.rmtree(path)
    path.write_text('not a directory: the transport cannot create the work directory here\n')


def mend_flaky(base: str) -> None:
    path = pathlib.Path(f'{base}/flaky-scratch')
    if path.is_file():
        path.unlink()


def start_daemon() -> None:
    F.verdi(PROFILE, 'daemon', 'stop', timeout=300)
    result = F.verdi(PROFILE, 'daemon', 'start', '2', timeout=300)
    event('daemon started with 2 workers', rc=result.returncode, out=(result.stdout + result.stderr)[-300:],
          workers=F.find_pids('worker'))


# ----------------------------------------------------------------------------------------------------- campaigns
def submit(name: str, spec: dict) -> list[int]:
    from aiida import orm
    from aiida.engine import submit as aiida_submit

    from aiida_polyinf.campaign import EXTRA_CAMPAIGN, CampaignItem, build_inputs, group_polymers, pipeline_codes
    from aiida_polyinf.campaign.intake import import_rows

    group = f'faults/{name}'
    import_rows([{'id': f'{name}{i}', 'smiles': s} for i, s in enumerate(spec['smiles'])], group, source='faults')
    polymers = group_polymers(group)
    codes = pipeline_codes(spec.get('computer', 'localhost'))
    if spec.get('computer'):
        codes['lmp'] = None
    pks = []
    for polymer in polymers:
        item = CampaignItem.of(polymer, 'fast')
        node = aiida_submit(build_inputs(item, codes, spec['overrides']))
        node.base.extras.set_many({EXTRA_CAMPAIGN: f'{item.key}|{name}',
                                   'polyinf_protocol': f'faults-{name}'})
        pks.append(node.pk)
    STATE['campaigns'][name] = {'group': group, 'smiles': spec['smiles'], 'chains': pks,
                                'submitted': now(), 'loadavg': F.loadavg()}
    event(f'campaign {name}: submitted {pks}')
    return pks


def chain_outcomes(pks: list[int]) -> list[dict]:
    from aiida import orm

    out = []
    for pk in pks:
        node = orm.load_node(pk)
        out.append({'pk': pk, 'state': node.process_state.value if node.process_state else None,
                    'exit_status': node.exit_status, 'exit_message': node.exit_message,
                    'named': node.is_finished_ok or bool(node.exit_message) or node.exit_status in (None,)})
    return out


def exit_codes_of(label: str, since_pk: int) -> dict:
    from aiida import orm

    qb = orm.QueryBuilder().append(orm.ProcessNode, filters={'id': {'>': since_pk},
                                                             'attributes.process_label': label},
                                   project=['id', 'attributes.exit_status', 'attributes.process_state'])
    counts: dict = {}
    for _, status, state in qb.all():
        key = f'{state}:{status}'
        counts[key] = counts.get(key, 0) + 1
    return counts


# ----------------------------------------------------------------------------------------------------- faults
def done(fault: str) -> bool:
    """Injected by an earlier orchestrator (--resume): not again."""
    return bool(STATE['rows'].get(fault, {}).get('injected'))


def inject(base: str, deadline: float) -> None:
    from aiida import orm

    # 1. kill -9 of a PySCF driver of c1
    if not done('kill -9 PySCF driver.py'):
        inject_pyscf()
    if not done('kill -9 daemon worker'):
        inject_worker()
    if not done('unreachable computer'):  # early: the resumed QM job needs its time
        inject_unreachable(base)
    if not done('kill -9 lmp'):
        inject_lmp(deadline)
    if not done('RabbitMQ restart'):
        inject_rabbitmq()
    if not done('PostgreSQL restart'):
        inject_postgres()


def inject_pyscf():
    row('kill -9 PySCF driver.py', nodes_before=F.node_count())
    pid = F.wait_for_pid('pyscf', timeout=600)
    if pid:
        time.sleep(5)
        ok = F.kill9(pid)
        row('kill -9 PySCF driver.py', injected=ok, notes=f'pid {pid} killed at {now()}')
        event(f'kill -9 driver.py pid {pid}: {ok}')
    else:
        row('kill -9 PySCF driver.py', notes='no driver.py process appeared within 600 s')
    time.sleep(20)


def inject_worker():
    row('kill -9 daemon worker', nodes_before=F.node_count())
    workers = F.find_pids('worker')
    if workers:
        ok = F.kill9(workers[0])
        row('kill -9 daemon worker', injected=ok, notes=f'worker pid {workers[0]} of {workers} killed at {now()}')
        event(f'kill -9 worker {workers[0]} (workers {workers})')
        time.sleep(30)
        event(f'workers after kill: {F.find_pids("worker")} (circus respawns)')
    else:
        row('kill -9 daemon worker', notes='no daemon worker found')


def inject_lmp(deadline):
    # kill -9 lmp of the md campaign (when it runs) -- waits at most 15 min for LAMMPS to start
    row('kill -9 lmp', nodes_before=F.node_count())
    pid = F.wait_for_pid('lmp', timeout=min(900, max(120, deadline - time.monotonic() - 120)))
    if pid:
        time.sleep(5)
        ok = F.kill9(pid)
        row('kill -9 lmp', injected=ok, notes=f'lmp pid {pid} killed at {now()}')
        event(f'kill -9 lmp pid {pid}: {ok}')
    else:
        row('kill -9 lmp', notes='no lmp process of this profile appeared in time')


def inject_rabbitmq():
    # RabbitMQ stop / start (while something runs)
    row('RabbitMQ restart', nodes_before=F.node_count())
    t0 = time.monotonic()
    stop = F.services('stop-rabbit')
    time.sleep(15)
    start = F.services('start-rabbit', timeout=900)
    row('RabbitMQ restart', injected=start.returncode == 0,
        notes=f'rabbitmqctl stop at {now()}, down {time.monotonic() - t0:.0f} s; start rc {start.returncode}')
    event(f'RabbitMQ restarted (stop rc {stop.returncode}, start rc {start.returncode})')
    time.sleep(30)


def inject_postgres():
    # PostgreSQL restart between steps
    row('PostgreSQL restart', nodes_before=F.node_count())
    result = F.services('restart-pg')
    row('PostgreSQL restart', injected=result.returncode == 0,
        notes=f'pg_ctlcluster 15 polyinf_faults restart at {now()} rc {result.returncode}')
    event(f'PostgreSQL restarted rc {result.returncode} {result.stderr[-200:]}')
    # make sure the orchestrator's own session reconnects
    F.node_count()


def inject_unreachable(base):
    # unreachable computer: wait for the flaky CalcJob to pause, then mend and play
    from aiida import orm

    row('unreachable computer', nodes_before=STATE['rows']['unreachable computer'].get('nodes_before'))
    paused = None
    for _ in range(120):
        qb = orm.QueryBuilder().append(orm.CalcJobNode, filters={'attributes.paused': True}, project='id')
        rows = [pk for (pk,) in qb.all()]
        if rows:
            paused = rows
            break
        time.sleep(5)
    if paused:
        event(f'paused after transport retries: {paused}')
        mend_flaky(base)
        result = F.verdi(PROFILE, 'process', 'play', *map(str, paused))
        row('unreachable computer', injected=True,
            notes=f'CalcJob(s) {paused} paused after the transport retries; work directory mended, `verdi process '
                  f'play` rc {result.returncode} at {now()}')
        event(f'verdi process play {paused}: {result.stdout[-200:]} {result.stderr[-200:]}')
    else:
        mend_flaky(base)
        row('unreachable computer', notes='no paused CalcJob seen within 10 min; work directory mended anyway')
        event('no paused CalcJob seen; mended')


def check_campaign(name: str, label: str, timeout: float) -> dict:
    pks = STATE['campaigns'][name]['chains']
    done = F.wait_terminal(pks, timeout)
    outcome = chain_outcomes(pks)
    STATE['campaigns'][name][label] = {'terminated': done, 'chains': outcome, 't': now(), 'loadavg': F.loadavg()}
    event(f'campaign {name} {label}: terminated={done} ' + ', '.join(
        f'{o["pk"]}:{o["state"]}/{o["exit_status"]}' for o in outcome))
    return STATE['campaigns'][name][label]


def restart_failed(name: str, timeout: float) -> dict:
    from aiida import orm

    result = F.polyinf(PROFILE, 'restart-failed', '--protocol', f'faults-{name}', timeout=1200)
    qb = orm.QueryBuilder().append(orm.WorkflowNode, filters={
        'extras.polyinf_protocol': f'faults-{name}', 'extras': {'has_key': 'polyinf_restarted_from'}}, project='id')
    new = sorted(pk for (pk,) in qb.all())
    done = F.wait_terminal(new, timeout) if new else True
    outcome = chain_outcomes(new)
    record = {'output': (result.stdout + result.stderr)[-1500:], 'rc': result.returncode, 'relaunched': outcome,
              'terminated': done, 't': now(), 'loadavg': F.loadavg()}
    STATE['campaigns'][name]['restart_failed'] = record
    event(f'restart-failed {name}: rc {result.returncode}, relaunched ' + ', '.join(
        f'{o["pk"]}:{o["state"]}/{o["exit_status"]}' for o in outcome))
    return record


def md_equilibration(pks: list[int]) -> dict:
    from aiida import orm

    info = {}
    for pk in pks:
        node = orm.load_node(pk)
        for sub in node.called_descendants:
            if sub.process_label == 'MdEquilibrationWorkChain':
                reports = [log.message for log in orm.Log.collection.get_logs_for(sub)]
                props = sub.outputs.properties.get_dict() if 'properties' in sub.outputs else {}
                info[sub.pk] = {'state': sub.process_state.value, 'exit_status': sub.exit_status,
                                'converged': props.get('converged', props.get('check_eq', {}).get('converged')
                                                       if isinstance(props.get('check_eq'), dict) else None),
                                'reports': [r for r in reports if 'converged' in r or 'additional' in r]}
            if sub.process_label == 'LammpsCalculation':
                info.setdefault('lammps_exits', []).append(sub.exit_status)
    return info


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--base', default='/tmp/polyinf-faults')
    parser.add_argument('--timeout', type=float, default=2400, help='Seconds for the campaigns to end.')
    parser.add_argument('--only', default='c1,scf,md,unreachable')
    parser.add_argument('--resume', action='store_true', help='Reuse the campaigns of faults.json (already submitted).')
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    STATE.update({'started': now(), 'loadavg_start': F.loadavg(), 'profile': PROFILE, 'machine': '2 cores, shared'})
    names = args.only.split(',')
    if args.resume:
        previous = json.loads(OUT.read_text())
        for key in ('campaigns', 'rows', 'events', 'since_pk', 'started', 'loadavg_start'):
            STATE[key] = previous[key]
        STATE['resumed'] = now()
        F.isolated_env(args.base, PROFILE)
        from aiida import load_profile

        load_profile(PROFILE, allow_switch=True)
        since = STATE['since_pk']
        event('resumed (the first orchestrator looked for AIIDA_PATH=<base>/aiida, the daemon sets <base>/aiida/.aiida)')
        for name in names:
            if name not in STATE['campaigns']:
                submit(name, CAMPAIGNS[name])
    else:
        save()
        setup_profile(args.base)
        from aiida import orm

        since = orm.QueryBuilder().append(orm.Node, project='id').order_by({orm.Node: {'id': 'desc'}}).first()
        since = since[0] if since else 0
        STATE['since_pk'] = since
        break_flaky(args.base)
        start_daemon()
        row('unreachable computer', nodes_before=F.node_count())
        for name in names:
            submit(name, CAMPAIGNS[name])
    if not args.resume:
        row('SCF never converges', nodes_before=F.node_count(), injected=True,
            notes='qm.parameters.method.scf.max_cycle = 1, qm.max_iterations = 2')
        row('walltime (LAMMPS timer timeout)', nodes_before=F.node_count(), injected=True,
            notes='md options.max_wallclock_seconds = 40 -> timer timeout 36 s')
        row('MD never equilibrates', nodes_before=F.node_count(), injected=True,
            notes='shrunk fast MD (2x40 atoms, 2,000 sampling steps), additional.max_rounds = 0')
    inject(args.base, deadline)

    for name in names:
        check_campaign(name, 'first_pass', max(5, deadline - time.monotonic()))
    STATE['integrity_first_pass'] = F.integrity(TOP_LABELS, since)
    event(f'integrity after the campaigns: {STATE["integrity_first_pass"]}')
    STATE['md_equilibration'] = md_equilibration(STATE['campaigns'].get('md', {}).get('chains', []))
    if 'md2' in STATE['campaigns']:
        STATE['md2_equilibration'] = md_equilibration(STATE['campaigns']['md2'].get('chains', []))
    STATE['exit_codes'] = {label: exit_codes_of(label, since) for label in (
        'PyscfCalculation', 'LammpsCalculation', 'PyscfBaseWorkChain', 'LammpsBaseWorkChain', 'QmWorkChain', TOP)}
    save()
    for name in names:
        restart_failed(name, max(30, deadline - time.monotonic()))
    STATE['integrity_final'] = F.integrity(TOP_LABELS, since)
    STATE['storage_maintain_dry_run'] = F.storage_maintain_dry_run(PROFILE)
    STATE['nodes_end'] = F.node_count()
    event(f'integrity at the end: {STATE["integrity_final"]}')
    summarise()
    F.verdi(PROFILE, 'daemon', 'stop', timeout=300)


def summarise() -> None:
    """Fill survived / nodes_after per fault from the campaigns' outcomes."""
    camp = STATE['campaigns']
    integrity_ok = STATE.get('integrity_final', {}).get('ok')

    def campaign_ok(name, must_finish=True):
        c = camp.get(name)
        if not c or 'first_pass' not in c:
            return None
        first = c['first_pass']
        named = all(o['state'] == 'finished' and (o['exit_status'] == 0 or o['exit_message'])
                    for o in first['chains'])
        final = {o['pk']: o for o in first['chains']}
        for o in c.get('restart_failed', {}).get('relaunched', []):
            final[o['pk']] = o
        latest_ok = all(o['state'] == 'finished' and o['exit_status'] == 0 for o in c.get('restart_failed', {}).get(
            'relaunched', [])) if c.get('restart_failed', {}).get('relaunched') else all(
            o['exit_status'] == 0 for o in first['chains'])
        return first['terminated'] and named and (latest_ok or not must_finish)

    mapping = {
        'kill -9 PySCF driver.py': ('c1', True), 'kill -9 daemon worker': ('c1', True),
        'RabbitMQ restart': ('c1', True), 'PostgreSQL restart': ('c1', True),
        'kill -9 lmp': ('md2' if 'md2' in camp else 'md', True),
        'walltime (LAMMPS timer timeout)': ('md2' if 'md2' in camp else 'md', True),
        'MD never equilibrates': ('md', True), 'unreachable computer': ('unreachable', True),
        'SCF never converges': ('scf', False),
    }
    for fault, (name, must_finish) in mapping.items():
        if fault not in STATE['rows']:
            continue
        ok = campaign_ok(name, must_finish)
        r = STATE['rows'][fault]
        if not r.get('injected'):
            ok = None
        r['campaign'] = name
        r['nodes_after'] = STATE.get('nodes_end')
        r['survived'] = bool(ok and integrity_ok) if ok is not None else 'not_run'
    save()
    print_table()


def print_table() -> None:
    print(f'{"fault":34s} {"injected":8s} {"survived":8s} {"nodes before":>12s} {"after":>6s}  notes')
    for r in STATE['rows'].values():
        print(f'{r["fault"]:34s} {str(r["injected"]):8s} {str(r["survived"]):8s} {str(r["nodes_before"]):>12s} '
              f'{str(r["nodes_after"]):>6s}  {r["notes"]}')


if __name__ == '__main__':
    main()
