"""Wall time of each stage of every PolymerPropertiesWorkChain of a group, read from the provenance graph.

    .venv/bin/python benchmarks/stage_times.py [--profile polyinf] [--group polyinf/demo] [--out benchmarks/stage_times.json]

A stage's wall time is its sub-process's last modification minus its creation (``mtime - ctime``): the time from
submission to the end, queueing in the daemon included. The stages and their call-link labels come from the stage
registry (``ff`` is the ``ff_descriptors`` calcfunction; in chains made before the registry its label is ``CALL``). The LAMMPS and
PySCF jobs' own CPU time is in their ``output_parameters``; this script measures what a user waits for. Run it after
``make demo`` (or any campaign) to get the per-stage table of the demo polymers; it also records the machine's load
average, because on a shared 2-core machine the wall times scale with it.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib

def stage_times(group: str) -> list[dict]:
    from aiida import orm
    from aiida.common.links import LinkType

    from aiida_polyinf.campaign import group_polymers
    from aiida_polyinf.common import stages

    by_label, by_process = stages.by_call_label(), stages.process_stages()
    rows = []
    for polymer in group_polymers(group):
        query = orm.QueryBuilder()
        query.append(orm.Node, filters={'id': polymer.pk}, tag='polymer')
        query.append(orm.WorkChainNode, with_incoming='polymer', filters={'attributes.process_label': 'PolymerPropertiesWorkChain'},
                     project='*', tag='chain')
        for (chain,) in query.all():
            row = {'polymer': polymer.smiles, 'pk': chain.pk, 'state': chain.process_state.value,
                   'exit_status': chain.exit_status, 'total_s': (chain.mtime - chain.ctime).total_seconds(), 'stages': {}}
            for link in chain.base.links.get_outgoing(link_type=(LinkType.CALL_WORK, LinkType.CALL_CALC)).all():
                node = link.node
                label = link.link_label
                name = by_label.get(label) or by_process.get(getattr(node, 'process_label', None))
                if name is not None:
                    row['stages'][name] = {
                        'wall_s': round((node.mtime - node.ctime).total_seconds(), 1),
                        'exit_status': node.exit_status,
                    }
            rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--profile', default='polyinf')
    parser.add_argument('--group', default='polyinf/demo')
    parser.add_argument('--out', default=str(pathlib.Path(__file__).with_name('stage_times.json')))
    args = parser.parse_args()
    from aiida import load_profile

    load_profile(args.profile)
    rows = stage_times(args.group)
    from aiida_polyinf.common.stages import NAMES as stages

    print(f'{"polymer":24s} ' + ' '.join(f'{s:>8s}' for s in stages) + f' {"total":>8s}  exit')
    for row in rows:
        cells = [f'{row["stages"][s]["wall_s"]:8.0f}' if s in row['stages'] else f'{"-":>8s}' for s in stages]
        print(f'{row["polymer"][:24]:24s} ' + ' '.join(cells) + f' {row["total_s"]:8.0f}  {row["exit_status"]}')
    result = {'group': args.group, 'profile': args.profile, 'load_average': os.getloadavg(), 'cpus': os.cpu_count(),
              'unit': 's (mtime - ctime of each stage process)', 'chains': rows}
    pathlib.Path(args.out).write_text(json.dumps(result, indent=1))
    print(f'written {args.out}')


if __name__ == '__main__':
    main()
