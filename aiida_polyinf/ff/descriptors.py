"""Force-field descriptors of a repeat unit, from GAFF2 typing with RadonPy (pure code: no AiiDA, no cache).

The repeat unit is closed into a cyclic polymer of n units (built here with RDKit, as RadonPy's ``make_cyclicpolymer``: no end
groups, every unit sees the same neighbours), typed with RadonPy's ``GAFF2_mod`` and Gasteiger charges. From the typed
molecule come

- RadonPy's kernel-mean-embedding descriptor (``FF_descriptor.ff_kernel_mean``: the distributions of mass, charge,
  LJ epsilon and sigma, bond k and r0, angle k and theta0, dihedral k, each embedded on ``nk`` Gaussian centres),
  prefixed ``ffkm.``;
- plain averages, prefixed ``ff.``: mean atomic mass, electrons per atom, mean angle force constant (the three the
  seed found correlated with density, r > 0.8), and the means of bond k, LJ epsilon and sigma, Gasteiger |q|.

On a ring every unit is equivalent, so the per-atom distributions do not depend on the number of units (RadonPy's
default is 10) as long as the ring is large enough for GAFF2 not to type it as a small ring. The number of units is
therefore the smallest n >= 2 whose ring has at least ``MIN_RING`` = 10 backbone atoms (``ring_units``): 5 for vinyl
polymers, 2 for long units. Long units with many aromatic rings on the backbone would otherwise make RadonPy's MDL
aromaticity perception, which sees the whole macrocycle as one fused system, take minutes and gigabytes.

``compute_many`` runs the typing in worker processes with a per-molecule timeout and returns failures by SMILES.
The MD stage reuses ``type_cyclic`` and ``ff_descriptors``.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import time

import numpy as np

MIN_RING = 10
KM_FLOOR = 1e-8
NK = 20
DEFAULT_TIMEOUT = 60.0

_FF = None
_DESC = None


class FFTypingError(RuntimeError):
    """Typing failed; ``reason`` is a short code (``cyclic``, ``typing``, ``timeout``, ``error``)."""

    def __init__(self, reason: str, message: str = ''):
        super().__init__(f'{reason}: {message}' if message else reason)
        self.reason = reason


def _forcefield():
    global _FF, _DESC
    if _FF is None:
        from radonpy.ff.descriptor import FF_descriptor
        from radonpy.ff.gaff2_mod import GAFF2_mod

        _FF = GAFF2_mod()
        _DESC = FF_descriptor(_FF, nk=NK)
    return _FF, _DESC


def ring_units(smiles: str, min_ring: int = MIN_RING) -> int:
    """The smallest n >= 2 whose cyclic n-mer has at least ``min_ring`` backbone atoms."""
    from rdkit import Chem

    unit = Chem.MolFromSmiles(smiles)
    dummies = [a.GetIdx() for a in unit.GetAtoms() if a.GetAtomicNum() == 0]
    backbone = len(Chem.GetShortestPath(unit, dummies[0], dummies[1])) - 2  # atoms between the two '*'
    return max(2, -(-min_ring // max(backbone, 1)))


def type_cyclic(smiles: str, n: int | None = None):
    """The cyclic n-mer of a repeat unit (n from ``ring_units`` by default), typed with GAFF2_mod and Gasteiger charges (an RDKit Mol with ff props)."""
    from radonpy.core import utils as rutils

    ff, _ = _forcefield()
    rutils.radon_print = lambda *a, **k: None  # RadonPy prints its warnings; failures are raised here instead
    try:
        mol = cyclic_polymer(smiles, n or ring_units(smiles))
    except Exception as exc:  # noqa: BLE001
        raise FFTypingError('cyclic', f'cannot close {smiles!r} into a ring: {exc}') from exc
    if not ff.ff_assign(mol, charge='gasteiger'):
        raise FFTypingError('typing', f'GAFF2_mod cannot type {smiles!r}')
    return mol


def cyclic_polymer(smiles: str, n: int = 5):
    """The ring of ``n`` repeat units joined head to tail, hydrogens explicit (an RDKit Mol).

    Built directly with RDKit: unit k's tail atom (the neighbour of the second ``*``) is bonded to unit k+1's head
    atom (the neighbour of the first), the last unit closing onto the first, with the bond order of the ``*`` bonds.
    (RadonPy's ``make_cyclicpolymer`` does the same but can take minutes and gigabytes on large polyimides.)
    """
    from rdkit import Chem

    unit = Chem.MolFromSmiles(smiles)
    dummies = [a.GetIdx() for a in unit.GetAtoms() if a.GetAtomicNum() == 0]
    head, tail = (unit.GetAtomWithIdx(d).GetNeighbors()[0].GetIdx() for d in dummies)
    order = unit.GetBondBetweenAtoms(dummies[0], head).GetBondType()
    real = [a.GetIdx() for a in unit.GetAtoms() if a.GetAtomicNum() > 0]
    index = {old: new for new, old in enumerate(real)}
    ring = Chem.RWMol()
    for k in range(n):
        for old in real:
            atom = Chem.Atom(unit.GetAtomWithIdx(old))
            atom.SetNoImplicit(False)
            ring.AddAtom(atom)
        for bond in unit.GetBonds():
            a, b = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
            if a in index and b in index:
                ring.AddBond(index[a] + k * len(real), index[b] + k * len(real), bond.GetBondType())
    for k in range(n):
        ring.AddBond(index[tail] + k * len(real), index[head] + ((k + 1) % n) * len(real), order)
    mol = ring.GetMol()
    Chem.SanitizeMol(mol)
    return Chem.AddHs(mol)


def descriptor_names(nk: int = NK) -> list[str]:
    _, desc = _forcefield()
    return [f'ffkm.{name}' for name in desc.ffkm_desc_names(nk=nk)] + list(PLAIN_NAMES)


PLAIN_NAMES = (
    'ff.mean_atomic_mass',
    'ff.electrons_per_atom',
    'ff.mean_k_angle',
    'ff.mean_k_bond',
    'ff.mean_epsilon',
    'ff.mean_sigma',
    'ff.mean_abs_charge',
    'ff.heavy_atom_fraction',
)


def ff_descriptors(mol) -> dict[str, float]:
    """Kernel-mean embedding and plain averages of a typed molecule (from ``type_cyclic``)."""
    _, desc = _forcefield()
    km = np.asarray(desc.ff_kernel_mean([mol]), dtype=float)
    km[np.abs(km) < KM_FLOOR] = 0.0  # Gaussian tails (1e-30) of absent values: exact zeros, or scaling blows them up
    names = [f'ffkm.{name}' for name in desc.ffkm_desc_names(nk=NK)]
    atoms = list(mol.GetAtoms())
    plain = {
        'ff.mean_atomic_mass': np.mean([a.GetMass() for a in atoms]),
        'ff.electrons_per_atom': np.mean([a.GetAtomicNum() for a in atoms]),
        'ff.mean_k_angle': np.mean([ang.ff.k for ang in mol.angles]) if len(mol.angles) else np.nan,
        'ff.mean_k_bond': np.mean([b.GetDoubleProp('ff_k') for b in mol.GetBonds()]),
        'ff.mean_epsilon': np.mean([a.GetDoubleProp('ff_epsilon') for a in atoms]),
        'ff.mean_sigma': np.mean([a.GetDoubleProp('ff_sigma') for a in atoms]),
        'ff.mean_abs_charge': np.mean([abs(a.GetDoubleProp('AtomicCharge')) for a in atoms]),
        'ff.heavy_atom_fraction': np.mean([a.GetAtomicNum() > 1 for a in atoms]),
    }
    out = dict(zip(names, km.tolist()))
    out.update({k: float(v) for k, v in plain.items()})
    return out


def _alarm(signum, frame):
    raise FFTypingError('timeout')


def compute_one(smiles: str, timeout: float = DEFAULT_TIMEOUT) -> tuple[str, dict | None, str | None, float]:
    """``(smiles, descriptors or None, failure reason or None, seconds)``; never raises."""
    start = time.perf_counter()
    previous = signal.signal(signal.SIGALRM, _alarm) if timeout else None
    if timeout:
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        values = ff_descriptors(type_cyclic(smiles))
        if not all(np.isfinite(v) for v in values.values()):
            return smiles, None, 'nonfinite', time.perf_counter() - start
        return smiles, values, None, time.perf_counter() - start
    except FFTypingError as exc:
        return smiles, None, exc.reason, time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001  (RadonPy raises anything; the failure is recorded by name)
        return smiles, None, f'error:{type(exc).__name__}', time.perf_counter() - start
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _serve(conn, timeout):
    """Worker loop: receive a SMILES, send back ``compute_one``'s result; ``None`` ends the loop."""
    while True:
        smiles = conn.recv()
        if smiles is None:
            return
        conn.send(compute_one(smiles, timeout))


def compute_many(smiles_list, timeout: float = DEFAULT_TIMEOUT, processes: int = 2, progress=None):
    """Descriptors of many repeat units: ``(values: dict smiles -> dict, failures: dict smiles -> reason, seconds)``.

    Each molecule runs in a forked worker (RadonPy's slow import is paid once, before the fork). The timeout is
    enforced twice: SIGALRM inside the worker interrupts Python code, and a worker still busy ``timeout`` + 5 s later
    (stuck in C++) is killed and replaced; either way the SMILES is recorded as failed with reason ``timeout``.
    ``progress`` is called with each finished SMILES.
    """
    _forcefield()
    values, failures, seconds = {}, {}, {}

    def record(smiles, result, reason, elapsed):
        seconds[smiles] = elapsed
        if result is None:
            failures[smiles] = reason
        else:
            values[smiles] = result
        if progress is not None:
            progress(smiles)

    todo = list(dict.fromkeys(smiles_list))
    if processes <= 1:
        for smiles in todo:
            record(*compute_one(smiles, timeout))
        return values, failures, seconds

    ctx = multiprocessing.get_context('fork')

    def spawn():
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(child, timeout), daemon=True)
        proc.start()
        child.close()
        return {'proc': proc, 'conn': parent, 'job': None, 'start': 0.0}

    workers = [spawn() for _ in range(min(processes, len(todo)))]
    queue = list(reversed(todo))
    try:
        while queue or any(w['job'] for w in workers):
            for i, w in enumerate(workers):
                if w['job'] is None and queue:
                    w['job'], w['start'] = queue.pop(), time.perf_counter()
                    w['conn'].send(w['job'])
            ready = multiprocessing.connection.wait([w['conn'] for w in workers if w['job']], timeout=0.5)
            for w in workers:
                if w['conn'] in ready:
                    record(*w['conn'].recv())
                    w['job'] = None
            for i, w in enumerate(workers):
                if w['job'] and time.perf_counter() - w['start'] > timeout + 5:
                    w['proc'].kill()
                    w['proc'].join()
                    record(w['job'], None, 'timeout', time.perf_counter() - w['start'])
                    workers[i] = spawn()
    finally:
        for w in workers:
            try:
                w['conn'].send(None)
            except (BrokenPipeError, OSError):
                pass
            w['proc'].join(timeout=2)
            if w['proc'].is_alive():
                w['proc'].kill()
    return values, failures, seconds
