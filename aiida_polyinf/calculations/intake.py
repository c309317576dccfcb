"""Calcfunctions of the intake stage: they record the provenance of polymer registration and oligomer building."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from ..data.polymer import PolymerData
from ..polymers import build_oligomer as build_oligomer_mol
from ..polymers import embed_conformer


@calcfunction
def register_polymer(smiles: orm.Str) -> PolymerData:
    """Store a validated repeat-unit SMILES as a ``PolymerData`` node (validate before calling: it raises otherwise)."""
    return PolymerData(smiles=smiles.value)


def oligomer_structure(oligomer, positions) -> orm.StructureData:
    """A StructureData of the oligomer's atoms, in the RDKit atom order, with the mapping kept in its attributes."""
    extent = positions.max(axis=0) - positions.min(axis=0)
    box = float(max(extent) + 20.0)
    structure = orm.StructureData(cell=[[box, 0, 0], [0, box, 0], [0, 0, box]])
    structure.pbc = (False, False, False)
    centred = positions - positions.mean(axis=0) + box / 2
    for symbol, position in zip(oligomer.symbols, centred):
        structure.append_atom(position=tuple(float(x) for x in position), symbols=symbol)
    structure.base.attributes.set_many(
        {
            'smiles': oligomer.smiles,
            'smiles_mapped': oligomer.smiles_mapped,
            'repeat_unit_smiles': oligomer.repeat_unit.smiles,
            'n_repeat_units': oligomer.n,
            'atom_roles': list(oligomer.roles),
        }
    )
    return structure


@calcfunction
def build_oligomer(polymer: PolymerData, n: orm.Int, seed: orm.Int) -> orm.StructureData:
    """The CH3-capped n-mer of ``polymer`` as a 3D structure (ETKDG + MMFF, deterministic for a given ``seed``).

    Attributes of the result: ``smiles`` of the oligomer, ``smiles_mapped`` (map number = 1-based site index, so the
    RDKit molecule can be rebuilt in site order), ``atom_roles`` (repeat-unit index per site; -1 head cap, -2 tail
    cap), ``repeat_unit_smiles`` and ``n_repeat_units``.
    """
    oligomer = build_oligomer_mol(polymer.repeat_unit, n.value)
    positions = embed_conformer(oligomer.mol, seed=seed.value)
    structure = oligomer_structure(oligomer, positions)
    structure.base.attributes.set('conformer_seed', seed.value)
    return structure
