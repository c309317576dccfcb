"""FF descriptors with the QM RESP charges: descriptor set ``ff_resp`` (distinct from ``ff.descriptors``' Gasteiger /
cyclic set, which uses the prefixes ``ffkm.`` and ``ff.``).

The typed molecule is a linear chain from ``ff.typing.type_polymer`` (RESP charges folded as described there, CH3
ends); the kernel-mean embedding (mass, charge, LJ epsilon and sigma, bond k and r0, angle k and theta0, dihedral k)
and the plain averages (mean atomic mass, electrons per atom, mean angle force constant, ...) are computed by the ML
engineer's ``ff.descriptors.ff_descriptors`` (RadonPy's ``FF_descriptor.ff_kernel_mean``), which reads the charges
from ``AtomicCharge``; only the names are re-prefixed: ``ffresp_km.*`` and ``ffresp.*``.
"""

from __future__ import annotations

from aiida_polyinf.ff.descriptors import ff_descriptors

DESCRIPTOR_SET = 'ff_resp'
N_UNITS = 10  # RadonPy's descriptor oligomer length


def rename(values: dict[str, float]) -> dict[str, float]:
    out = {}
    for key, value in values.items():
        if key.startswith('ffkm.'):
            out['ffresp_km.' + key[len('ffkm.'):]] = value
        elif key.startswith('ff.'):
            out['ffresp.' + key[len('ff.'):]] = value
        else:
            out['ffresp.' + key] = value
    return out


def resp_descriptors(typed_chain) -> dict[str, float]:
    """Descriptors of a typed chain (``TypedPolymer.chain``) with RESP charges."""
    return rename(ff_descriptors(typed_chain))


def resp_descriptors_from_qm(smiles: str, charges, atom_roles, smiles_mapped: str, n_units: int = N_UNITS, *,
                             seed: int, timeout: float | None = 120.0) -> dict[str, float]:
    """Type an ``n_units`` chain with the QM charges (``ff.typing.type_polymer``; ``seed``: its random walk and
    tacticity) and describe it."""
    from aiida_polyinf.ff.typing import type_polymer

    typed = type_polymer(smiles, charges, atom_roles, smiles_mapped, dp=n_units, seed=seed, timeout=timeout)
    return resp_descriptors(typed.chain)
