"""Time GAFF2 typing (monomer + polymerize_rw + terminate_rw + chain typing) for PE and PS, fast and moderate sizes.

    .venv/bin/python benchmarks/md_typing_speed.py [--sizes 100 1000]   -> prints and writes md_typing_speed.json
"""

import argparse
import json
import time

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdPartialCharges

from aiida_polyinf.ff.typing import forcefield, type_polymer
from aiida_polyinf.polymers.oligomer import build_oligomer


def resp_like(smiles):
    olig = build_oligomer(smiles, 1)
    mol = Chem.Mol(olig.mol)
    rdPartialCharges.ComputeGasteigerCharges(mol)
    q = np.array([a.GetDoubleProp('_GasteigerCharge') for a in mol.GetAtoms()])
    return olig, q - q.mean()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--sizes', type=int, nargs='+', default=[100, 1000])
    args = parser.parse_args()
    t = time.perf_counter()
    forcefield()
    out = {'radonpy_import_s': time.perf_counter() - t, 'runs': []}
    for name, smiles in (('PE', '*CC*'), ('PS', '*CC(*)c1ccccc1')):
        olig, q = resp_like(smiles)
        for n_atoms in args.sizes:
            t = time.perf_counter()
            typed = type_polymer(smiles, q, olig.roles, olig.smiles_mapped, n_atoms=n_atoms, seed=1, timeout=None)
            row = {'polymer': name, 'n_atoms_target': n_atoms, 'atoms': typed.num_atoms,
                   'dp': typed.degree_of_polymerization, 'total_s': round(time.perf_counter() - t, 2),
                   **{k: round(v, 2) for k, v in typed.seconds.items()}}
            print(row, flush=True)
            out['runs'].append(row)
    with open('md_typing_speed.json', 'w') as handle:
        json.dump(out, handle, indent=1)


if __name__ == '__main__':
    main()
