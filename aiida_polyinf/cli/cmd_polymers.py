"""``polyinf polymers import|list``."""

import pathlib

import click
from aiida.cmdline.utils import decorators, echo

from .root import cmd_root


@cmd_root.group('polymers')
def cmd_polymers():
    """Import and list polymers."""


@cmd_polymers.command('import')
@click.argument('file', type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.option('--group', 'group_label', help='Group label; default `polyinf/<file stem>`.')
@click.option('--max-heavy-atoms', default=100, show_default=True, help='Size limit of one repeat unit.')
@click.option(
    '--rejected',
    'rejected_path',
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    default=pathlib.Path('rejected.csv'),
    show_default=True,
    help='Where to write the rejected rows with their reasons.',
)
@decorators.with_dbenv()
def cmd_import(file, group_label, max_heavy_atoms, rejected_path):
    """Import a CSV of polymers (columns `id,smiles`, others kept as metadata) into a group."""
    from ..campaign.intake import import_file, write_rejected

    def on_row(number, status, item):
        if status == 'rejected':
            click.echo(f'rejected: {item.line()}', err=True)
        elif status == 'existing':
            click.echo(f'existing: row {number}: {item.smiles} (pk {item.pk})')

    try:
        report = import_file(file, group_label, max_heavy_atoms=max_heavy_atoms, on_row=on_row)
    except ValueError as exception:
        echo.echo_critical(str(exception))
    write_rejected(report.rejected, rejected_path)
    echo.echo_success(report.summary())
    if report.rejected:
        echo.echo_report(f'{len(report.rejected)} rejected row(s) written to {rejected_path}')


@cmd_polymers.command('list')
@click.option('--group', 'group_label', help='Only the polymers of this group.')
@decorators.with_dbenv()
def cmd_list(group_label):
    """Print a table of the stored polymers."""
    from aiida import orm
    from tabulate import tabulate

    from ..data.polymer import PolymerData

    query = orm.QueryBuilder()
    if group_label:
        query.append(orm.Group, filters={'label': group_label}, tag='group')
        query.append(PolymerData, with_group='group', tag='polymer')
    else:
        query.append(PolymerData, tag='polymer')
    query.add_projection('polymer', ['id', 'attributes.smiles', 'attributes.capped_smiles', 'attributes.formula',
                                     'extras.source_ids'])
    query.order_by({'polymer': {'id': 'asc'}})
    rows = [[pk, ', '.join(ids or []), smiles, capped, formula] for pk, smiles, capped, formula, ids in query.all()]
    click.echo(tabulate(rows, headers=['pk', 'source ids', 'repeat unit', 'capped monomer', 'formula']))
    click.echo(f'\n{len(rows)} polymer(s)')
