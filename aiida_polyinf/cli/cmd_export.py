"""``polyinf export``, ``polyinf import-dataset`` and ``polyinf show``."""

import pathlib
import time

import click
from aiida.cmdline.utils import decorators, echo

from ..common.stages import NAMES
from .root import cmd_root


def _split(value):
    if not value:
        return None
    return [item for part in value for item in part.split(',') if item]


@cmd_root.command('export')
@click.option('--group', 'group_label', required=True, help='Group of polymers to export.')
@click.option('--out', 'out', required=True, type=click.Path(file_okay=False, path_type=pathlib.Path))
@click.option('--format', 'formats', default='csv', show_default=True, help='Comma-separated: csv, parquet.')
@click.option('--trials', is_flag=True, help='One row per polymer and trial instead of the aggregates.')
@click.option('--archive', is_flag=True, help='Also write an AiiDA archive of the polymers with full provenance.')
@click.option('--protocol', multiple=True, help='Only values of this protocol (repeatable, or comma-separated).')
@click.option('--property', 'properties', multiple=True, help='Only these properties (bare names, e.g. density).')
@click.option('--stage', multiple=True, help=f'Only these stages ({", ".join(NAMES[1:])}).')
@click.option('--version', 'versions', multiple=True, help='Only values made by these package versions.')
@click.option('--code', 'codes', multiple=True, help='Only values whose creator ran this code (label@computer).')
@click.option('--exit-status', 'exit_status', multiple=True, type=int, help='Only polymers with a process that '
              'ended with this exit status.')
@click.option('--descriptor-set', 'descriptor_sets', multiple=True, help='Only these descriptor sets.')
@click.option('--polymer', 'identifier', help='Select: the polymer with this source id or repeat-unit SMILES (any writing).')
@click.option('--smarts', help='Select: repeat units containing this SMARTS pattern.')
@click.option('--similar-to', help='Select: repeat units similar to this SMILES (Tanimoto, Morgan r=2, 2048 bits).')
@click.option('--min-similarity', type=float, default=0.5, show_default=True, help='With --similar-to.')
@click.option('--range', 'ranges', multiple=True, metavar='NAME:LOW:HIGH',
              help='Select: a value within bounds, in its units (a bound may be empty), e.g. density:1.1: (repeatable).')
@click.option('--stage-state', 'stage_states', multiple=True, metavar='STAGE:STATE',
              help='Select: the state of a stage, done|failed|missing, e.g. md:done (repeatable).')
@decorators.with_dbenv()
def cmd_export(group_label, out, formats, trials, archive, protocol, properties, stage, versions, codes, exit_status,
               descriptor_sets, identifier, smarts, similar_to, min_similarity, ranges, stage_states):
    """Write the dataset of a group (dataset.csv/.parquet + manifest.json), deterministically.

    The selection options narrow the rows (the same query as the web API's search and download: the same selection
    gives the same bytes).
    """
    from ..export.dataset import export_dataset
    from ..export.select import Selection, SelectionError, parse_range

    start = time.perf_counter()
    try:
        states = {}
        for item in stage_states:
            name, _, state = item.partition(':')
            if not state:
                raise SelectionError('stage-state', f'{item!r} is not STAGE:STATE')
            states[name] = state
        selection = Selection(identifier=identifier, smarts=smarts, similar_to=similar_to,
                              min_similarity=min_similarity, ranges=dict(parse_range(r) for r in ranges), stages=states)
        manifest = export_dataset(
            group_label,
            out,
            selection=selection,
            formats=_split([formats]),
            trials=trials,
            archive=archive,
            protocol=_split(protocol),
            properties=_split(properties),
            stage=_split(stage),
            version=_split(versions),
            code=_split(codes),
            exit_status=list(exit_status) or None,
            descriptor_set=_split(descriptor_sets),
        )
    except ValueError as exception:
        echo.echo_critical(str(exception))
    for name, info in manifest['files'].items():
        echo.echo(f'{out / name}  sha256 {info["sha256"]}')
    if archive:
        echo.echo(f'{out / manifest["archive"]["file"]}')
    echo.echo_success(
        f'{manifest["rows"]} row(s), {len(manifest["columns"])} column(s) -> {out} in {time.perf_counter() - start:.1f} s'
    )


@cmd_root.command('import-dataset')
@click.argument('source', type=click.Choice(['radonpy']))
@click.argument('file', required=False, type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.option('--group', 'group_label', help='Group label; default radonpy/PI1070.')
@click.option('--limit', type=int, help='Only the first N rows.')
@click.option(
    '--rejected',
    'rejected_path',
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    help='Write the rejected rows with their reasons to this CSV.',
)
@decorators.with_dbenv()
def cmd_import_dataset(source, file, group_label, limit, rejected_path):
    """Import an external dataset (RadonPy's PI1070 table) with its source recorded.

    Without FILE, the copy of PI1070 shipped inside the package (aiida_polyinf/datasets/radonpy, BSD-3-Clause).
    """
    from ..datasets import PI1070
    from ..export.radonpy import import_radonpy
    from ..campaign.intake import write_rejected

    file = PI1070 if file is None else file

    def on_rejected(item):
        click.echo(f'rejected: {item.line()}', err=True)

    try:
        report = import_radonpy(file, group_label, limit=limit, on_rejected=on_rejected)
    except ValueError as exception:
        echo.echo_critical(str(exception))
    if rejected_path is not None:
        write_rejected(report.rejected, rejected_path)
    echo.echo(f'table sha256 {report.sha256}')
    echo.echo_success(report.summary())


@cmd_root.command('show')
@click.argument('polymer', required=False)
@click.option('--smarts', help='List the stored polymers whose repeat unit contains this SMARTS pattern.')
@decorators.with_dbenv()
def cmd_show(polymer, smarts):
    """Show a polymer (pk, uuid, SMILES in any writing, or source id such as PI1070:PI1 or PI1)."""
    from ..export.show import NotFound, describe, resolve, search_smarts

    if (polymer is None) == (smarts is None):
        echo.echo_critical('give either POLYMER or --smarts PATTERN')
    try:
        if smarts is not None:
            found = search_smarts(smarts)
            for pk, smiles, ids in found:
                echo.echo(f'{pk:>8}  {smiles:<50} {", ".join(ids)}')
            echo.echo(f'\n{len(found)} polymer(s) match {smarts}')
            return
        pks = resolve(polymer)
    except NotFound as exception:
        echo.echo_critical(str(exception))
    for index, pk in enumerate(pks):
        if index:
            echo.echo('')
        echo.echo(describe(pk))
