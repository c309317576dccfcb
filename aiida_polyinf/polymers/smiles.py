"""Validation and canonicalisation of PoLyInfo-style repeat-unit SMILES.

A repeat unit carries exactly two connection points written ``*`` or ``[*]`` (labelled forms such as ``[1*]`` are
accepted, the label is dropped). A polymer is identified by the isomeric canonical SMILES of its repeat unit, with
isotopes of real atoms kept. Identity does *not* cover a shift of where the repeat unit is cut: ``*CCO*`` and
``*COC*`` describe the same chain (polyethylene oxide) but are two different polymers here.
"""

from __future__ import annotations

import dataclasses

from rdkit import Chem, RDLogger

#: Elements covered by GAFF2, the force field of the MD stage.
ALLOWED_ELEMENTS = ('H', 'C', 'N', 'O', 'F', 'P', 'S', 'Cl', 'Br', 'I')

#: Default limit on heavy atoms in one repeat unit (connection points not counted).
MAX_HEAVY_ATOMS = 100


class IntakeError(ValueError):
    """A repeat unit was rejected. ``reason`` is a short machine-readable code, the message says why in words.

    The reasons of :func:`parse_repeat_unit` are about the repeat unit itself; a batch import adds ``missing_id``,
    ``duplicate`` and, when it imports for a campaign, ``basis`` (an element the campaign's QM protocol has no basis
    for: :func:`aiida_polyinf.campaign.intake.check_row`).
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclasses.dataclass(frozen=True)
class RepeatUnit:
    """A validated repeat unit."""

    smiles_input: str
    smiles: str  # isomeric canonical SMILES, connection points written as ``*``
    n_heavy_atoms: int
    formula: str

    @property
    def mol(self) -> Chem.Mol:
        return Chem.MolFromSmiles(self.smiles)

    @property
    def elements(self) -> tuple[str, ...]:
        """The element symbols of the repeat unit, hydrogens included, connection points not (sorted)."""
        mol = self.mol
        symbols = {atom.GetSymbol() for atom in mol.GetAtoms() if atom.GetAtomicNum() > 0}
        if any(atom.GetTotalNumHs() for atom in mol.GetAtoms()):
            symbols.add('H')
        return tuple(sorted(symbols))


def _parse(smiles: str) -> Chem.Mol:
    RDLogger.DisableLog('rdApp.*')
    try:
        mol = Chem.MolFromSmiles(smiles)
    finally:
        RDLogger.EnableLog('rdApp.*')
    if mol is None:
        raise IntakeError('unparsable_smiles', f'unparsable SMILES {smiles!r}')
    return mol


def parse_repeat_unit(smiles: str, max_heavy_atoms: int = MAX_HEAVY_ATOMS) -> RepeatUnit:
    """Validate a repeat-unit SMILES and return its canonical form.

    :raises IntakeError: with one of the reasons ``empty_smiles``, ``unparsable_smiles``, ``connection_points``,
        ``charged``, ``radical``, ``element``, ``too_large``.
    """
    if smiles is None or not str(smiles).strip():
        raise IntakeError('empty_smiles', 'empty SMILES')
    smiles = str(smiles).strip()
    mol = _parse(smiles)

    dummies = [atom for atom in mol.GetAtoms() if atom.GetAtomicNum() == 0]
    if len(dummies) != 2:
        raise IntakeError('connection_points', f"expected exactly 2 '*' connection points, found {len(dummies)}")
    for atom in dummies:
        if atom.GetDegree() != 1:
            raise IntakeError(
                'connection_points', f"a '*' connection point must have exactly one neighbour, has {atom.GetDegree()}"
            )
        if atom.GetNeighbors()[0].GetAtomicNum() == 0:
            raise IntakeError('connection_points', "the two '*' connection points are bonded to each other")

    bad = sorted({a.GetSymbol() for a in mol.GetAtoms() if a.GetAtomicNum() > 0} - set(ALLOWED_ELEMENTS))
    if bad:
        raise IntakeError(
            'element',
            f'element {", ".join(bad)} not covered by GAFF2 (allowed: {" ".join(ALLOWED_ELEMENTS)})',
        )

    charge = Chem.GetFormalCharge(mol)
    if charge != 0:
        raise IntakeError('charged', f'net formal charge {charge:+d}, only neutral repeat units are accepted')
    radicals = sum(atom.GetNumRadicalElectrons() for atom in mol.GetAtoms())
    if radicals:
        raise IntakeError('radical', f'{radicals} radical electron(s), only closed-shell repeat units are accepted')

    n_heavy = sum(1 for atom in mol.GetAtoms() if atom.GetAtomicNum() > 1)
    if n_heavy > max_heavy_atoms:
        raise IntakeError('too_large', f'repeat unit has {n_heavy} heavy atoms, the limit is {max_heavy_atoms}')

    for atom in dummies:  # drop labels of connection points: [1*] and * are the same point
        atom.SetIsotope(0)
        atom.SetAtomMapNum(0)
    for atom in mol.GetAtoms():
        atom.SetAtomMapNum(0)

    canonical = Chem.MolToSmiles(mol, isomericSmiles=True, canonical=True)
    return RepeatUnit(smiles_input=smiles, smiles=canonical, n_heavy_atoms=n_heavy, formula=repeat_unit_formula(mol))


def repeat_unit_formula(mol: Chem.Mol) -> str:
    """Hill formula of the repeat unit, connection points left out (polystyrene: C8H8)."""
    counts: dict[str, int] = {}
    for atom in Chem.AddHs(mol).GetAtoms():
        if atom.GetAtomicNum() > 0:
            counts[atom.GetSymbol()] = counts.get(atom.GetSymbol(), 0) + 1
    order = ['C', 'H'] + sorted(k for k in counts if k not in ('C', 'H')) if 'C' in counts else sorted(counts)
    return ''.join(f'{el}{counts[el] if counts[el] > 1 else ""}' for el in order if el in counts)
