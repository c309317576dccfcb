"""A campaign: one submission per polymer of a group, through the daemon, never twice for the same inputs.

A polymer's place in a campaign is a :class:`CampaignItem`: the polymer, the protocol and the conformer seed, derived
once (:func:`aiida_polyinf.common.seeds.derive_seed`); the campaign key and the builder both come from it.
"""

from __future__ import annotations

from aiida import orm

import dataclasses

from ..common.seeds import derive_seed
from ..data.polymer import PolymerData

EXTRA_CAMPAIGN = 'polyinf_campaign'


@dataclasses.dataclass(frozen=True)
class CampaignItem:
    """One polymer of a campaign under one protocol, with its conformer seed."""

    polymer: PolymerData
    protocol: str
    seed: int

    @classmethod
    def of(cls, polymer: PolymerData, protocol: str) -> 'CampaignItem':
        return cls(polymer, protocol, derive_seed(polymer.smiles, protocol, 0, 'conformer'))

    @property
    def key(self) -> str:
        return campaign_key(self.polymer, self.protocol, self.seed)


def group_polymers(group_label: str) -> list[PolymerData]:
    query = orm.QueryBuilder()
    query.append(orm.Group, filters={'label': group_label}, tag='group')
    query.append(PolymerData, with_group='group', project='*', tag='polymer')
    query.order_by({'polymer': {'id': 'asc'}})
    return [row[0] for row in query.all()]


def campaign_key(polymer: PolymerData, protocol: str, seed: int) -> str:
    return f'{polymer.uuid}|{protocol}|{seed}'


def ensure_daemon(number_workers: int = 1, echo=print) -> None:
    """Start the profile's daemon unless it runs; ``verdi`` is looked up beside this Python first."""
    import os
    import pathlib
    import sys

    from aiida.engine.daemon import client as daemon_module

    client = daemon_module.get_daemon_client()
    if client.is_daemon_running:
        return
    bindir = pathlib.Path(sys.executable).parent
    if str(bindir) not in os.environ.get('PATH', '').split(os.pathsep):
        os.environ['PATH'] = str(bindir) + os.pathsep + os.environ.get('PATH', '')
    if daemon_module.VERDI_BIN is None and (bindir / 'verdi').exists():
        daemon_module.VERDI_BIN = str(bindir / 'verdi')  # found at import time only, from the PATH of that moment
    echo(f'starting the daemon of profile {client.profile.name} with {number_workers} worker(s)')
    client.start_daemon(number_workers=number_workers)


def pipeline_codes(computer: str = 'localhost') -> dict:
    """The codes of the pipeline on ``computer``, as `polyinf setup` names them (missing ones are None)."""
    from aiida.common.exceptions import NotExistent

    codes = {}
    for label in ('pyscf', 'lmp'):
        try:
            codes[label] = orm.load_code(f'{label}@{computer}')
        except NotExistent:
            codes[label] = None
    return codes


def build_inputs(item: CampaignItem, codes: dict, overrides: dict | None = None):
    """The builder of a campaign item's ``PolymerPropertiesWorkChain``."""
    from ..workchains.polymer import PolymerPropertiesWorkChain

    return PolymerPropertiesWorkChain.get_builder_from_protocol(
        codes, item.polymer, item.protocol, overrides, seed=item.seed
    )
