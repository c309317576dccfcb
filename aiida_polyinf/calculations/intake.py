"""Calcfunctions of the intake stage: they record the provenance of polymer registration and oligomer building."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction
from rdkit import Chem

from ..data.polymer import PolymerData
from ..polymers import build_oligomer as build_oligomer_mol
from ..polymers import lowest_conformer


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
            'bonds': [[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] for b in oligomer.mol.GetBonds()],
            'equivalence': [int(r) for r in Chem.CanonicalRankAtoms(oligomer.mol, breakTies=False)],
        }
    )
    return structure


@calcfunction
def build_oligomer(
    polymer: PolymerData, n: orm.Int, seed: orm.Int, num_conformers: orm.Int | None = None
) -> orm.StructureData:
    """The CH3-capped n-mer of ``polymer`` as a 3D structure (ETKDG + MMFF, deterministic for a given ``seed``).

    With ``num_conformers`` > 1, that many conformers are embedded and relaxed and the lowest in MMFF energy is kept.

    Attributes of the result: ``smiles`` of the oligomer, ``smiles_mapped`` (map number = 1-based site index, so the
    RDKit molecule can be rebuilt in site order), ``atom_roles`` (repeat-unit index per site; -1 head cap, -2 tail
    cap), ``bonds`` (site index pairs), ``equivalence`` (symmetry class per site), ``repeat_unit_smiles``,
    ``n_repeat_units``, ``conformer_seed`` and ``conformer_energy_kcal_mol``.
    """
    oligomer = build_oligomer_mol(polymer.repeat_unit, n.value)
    count = num_conformers.value if num_conformers is not None else 1
    positions, energy = lowest_conformer(oligomer.mol, num_conformers=count, seed=seed.value)
    structure = oligomer_structure(oligomer, positions)
    structure.base.attributes.set_many(
        {'conformer_seed': seed.value, 'num_conformers': count, 'conformer_energy_kcal_mol': energy}
    )
    return structure
