"""3D conformers from RDKit ETKDG followed by an MMFF94 (or, where MMFF has no parameters, UFF) relaxation.

With a fixed ``seed`` the result is deterministic: one thread, a seeded embedding and a deterministic optimiser.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem


class ConformerError(RuntimeError):
    """No 3D conformer could be embedded."""


def _params(seed: int) -> AllChem.EmbedParameters:
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    params.numThreads = 1
    return params


def _relax(mol: Chem.Mol, max_iters: int = 2000) -> list[float]:
    """Relax every conformer in place and return their force-field energies (kcal/mol)."""
    if AllChem.MMFFHasAllMoleculeParams(mol):
        results = AllChem.MMFFOptimizeMoleculeConfs(mol, numThreads=1, maxIters=max_iters)
    else:
        results = AllChem.UFFOptimizeMoleculeConfs(mol, numThreads=1, maxIters=max_iters)
    return [energy for _, energy in results]


def conformers(mol: Chem.Mol, num_conformers: int = 1, *, seed: int) -> tuple[Chem.Mol, list[float]]:
    """Embed and relax ``num_conformers`` conformers of ``mol`` (explicit hydrogens); return the molecule and energies."""
    mol = Chem.Mol(mol)
    params = _params(seed)
    ids = AllChem.EmbedMultipleConfs(mol, numConfs=num_conformers, params=params)
    if len(ids) == 0:
        params.useRandomCoords = True
        ids = AllChem.EmbedMultipleConfs(mol, numConfs=num_conformers, params=params)
    if len(ids) == 0:
        raise ConformerError(f'ETKDG could not embed {Chem.MolToSmiles(Chem.RemoveHs(mol))}')
    return mol, _relax(mol)


def embed_conformer(mol: Chem.Mol, *, seed: int) -> np.ndarray:
    """Coordinates (Å, shape (N, 3)) of one relaxed conformer, in the atom order of ``mol``."""
    return lowest_conformer(mol, num_conformers=1, seed=seed)[0]


def lowest_conformer(mol: Chem.Mol, num_conformers: int = 1, *, seed: int) -> tuple[np.ndarray, float]:
    """Coordinates (Å) and force-field energy (kcal/mol) of the lowest of ``num_conformers`` relaxed conformers."""
    mol, energies = conformers(mol, num_conformers, seed=seed)
    best = int(np.argmin(energies))
    conf = mol.GetConformers()[best]
    return np.array(conf.GetPositions()), float(energies[best])
