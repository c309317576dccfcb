"""Chemical search over repeat units (pure RDKit, no AiiDA): substructure (SMARTS) and similarity (Tanimoto).

Both work on the canonical repeat-unit SMILES that identify polymers (``parse_repeat_unit``), with the two ``*``
kept as dummy atoms, so a pattern may ask for a chain end (``[#0]``) and similarity counts the environments at the
connection points as "bonded to the next unit".
"""

from __future__ import annotations

import functools

import numpy as np

#: Morgan fingerprint of the similarity search: radius 2, 2048 bits (the ML benchmarks' ECFP).
RADIUS, BITS = 2, 2048


class SearchError(ValueError):
    """A query that cannot be searched: unparsable SMARTS or SMILES. ``reason`` is a short code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def smarts_pattern(pattern: str):
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog('rdApp.*')
    if not pattern or not pattern.strip():
        raise SearchError('smarts', 'empty SMARTS pattern')
    mol = Chem.MolFromSmarts(pattern.strip())
    if mol is None:
        raise SearchError('smarts', f'unparsable SMARTS {pattern!r}')
    return mol


@functools.lru_cache(maxsize=65536)
def _mol(smiles: str):
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog('rdApp.*')
    return Chem.MolFromSmiles(smiles)


def substructure_mask(smiles_list, pattern: str) -> np.ndarray:
    """Which of ``smiles_list`` contain the SMARTS ``pattern`` (a bool array)."""
    query = smarts_pattern(pattern)
    out = np.zeros(len(smiles_list), dtype=bool)
    for i, smiles in enumerate(smiles_list):
        mol = _mol(smiles)
        out[i] = mol is not None and mol.HasSubstructMatch(query)
    return out


@functools.lru_cache(maxsize=65536)
def _fingerprint(smiles: str):
    from rdkit.Chem import rdFingerprintGenerator

    mol = _mol(smiles)
    if mol is None:
        return None
    return rdFingerprintGenerator.GetMorganGenerator(radius=RADIUS, fpSize=BITS).GetFingerprint(mol)


def similarity(smiles_list, query_smiles: str) -> np.ndarray:
    """Tanimoto similarity of each of ``smiles_list`` to the repeat unit ``query_smiles`` (any writing)."""
    from rdkit import DataStructs

    from .smiles import IntakeError, parse_repeat_unit

    try:
        canonical = parse_repeat_unit(query_smiles).smiles
    except IntakeError as error:
        raise SearchError('smiles', f'query {query_smiles!r} is not a repeat unit: {error}') from None
    query = _fingerprint(canonical)
    fps = [_fingerprint(s) for s in smiles_list]
    values = np.zeros(len(smiles_list))
    good = [i for i, fp in enumerate(fps) if fp is not None]
    if good:
        values[good] = DataStructs.BulkTanimotoSimilarity(query, [fps[i] for i in good])
    return values
