"""``PolymerData``: the node the whole pipeline hangs from, one per canonical repeat-unit SMILES."""

from __future__ import annotations

from aiida.orm import Data

from ..polymers import RepeatUnit, build_oligomer, parse_repeat_unit


class PolymerData(Data):
    """A polymer, identified by the isomeric canonical SMILES of its repeat unit.

    Attributes: ``smiles`` (canonical, the identity), ``smiles_input`` (as first given), ``capped_smiles`` (the
    CH3-capped monomer used for QM), ``formula`` and ``n_heavy_atoms`` of the repeat unit. Source ids and source
    metadata live in the extras (``sources``), since one polymer can come from several sources.
    """

    def __init__(self, smiles: str | None = None, repeat_unit: RepeatUnit | None = None, **kwargs):
        super().__init__(**kwargs)
        if repeat_unit is None and smiles is not None:
            repeat_unit = parse_repeat_unit(smiles)
        if repeat_unit is not None:
            self.base.attributes.set_many(
                {
                    'smiles': repeat_unit.smiles,
                    'smiles_input': repeat_unit.smiles_input,
                    'capped_smiles': build_oligomer(repeat_unit, 1).smiles,
                    'formula': repeat_unit.formula,
                    'n_heavy_atoms': repeat_unit.n_heavy_atoms,
                }
            )

    @property
    def smiles(self) -> str:
        return self.base.attributes.get('smiles')

    @property
    def smiles_input(self) -> str:
        return self.base.attributes.get('smiles_input')

    @property
    def capped_smiles(self) -> str:
        return self.base.attributes.get('capped_smiles')

    @property
    def formula(self) -> str:
        return self.base.attributes.get('formula')

    @property
    def repeat_unit(self) -> RepeatUnit:
        return parse_repeat_unit(self.smiles)

    @property
    def sources(self) -> list[dict]:
        return self.base.extras.get('sources', [])

    def add_source(self, source: str, identifier: str, metadata: dict | None = None) -> bool:
        """Record that ``source`` lists this polymer as ``identifier``; return False if it was already recorded."""
        sources = self.sources
        if any(s['source'] == source and s['id'] == identifier for s in sources):
            return False
        sources.append({'source': source, 'id': identifier, 'metadata': metadata or {}})
        self.base.extras.set('sources', sources)
        self.base.extras.set('source_ids', sorted({f"{s['source']}:{s['id']}" for s in sources}))
        return True

    def __str__(self) -> str:
        return f'{super().__str__()} {self.smiles}'
