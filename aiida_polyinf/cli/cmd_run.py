"""``polyinf run``: the main job."""

import pathlib

import click
from aiida.cmdline.utils import decorators, echo

from .. import protocols
from .root import cmd_root


@cmd_root.command('run')
@click.argument('source')
@click.option(
    '--protocol', type=click.Choice(protocols.names()), default=protocols.default_protocol(), show_default=True,
    help='A protocol of aiida_polyinf/protocols/polymer.yaml (every stage at that level).',
)
@click.option(
    '--overrides', 'overrides_file', type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
    help='A YAML file of overrides of the protocol\'s inputs, e.g. `md: {trials: 3}` or `qm: {parameters: {method: '
    '{basis: 6-31g*}}}`; checked against the protocol files (an unknown key is an error naming the allowed ones).',
)
@click.option('--trials', type=int, default=None, help='Independent MD trials per polymer (default: the protocol).')
@click.option(
    '--computer', default='localhost', show_default=True,
    help='Where the jobs run: localhost, or a computer made by `polyinf setup --computer NAME` (squid, mdx-slurm, '
    'mdx, mdx-test), whose run profile sizes every stage\'s jobs.',
)
@click.option('--no-preflight', is_flag=True, help='With --computer: skip the login, code and queue checks.')
@click.option(
    '--max-active', type=click.IntRange(min=1), default=None,
    help='At most this many polymers run at once; the rest wait for a re-run of this command (or for --wait) '
    '[default: 4 on localhost, else from the run profile\'s cap on queued jobs].',
)
@click.option('--wait', is_flag=True, help='Block, with a progress bar, topping up the slots until every polymer is done.')
@click.option('--timeout', type=float, default=None, help='With --wait: give up after this many seconds.')
@decorators.with_dbenv()
def cmd_run(source, protocol, overrides_file, trials, computer, no_preflight, max_active, wait, timeout):
    """Run the pipeline for every polymer of SOURCE, a CSV file (imported first) or a group label.

    At most --max-active polymers run at once. Without --wait the free slots are filled and the command returns:
    run it again later to submit the rest (it resumes where it left off and never submits a polymer twice for the
    same protocol and seed; failed runs are relaunched only by `polyinf restart-failed`). With --wait it keeps
    topping up the slots until every polymer is done, and resumes the jobs paused because the computer could not be
    reached (as `polyinf watch` does).
    """
    from aiida import orm
    from tqdm import tqdm

    import yaml

    from ..campaign.controller import CampaignController, run_campaign, submitted_keys
    from ..campaign.intake import QmCheck, import_file, write_rejected
    from ..campaign.submit import ensure_daemon, group_polymers, pipeline_codes

    overrides = {}
    if overrides_file is not None:
        try:
            overrides = yaml.safe_load(overrides_file.read_text(encoding='utf-8')) or {}
            protocols.validate_overrides(overrides, protocol)
        except (yaml.YAMLError, UnicodeDecodeError, protocols.ProtocolError) as error:
            echo.echo_critical(f'{overrides_file}: {error}')
    if trials:
        overrides = protocols.merge(overrides, {'md': {'trials': trials}})
    if computer != 'localhost':
        from ..computers import ComputerConfigError
        from ..computers.configure import run_profile

        try:
            profile = run_profile(computer)
        except ComputerConfigError as error:
            echo.echo_critical(str(error))
        overrides = protocols.merge(profile.overrides(), overrides)  # the user's file wins over the run profile
        max_active = max_active or profile.max_active_chains
    max_active = max_active or 4
    qm_check = QmCheck(protocol, overrides or None)
    try:
        qm_check.parameters  # the basis names resolve, or nothing is imported nor submitted
    except protocols.ProtocolError as error:
        echo.echo_critical(str(error))

    path = pathlib.Path(source)
    if path.is_file():
        report = import_file(path, qm=qm_check)
        write_rejected(report.rejected, pathlib.Path('rejected.csv'))
        for item in report.rejected:
            click.echo(f'rejected: {item.line()}', err=True)
        echo.echo_report(f'import: {report.summary()}')
        group_label = report.group
    else:
        group_label = source
    polymers = group_polymers(group_label)
    if not polymers:
        echo.echo_critical(f'no polymers in group `{group_label}` (and no file `{source}`)')
    computable = []
    for polymer in polymers:  # a group may hold polymers imported for another protocol
        problem = qm_check.problem(polymer.repeat_unit.elements)
        if problem:
            echo.echo_warning(f'left out: pk {polymer.pk} {polymer.smiles}: basis: {problem}')
        else:
            computable.append(polymer)
    if not computable:
        echo.echo_critical(f'no polymer of group `{group_label}` can be computed by the QM protocol {protocol}')
    polymers = computable

    codes = pipeline_codes(computer)
    for label, code in codes.items():
        if code is None and computer == 'localhost':
            echo.echo_warning(f'no code {label}@localhost: its stages are skipped (run `polyinf setup`)')
        elif code is None:
            echo.echo_critical(f'no code {label}@{computer}: run `polyinf setup --computer {computer} --config FILE`')
    if computer != 'localhost' and not no_preflight:
        from ..computers.doctor import preflight

        checks = preflight(computer)
        for check in checks:
            echo.echo_report(check.line())
        if not all(check.ok for check in checks):
            echo.echo_critical(f'{computer} is not ready: nothing was submitted (see `polyinf doctor --computer '
                               f'{computer}`)')

    ensure_daemon()

    controller = CampaignController.for_polymers(
        group_label, polymers, protocol, codes, max_active, overrides or None
    )
    with tqdm(total=len(polymers), desc='polymers', unit='polymer', disable=not wait) as progress:
        from ..computers.watch import resume_once

        outcome = run_campaign(controller, wait=wait, progress_bar=progress, timeout=timeout,
                               on_round=lambda: resume_once(log=echo.echo_report))
    state = outcome.progress
    echo.echo_report(
        f'{len(polymers)} polymer(s) in `{group_label}`, protocol {protocol}: {outcome.new} submitted, '
        f'{outcome.already} already submitted, {state.unsubmitted} not yet submitted (at most {max_active} active)'
    )
    if state.unsubmitted:
        echo.echo_report(
            f'{state.active} running: run `polyinf run {group_label} --protocol {protocol} --computer {computer}` again later (or add '
            '--wait) to submit the rest'
        )
    if not wait:
        return
    nodes = [orm.load_node(pk) for pk, _ in submitted_keys(controller.keys).values()]
    failed = [node for node in nodes if not node.is_finished_ok]
    echo.echo_report(f'{len(nodes) - len(failed)} finished ok, {len(failed)} failed')
    for node in failed:
        echo.echo_warning(f'pk {node.pk}: {node.process_state.value} exit {node.exit_status} {node.exit_message or ""}')
    if failed:
        echo.echo_report(f'relaunch them with `polyinf restart-failed --group {group_label}`')
