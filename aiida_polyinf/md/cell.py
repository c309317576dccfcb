"""Amorphous cells with RadonPy's ``amorphous_cell`` and their LAMMPS data files (pure code: no AiiDA, no LAMMPS run).

``build_cell`` places ``n_chains`` copies of a typed chain at a low initial density (RadonPy's default 0.05 g/cm^3;
the packing run compresses it). Everything random is drawn from Python's ``random`` and NumPy's global generator
(RadonPy uses both: tacticity, random-walk torsions, placements, initial velocities), so ``seed`` makes the cell and
its data file reproducible.

``write_cell`` writes, into a directory:

- ``DATA_FILE`` (``cell.data``): the LAMMPS data file, RadonPy's ``MolToLAMMPSdata`` (real units, atom_style full,
  GAFF2_mod coefficients, velocities at ``temp``);
- ``TOPOLOGY_FILE`` (``topology.json``): per atom the chain index, residue (repeat-unit) index, element, mass and
  charge, plus each chain's two end atoms; the analysis of the sampling dump reads it.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
from rdkit import Chem

from aiida_polyinf.ff.typing import CHARGE, SITE, forcefield, seed_everything

DATA_FILE = 'cell.data'
TOPOLOGY_FILE = 'topology.json'


class CellError(RuntimeError):
    """The cell could not be built; ``reason``: ``placement`` or ``write``."""

    def __init__(self, reason: str, message: str = ''):
        super().__init__(f'{reason}: {message}' if message else reason)
        self.reason = reason


@dataclasses.dataclass
class CellInfo:
    num_atoms: int
    num_chains: int
    atoms_per_chain: int
    mass_amu: float
    initial_density: float  # g/cm^3, of the box RadonPy finally used
    box_angstrom: tuple[float, float, float]
    seed: int | None
    files: dict[str, str]

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def build_cell(chain: Chem.Mol, n_chains: int, density: float = 0.05, seed: int | None = None,
               retry: int = 20, threshold: float = 2.0) -> Chem.Mol:
    """RadonPy's ``amorphous_cell`` of ``n_chains`` copies of a typed chain (seeded)."""
    from radonpy.core import poly

    forcefield()
    seed_everything(seed)
    try:
        cell = poly.amorphous_cell(chain, int(n_chains), density=float(density), retry=retry, threshold=threshold)
    except Exception as exc:  # noqa: BLE001  (RadonPyError after all retries)
        raise CellError('placement', f'{type(exc).__name__}: {exc}') from exc
    return cell


def _box(cell: Chem.Mol) -> tuple[float, float, float]:
    c = cell.cell
    return (c.xhi - c.xlo, c.yhi - c.ylo, c.zhi - c.zlo)


def topology(cell: Chem.Mol) -> dict:
    """Chains, residues, masses and charges per atom, and each chain's end atoms (0-based atom indices)."""
    from radonpy.core import utils as rutils

    rutils.set_mol_id(cell)
    mol_ids, residues, ends = [], [], {}
    for atom in cell.GetAtoms():
        mol_ids.append(atom.GetIntProp('mol_id'))
        info = atom.GetPDBResidueInfo()
        residues.append(int(info.GetResidueNumber()) if info is not None else 0)
        name = info.GetResidueName() if info is not None else ''
        if name in ('TU0', 'TU1') and atom.GetAtomicNum() > 1:
            ends.setdefault(atom.GetIntProp('mol_id'), {}).setdefault(name, atom.GetIdx())
    chain_ends = []
    for m in sorted(set(mol_ids)):
        e = ends.get(m, {})
        if 'TU0' in e and 'TU1' in e:
            chain_ends.append([e['TU0'], e['TU1']])
    if len(chain_ends) != len(set(mol_ids)):  # H terminators (no heavy TU atoms): the chain's first and last heavy atom
        chain_ends = []
        for m in sorted(set(mol_ids)):
            heavy = [a.GetIdx() for a in cell.GetAtoms() if a.GetIntProp('mol_id') == m and a.GetAtomicNum() > 1]
            chain_ends.append([heavy[0], heavy[-1]])
    return {
        'mol_id': mol_ids,
        'residue': residues,
        'element': [a.GetSymbol() for a in cell.GetAtoms()],
        'mass': [a.GetMass() for a in cell.GetAtoms()],
        'charge': [a.GetDoubleProp(CHARGE) for a in cell.GetAtoms()],
        'site': [a.GetIntProp(SITE) if a.HasProp(SITE) else -1 for a in cell.GetAtoms()],
        'chain_ends': chain_ends,
    }


def write_cell(cell: Chem.Mol, directory: str, seed: int | None = None, temp: float = 300.0,
               data_file: str = DATA_FILE, topology_file: str = TOPOLOGY_FILE) -> dict[str, str]:
    """Write the LAMMPS data file (RadonPy's writer; velocities drawn at ``temp`` from the seeded NumPy generator)
    and the topology JSON. Returns ``{'data': path, 'topology': path}``."""
    from radonpy.sim import lammps

    os.makedirs(directory, exist_ok=True)
    seed_everything(seed)
    for atom in cell.GetAtoms():  # velocities are drawn here, from the seed, not kept from an earlier write
        for key in ('vx', 'vy', 'vz'):
            if atom.HasProp(key):
                atom.ClearProp(key)
    data_path = os.path.join(directory, data_file)
    if not lammps.MolToLAMMPSdata(cell, data_path, velocity=True, temp=temp):
        raise CellError('write', f'RadonPy could not write {data_path}')
    topo_path = os.path.join(directory, topology_file)
    with open(topo_path, 'w') as handle:
        json.dump(topology(cell), handle)
    return {'data': data_path, 'topology': topo_path}


def make_cell(chain: Chem.Mol, directory: str, n_chains: int, density: float = 0.05, seed: int | None = None,
              temp: float = 300.0) -> CellInfo:
    """``build_cell`` + ``write_cell``: the starting point of the packing run."""
    cell = build_cell(chain, n_chains, density=density, seed=seed)
    files = write_cell(cell, directory, seed=None if seed is None else seed + 1, temp=temp)
    mass = float(sum(a.GetMass() for a in cell.GetAtoms()))
    box = _box(cell)
    volume = float(np.prod(box))
    return CellInfo(
        num_atoms=cell.GetNumAtoms(),
        num_chains=int(n_chains),
        atoms_per_chain=chain.GetNumAtoms(),
        mass_amu=mass,
        initial_density=mass / 6.02214076e23 / (volume * 1e-24),
        box_angstrom=box,
        seed=seed,
        files={k: os.path.basename(v) for k, v in files.items()},
    )
