"""CH3-terminated oligomers built from a repeat unit.

The repeat unit's first connection point in canonical atom order is its *head*, the second its *tail*. An n-mer joins
the tail of unit k to the head of unit k+1 and caps the two free ends with a carbon: with single bonds to the
connection points that is a CH3 group, so n=1 of polystyrene (``*CC(*)c1ccccc1``) is 2-phenylbutane. Joining goes
through RDKit's ``molzip``, which keeps atom stereochemistry.

Every atom of the result carries a *role*: the index ``k`` of the repeat unit it belongs to, or ``CAP_HEAD`` /
``CAP_TAIL`` for the cap carbons and their hydrogens. Later stages use the roles to map charges back onto the
repeat unit.
"""

from __future__ import annotations

import dataclasses

from rdkit import Chem

from .smiles import RepeatUnit, parse_repeat_unit

CAP_HEAD = -1
CAP_TAIL = -2
_ROLE = 'polyinf_role'


@dataclasses.dataclass(frozen=True)
class Oligomer:
    """A capped oligomer with explicit hydrogens; atom order is the order of ``mol``."""

    repeat_unit: RepeatUnit
    n: int
    mol: Chem.Mol  # with explicit hydrogens
    roles: tuple[int, ...]

    @property
    def smiles(self) -> str:
        """Canonical SMILES of the capped oligomer (hydrogens implicit)."""
        return Chem.MolToSmiles(Chem.RemoveHs(self.mol))

    @property
    def smiles_mapped(self) -> str:
        """SMILES with explicit hydrogens whose atom-map numbers are the 1-based atom indices.

        ``mol_from_mapped_smiles`` turns it back into a molecule in exactly this atom order.
        """
        mol = Chem.Mol(self.mol)
        for atom in mol.GetAtoms():
            atom.SetAtomMapNum(atom.GetIdx() + 1)
        return Chem.MolToSmiles(mol, allHsExplicit=True)

    @property
    def symbols(self) -> list[str]:
        return [atom.GetSymbol() for atom in self.mol.GetAtoms()]


def mol_from_mapped_smiles(smiles_mapped: str) -> Chem.Mol:
    """Rebuild the molecule of ``Oligomer.smiles_mapped`` with its atoms in map-number order, map numbers cleared."""
    params = Chem.SmilesParserParams()
    params.removeHs = False
    mol = Chem.MolFromSmiles(smiles_mapped, params)
    order = sorted(range(mol.GetNumAtoms()), key=lambda i: mol.GetAtomWithIdx(i).GetAtomMapNum())
    mol = Chem.RenumberAtoms(mol, order)
    for atom in mol.GetAtoms():
        atom.SetAtomMapNum(0)
    return mol


def _labelled_unit(unit: Chem.Mol, k: int, head_label: int, tail_label: int) -> Chem.Mol:
    mol = Chem.RWMol(unit)
    dummies = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() == 0]
    mol.GetAtomWithIdx(dummies[0]).SetAtomMapNum(head_label)
    mol.GetAtomWithIdx(dummies[1]).SetAtomMapNum(tail_label)
    for atom in mol.GetAtoms():
        atom.SetIntProp(_ROLE, k)
    return mol.GetMol()


def _cap(label: int, role: int) -> Chem.Mol:
    cap = Chem.MolFromSmiles(f'[*:{label}]C')
    for atom in cap.GetAtoms():
        atom.SetIntProp(_ROLE, role)
    return cap


def build_oligomer(repeat_unit: RepeatUnit | str, n: int = 1) -> Oligomer:
    """Build the CH3-terminated n-mer of a repeat unit (a ``RepeatUnit`` or a repeat-unit SMILES)."""
    if isinstance(repeat_unit, str):
        repeat_unit = parse_repeat_unit(repeat_unit)
    if n < 1:
        raise ValueError(f'n must be at least 1, got {n}')
    unit = Chem.MolFromSmiles(repeat_unit.smiles)

    # Labels: junction k (between unit k-1 and unit k) is k+1 for k in 0..n, junction 0 is the head cap, n the tail.
    pieces = [_cap(1, CAP_HEAD)]
    pieces += [_labelled_unit(unit, k, k + 1, k + 2) for k in range(n)]
    pieces.append(_cap(n + 1, CAP_TAIL))
    combined = pieces[0]
    for piece in pieces[1:]:
        combined = Chem.CombineMols(combined, piece)
    zipped = Chem.molzip(combined)
    Chem.SanitizeMol(zipped)
    # Canonical atom order for the heavy atoms, so the same polymer always gives the same structure.
    ranks = list(Chem.CanonicalRankAtoms(zipped, breakTies=True))
    zipped = Chem.RenumberAtoms(zipped, sorted(range(len(ranks)), key=ranks.__getitem__))
    mol = Chem.AddHs(zipped)
    roles = []
    for atom in mol.GetAtoms():
        owner = atom if atom.GetAtomicNum() > 1 or not atom.GetNeighbors() else atom.GetNeighbors()[0]
        roles.append(owner.GetIntProp(_ROLE))
    return Oligomer(repeat_unit=repeat_unit, n=n, mol=mol, roles=tuple(roles))
