"""GAFF2 typing of a polymer chain with the QM RESP charges of its CH3-capped monomer (pure code: RadonPy + RDKit).

The route is RadonPy's own (``utils.mol_from_smiles`` -> ``poly.polymerize_rw`` -> ``poly.terminate_rw`` ->
``GAFF2_mod.ff_assign``); only the charges come from our QM instead of RadonPy's psi4:

1. RadonPy's monomer is the repeat unit with its two ``*`` as linker atoms (``[3H]``). It is mapped atom by atom onto
   the QM molecule (the capped oligomer rebuilt from ``smiles_mapped``, unit ``k`` cut out, its two outside
   neighbours turned into dummies) by an RDKit substructure match of the two explicit-hydrogen graphs (bond orders
   first, then element graph only), so every repeat-unit atom gets the RESP charge of its QM site.
2. Each linker atom gets the total charge of everything on its side in the QM molecule (for n=1: one CH3 cap).
   ``connect_mols`` adds a linker's charge to the atom it is bonded to, so every inner repeat unit of the chain is
   exactly neutral (unit + both folded sides = total charge of the capped molecule = 0).
3. The two free linkers at the chain ends are zeroed and the terminators (``*C`` as RadonPy does, or ``*[H]``) carry
   the QM cap charges (C and its three H). The end unit plus its terminator therefore reproduces the capped molecule's
   charge distribution; any difference between the side charge and the cap charge (n > 1) goes to the terminator
   carbon via its linker, so the chain stays neutral.

Every atom of the monomer and terminators carries ``polyinf_site`` (its QM site index, -1 for linkers); RDKit keeps
atom properties through RadonPy's joins, so every chain atom still names the QM site it came from.

``charge_model='gasteiger'`` skips the QM: Gasteiger charges on RadonPy's monomer and terminators (as RadonPy does
when asked for ``gasteiger``), folded the same way.

Typing: the capped QM monomer and the built chain are typed with ``GAFF2_mod``. ``gaff2_mod`` can fail on a monomer
that types fine as a built chain; a failed monomer typing is recorded (``TypedPolymer.monomer_failure``) and the chain
is typed anyway. A chain that cannot be built or typed raises ``TypingError`` with a ``reason``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import signal
import threading
import time

import numpy as np
from rdkit import Chem

from aiida_polyinf.polymers.oligomer import CAP_HEAD, CAP_TAIL, build_oligomer, mol_from_mapped_smiles

SITE = 'polyinf_site'
CHARGE = 'AtomicCharge'
CHARGE_MODELS = ('resp', 'gasteiger')
TERMINATORS = {'CH3': '*C', 'H': '*[H]'}
DEFAULT_TIMEOUT = 120.0

#: Failure reasons of ``TypingError``.
REASONS = (
    'bad_input',  # inconsistent charges / roles / SMILES
    'mapping',  # RadonPy's monomer and the QM molecule do not match atom for atom
    'monomer_build',  # RadonPy cannot build the monomer (3D embedding)
    'polymerize',  # polymerize_rw / terminate_rw failed
    'typing',  # GAFF2_mod cannot type the chain
    'timeout',  # a step ran past the timeout
    'not_neutral',  # the typed chain's total charge is off by more than the tolerance
)


class TypingError(RuntimeError):
    """Building or typing failed; ``reason`` is one of ``REASONS``."""

    def __init__(self, reason: str, message: str = ''):
        super().__init__(f'{reason}: {message}' if message else reason)
        self.reason = reason


@dataclasses.dataclass
class Monomer:
    """RadonPy's monomer (linker atoms ``[3H]``) and its two terminators, all with ``AtomicCharge`` set."""

    smiles: str
    mol: Chem.Mol
    head_terminator: Chem.Mol
    tail_terminator: Chem.Mol
    charge_model: str
    site_of_atom: list[int]  # QM site of each monomer atom (-1: linker, or gasteiger)
    linker_charges: tuple[float, float]  # (head, tail) side charges folded by polymerize_rw
    terminator: str = 'CH3'

    @property
    def zero_end_linkers(self) -> bool:
        """RESP with CH3 terminators: the terminators carry the end charges, the chain's end linkers none."""
        return self.charge_model == 'resp' and self.terminator == 'CH3'


@dataclasses.dataclass
class TypedPolymer:
    """A terminated, GAFF2-typed chain and what was needed to make it."""

    chain: Chem.Mol  # typed chain (RadonPy props: ff_type, ff_epsilon, ..., AtomicCharge; bond/angle/... ff objects)
    monomer: Monomer
    degree_of_polymerization: int
    charge_model: str
    total_charge: float
    capped: Chem.Mol | None  # the typed QM capped monomer with RESP charges (None: resp not used, or typing failed)
    monomer_failure: str | None  # why the capped monomer did not type, if it did not
    seconds: dict[str, float]

    @property
    def num_atoms(self) -> int:
        return self.chain.GetNumAtoms()


# --------------------------------------------------------------------------------------------------------- helpers
_FF = None


def forcefield():
    """The shared ``GAFF2_mod`` instance (RadonPy's import is slow; built once per process)."""
    global _FF
    if _FF is None:
        from radonpy.core import utils as rutils
        from radonpy.ff.gaff2_mod import GAFF2_mod

        rutils.const.print_level = 3  # RadonPy's info/warnings are noise here; errors are raised
        _FF = GAFF2_mod()
    return _FF


def seed_everything(seed: int | None) -> None:
    """Seed Python's ``random`` and NumPy's global generator, the two RadonPy draws from."""
    if seed is None:
        return
    random.seed(int(seed))
    np.random.seed(int(seed) % (2**32))


@contextlib.contextmanager
def time_limit(seconds: float | None, what: str):
    """Raise ``TypingError('timeout')`` after ``seconds`` (SIGALRM; only in the main thread, else no limit)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _alarm(signum, frame):
        raise TypingError('timeout', f'{what} took longer than {seconds:g} s')

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _is_linker(atom) -> bool:
    return atom.GetAtomicNum() == 0 or (atom.GetAtomicNum() == 1 and atom.GetIsotope() == 3)


def _graph_copy(mol: Chem.Mol, keep_bond_orders: bool) -> Chem.Mol:
    """Linkers as dummies (atomic number 0, no isotope); optionally all bonds single and nothing aromatic."""
    rw = Chem.RWMol(mol)
    for atom in rw.GetAtoms():
        if _is_linker(atom):
            atom.SetAtomicNum(0)
            atom.SetIsotope(0)
        atom.SetFormalCharge(0)
        atom.SetNoImplicit(True)
        atom.SetNumExplicitHs(0)
        atom.SetChiralTag(Chem.ChiralType.CHI_UNSPECIFIED)
        if not keep_bond_orders:
            atom.SetIsAromatic(False)
    if not keep_bond_orders:
        for bond in rw.GetBonds():
            bond.SetBondType(Chem.BondType.SINGLE)
            bond.SetIsAromatic(False)
    out = rw.GetMol()
    out.UpdatePropertyCache(strict=False)
    return out


def map_atoms(target: Chem.Mol, reference: Chem.Mol) -> tuple[int, ...]:
    """Indices of ``reference`` atoms for each ``target`` atom: a full isomorphism, linkers matched to linkers.

    Both molecules need explicit hydrogens. Tries the chemical graph (bond orders, aromaticity) first and the element
    graph second (e.g. when the two come from different Kekulé/aromaticity perceptions). ``TypingError('mapping')``
    when there is none.
    """
    if target.GetNumAtoms() != reference.GetNumAtoms():
        raise TypingError('mapping', f'{target.GetNumAtoms()} atoms against {reference.GetNumAtoms()}')
    for keep in (True, False):
        t, r = _graph_copy(target, keep), _graph_copy(reference, keep)
        match = r.GetSubstructMatch(t, useChirality=False)
        if len(match) == target.GetNumAtoms():
            return tuple(match)
    raise TypingError('mapping', 'no atom-by-atom match between the RadonPy monomer and the QM molecule')


# ------------------------------------------------------------------------------------------------------ the monomer
def _qm_molecule(smiles_mapped: str, charges, atom_roles):
    mol = mol_from_mapped_smiles(smiles_mapped)
    charges = np.asarray(charges, dtype=float)
    roles = [int(r) for r in atom_roles]
    if not (mol.GetNumAtoms() == len(charges) == len(roles)):
        raise TypingError('bad_input', f'{mol.GetNumAtoms()} sites, {len(charges)} charges, {len(roles)} roles')
    if not np.all(np.isfinite(charges)):
        raise TypingError('bad_input', 'non-finite charges')
    return mol, charges, roles


def _unit_with_dummies(qm: Chem.Mol, roles: list[int], k: int):
    """The atoms of unit ``k`` plus dummies for its two outside neighbours; returns (mol, site per atom)."""
    unit = [i for i, r in enumerate(roles) if r == k]
    if not unit:
        raise TypingError('bad_input', f'no atom has role {k}')
    unit_set = set(unit)
    outside = []  # (outside atom, unit atom) per crossing bond, in bond order
    for bond in qm.GetBonds():
        a, b = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        if (a in unit_set) != (b in unit_set):
            outside.append((b, a) if a in unit_set else (a, b))
    if len(outside) != 2:
        raise TypingError('bad_input', f'unit {k} has {len(outside)} bonds to the rest, expected 2')
    keep = unit + [o for o, _ in outside]
    rw = Chem.RWMol(qm)
    for o, _ in outside:
        rw.GetAtomWithIdx(o).SetAtomicNum(0)
        rw.GetAtomWithIdx(o).SetNoImplicit(True)
    for idx in sorted(set(range(qm.GetNumAtoms())) - set(keep), reverse=True):
        rw.RemoveAtom(idx)
    frag = rw.GetMol()
    frag.UpdatePropertyCache(strict=False)
    sites = sorted(keep)  # RemoveAtom keeps the relative order of the survivors
    return frag, sites


def _side_of(role: int, k: int) -> int:
    """CAP_HEAD for atoms on the head side of unit ``k`` (head cap and units before k), else CAP_TAIL."""
    return CAP_HEAD if role == CAP_HEAD or 0 <= role < k else CAP_TAIL


def _radonpy_monomer(smiles: str) -> Chem.Mol:
    from radonpy.core import utils as rutils

    forcefield()
    try:
        mol = rutils.mol_from_smiles(smiles)
    except Exception as exc:  # noqa: BLE001  (RadonPyError and RDKit errors alike)
        raise TypingError('monomer_build', f'{type(exc).__name__}: {exc}') from exc
    if mol is None:
        raise TypingError('monomer_build', f'RadonPy cannot build {smiles!r}')
    _reembed(mol)
    return mol


EMBED_SEED = 20240531


def _reembed(mol: Chem.Mol) -> None:
    """Deterministic 3D coordinates: RadonPy embeds without a seed, so the same SMILES gave different monomers.

    ETKDGv2 with a fixed seed (RadonPy's stereo choices kept); backbone double bonds without stereo are set trans
    (180 degrees), which is what RadonPy does after its own embedding.
    """
    from rdkit.Chem import AllChem, rdMolTransforms

    params = AllChem.ETKDGv2()
    params.randomSeed = EMBED_SEED
    params.enforceChirality = True
    if AllChem.EmbedMolecule(mol, params) == -1:
        params.useRandomCoords = True
        if AllChem.EmbedMolecule(mol, params) == -1:
            raise TypingError('monomer_build', 'no 3D embedding')
    linkers = [a.GetIdx() for a in mol.GetAtoms() if _is_linker(a)]
    if len(linkers) != 2:
        return
    path = list(Chem.GetShortestPath(mol, linkers[0], linkers[1]))
    conf = mol.GetConformer()
    for i in range(1, len(path) - 2):
        bond = mol.GetBondBetweenAtoms(path[i], path[i + 1])
        if bond.GetBondType() == Chem.BondType.DOUBLE and bond.GetStereo() == Chem.BondStereo.STEREONONE \
                and not bond.IsInRing():
            rdMolTransforms.SetDihedralDeg(conf, path[i - 1], path[i], path[i + 1], path[i + 2], 180.0)


def _terminator(smiles: str, charges: dict[int, float] | None, linker_charge: float, sites: dict[int, int] | None):
    from radonpy.core import utils as rutils

    ter = _radonpy_monomer(smiles)
    if ter is None:
        raise TypingError('monomer_build', f'RadonPy cannot build the terminator {smiles!r}')
    if charges is None:  # gasteiger
        from radonpy.core import calc

        calc.assign_charges(ter, charge='gasteiger')
        for atom in ter.GetAtoms():
            atom.SetIntProp(SITE, -1)
        return ter
    for atom in ter.GetAtoms():
        if _is_linker(atom):
            atom.SetDoubleProp(CHARGE, float(linker_charge))
            atom.SetIntProp(SITE, -1)
        else:
            atom.SetDoubleProp(CHARGE, float(charges[atom.GetIdx()]))
            atom.SetIntProp(SITE, int(sites[atom.GetIdx()]))
    return ter


def build_monomer(
    smiles: str,
    charges=None,
    atom_roles=None,
    smiles_mapped: str | None = None,
    charge_model: str = 'resp',
    terminator: str = 'CH3',
    unit: int | None = None,
) -> Monomer:
    """RadonPy's monomer of a repeat unit with charges, and its terminators.

    Args:
        smiles: repeat-unit SMILES with two ``*``.
        charges, atom_roles, smiles_mapped: the QM ``charges`` node (ArrayData ``charges`` and its attributes), in
            the site order of the capped oligomer. Required for ``charge_model='resp'``.
        charge_model: ``resp`` (QM charges) or ``gasteiger``.
        terminator: ``CH3`` (RadonPy's ``*C``; QM cap charges) or ``H``.
        unit: which repeat unit of an n-mer supplies the charges (default: the middle one).
    """
    if charge_model not in CHARGE_MODELS:
        raise TypingError('bad_input', f'charge_model must be one of {CHARGE_MODELS}, got {charge_model!r}')
    if terminator not in TERMINATORS:
        raise TypingError('bad_input', f'terminator must be one of {tuple(TERMINATORS)}, got {terminator!r}')
    mol = _radonpy_monomer(smiles)
    linkers = [a.GetIdx() for a in mol.GetAtoms() if _is_linker(a)]
    if len(linkers) != 2:
        raise TypingError('bad_input', f'{smiles!r} has {len(linkers)} connection points, expected 2')

    if charge_model == 'gasteiger':
        from radonpy.core import calc

        calc.assign_charges(mol, charge='gasteiger')
        for atom in mol.GetAtoms():
            atom.SetIntProp(SITE, -1)
        ters = [_terminator(TERMINATORS[terminator], None, 0.0, None) for _ in range(2)]
        return Monomer(
            smiles, mol, ters[0], ters[1], charge_model, [-1] * mol.GetNumAtoms(),
            (mol.GetAtomWithIdx(linkers[0]).GetDoubleProp(CHARGE), mol.GetAtomWithIdx(linkers[1]).GetDoubleProp(CHARGE)),
            terminator,
        )

    if charges is None or atom_roles is None or smiles_mapped is None:
        raise TypingError('bad_input', 'charge_model resp needs charges, atom_roles and smiles_mapped')
    qm, q, roles = _qm_molecule(smiles_mapped, charges, atom_roles)
    n_units = max(roles) + 1
    k = n_units // 2 if unit is None else int(unit)
    frag, frag_sites = _unit_with_dummies(qm, roles, k)
    match = map_atoms(mol, frag)  # monomer atom i <-> frag atom match[i]

    side_charge = {
        CAP_HEAD: float(sum(q[i] for i, r in enumerate(roles) if r != k and _side_of(r, k) == CAP_HEAD)),
        CAP_TAIL: float(sum(q[i] for i, r in enumerate(roles) if r != k and _side_of(r, k) == CAP_TAIL)),
    }
    sites, sides = [], {}
    for atom in mol.GetAtoms():
        site = frag_sites[match[atom.GetIdx()]]
        if _is_linker(atom):
            side = _side_of(roles[site], k)
            sides[atom.GetIdx()] = side
            atom.SetDoubleProp(CHARGE, side_charge[side])
            atom.SetIntProp(SITE, -1)
            sites.append(-1)
        else:
            atom.SetDoubleProp(CHARGE, float(q[site]))
            atom.SetIntProp(SITE, int(site))
            sites.append(int(site))
    if sorted(sides.values()) != sorted([CAP_HEAD, CAP_TAIL]):
        raise TypingError('mapping', 'both linkers map to the same side of the QM unit')

    # Terminators: the cap atoms of the QM molecule on each side (C and its H), mapped onto RadonPy's '*C'.
    ters = {}
    for linker, side in sides.items():
        if terminator == 'H':
            # RadonPy replaces the chain's end linker by a plain H (no join): that H keeps the side charge.
            from radonpy.core import utils as rutils

            t = _radonpy_monomer('*[H]')
            for atom in t.GetAtoms():
                atom.SetIntProp(SITE, -1)
                atom.SetDoubleProp(CHARGE, 0.0)
            ters[side] = t
            continue
        cap_sites = [i for i, r in enumerate(roles) if r == side]
        cap = Chem.RWMol(qm)
        # the cap's neighbour in the next unit (or in unit k) becomes the terminator's linker
        bonded = [
            (b.GetBeginAtomIdx(), b.GetEndAtomIdx())
            for b in qm.GetBonds()
            if (roles[b.GetBeginAtomIdx()] == side) != (roles[b.GetEndAtomIdx()] == side)
        ]
        if len(bonded) != 1:
            raise TypingError('bad_input', f'cap {side} has {len(bonded)} bonds to the chain, expected 1')
        a, b = bonded[0]
        outside = b if roles[a] == side else a
        cap.GetAtomWithIdx(outside).SetAtomicNum(0)
        keep = sorted(cap_sites + [outside])
        for idx in sorted(set(range(qm.GetNumAtoms())) - set(keep), reverse=True):
            cap.RemoveAtom(idx)
        cap = cap.GetMol()
        cap.UpdatePropertyCache(strict=False)
        from radonpy.core import utils as rutils

        t = _radonpy_monomer('*C')
        tmatch = map_atoms(t, cap)
        tcharges = {i: float(q[keep[tmatch[i]]]) for i in range(t.GetNumAtoms()) if not _is_linker(t.GetAtomWithIdx(i))}
        tsites = {i: keep[tmatch[i]] for i in tcharges}
        ters[side] = _terminator_from(t, tcharges, side_charge[side] - sum(tcharges.values()), tsites)

    head_linker, tail_linker = linkers  # RadonPy: the first linker in atom order is the head
    return Monomer(
        smiles,
        mol,
        ters[sides[head_linker]],
        ters[sides[tail_linker]],
        charge_model,
        sites,
        (side_charge[sides[head_linker]], side_charge[sides[tail_linker]]),
        terminator,
    )


def _terminator_from(ter: Chem.Mol, charges: dict[int, float], linker_charge: float, sites: dict[int, int]):
    for atom in ter.GetAtoms():
        if _is_linker(atom):
            atom.SetDoubleProp(CHARGE, float(linker_charge))
            atom.SetIntProp(SITE, -1)
        else:
            atom.SetDoubleProp(CHARGE, charges[atom.GetIdx()])
            atom.SetIntProp(SITE, int(sites[atom.GetIdx()]))
    return ter


# -------------------------------------------------------------------------------------------------------- the chain
def degree_of_polymerization(monomer: Monomer, n_atoms: int) -> int:
    """RadonPy's ``calc_n_from_num_atoms``: the number of repeat units for about ``n_atoms`` atoms per chain."""
    from radonpy.core import poly

    return max(1, int(poly.calc_n_from_num_atoms(monomer.mol, n_atoms, terminal1=monomer.head_terminator,
                                                 terminal2=monomer.tail_terminator)))


def build_chain(monomer: Monomer, dp: int, tacticity: str = 'atactic', seed: int | None = None,
                timeout: float | None = DEFAULT_TIMEOUT) -> Chem.Mol:
    """``polymerize_rw`` then ``terminate_rw`` (RDKit MMFF relaxation, as RadonPy's default); not yet typed.

    With RESP charges and CH3 terminators the two chain-end linkers are zeroed before termination: the terminators
    bring the end charges. With H terminators RadonPy turns the end linkers into plain H atoms, which keep the side
    charges; with Gasteiger charges everything is folded as RadonPy does.
    """
    from radonpy.core import poly

    forcefield()
    seed_everything(seed)
    try:
        with time_limit(timeout, 'polymerize_rw'):
            chain = poly.polymerize_rw(Chem.Mol(monomer.mol), int(dp), tacticity=tacticity)
            if chain is None:
                raise TypingError('polymerize', 'polymerize_rw returned nothing')
            if monomer.zero_end_linkers:
                for atom in chain.GetAtoms():
                    if _is_linker(atom):
                        atom.SetDoubleProp(CHARGE, 0.0)
            chain = poly.terminate_rw(chain, Chem.Mol(monomer.head_terminator), Chem.Mol(monomer.tail_terminator))
    except TypingError:
        raise
    except Exception as exc:  # noqa: BLE001  (RadonPyError and RDKit errors alike)
        raise TypingError('polymerize', f'{type(exc).__name__}: {exc}') from exc
    return chain


def type_mol(mol: Chem.Mol, timeout: float | None = DEFAULT_TIMEOUT, what: str = 'chain') -> Chem.Mol:
    """``GAFF2_mod.ff_assign`` in place, keeping the charges already set; ``TypingError('typing')`` on failure."""
    ff = forcefield()
    try:
        with time_limit(timeout, f'GAFF2 typing of the {what}'):
            ok = ff.ff_assign(mol)
    except TypingError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise TypingError('typing', f'{what}: {type(exc).__name__}: {exc}') from exc
    if not ok:
        raise TypingError('typing', f'GAFF2_mod cannot type the {what}')
    return mol


def type_capped_monomer(smiles_mapped: str, charges, timeout: float | None = DEFAULT_TIMEOUT) -> Chem.Mol:
    """The QM capped molecule (site order), GAFF2-typed, with the RESP charges as ``AtomicCharge``."""
    mol = mol_from_mapped_smiles(smiles_mapped)
    from rdkit.Chem import AllChem

    # GAFF2 typing reads only the graph; coordinates are not needed, but RadonPy's props expect a conformer.
    AllChem.Compute2DCoords(mol)
    type_mol(mol, timeout, what='capped monomer')
    for atom, q in zip(mol.GetAtoms(), np.asarray(charges, dtype=float)):
        atom.SetDoubleProp(CHARGE, float(q))
        atom.SetIntProp(SITE, atom.GetIdx())
    return mol


def chain_charge(mol: Chem.Mol) -> float:
    return float(sum(a.GetDoubleProp(CHARGE) for a in mol.GetAtoms()))


def type_polymer(
    smiles: str,
    charges=None,
    atom_roles=None,
    smiles_mapped: str | None = None,
    *,
    charge_model: str = 'resp',
    dp: int | None = None,
    n_atoms: int | None = None,
    tacticity: str = 'atactic',
    terminator: str = 'CH3',
    seed: int | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    neutral_tol: float = 1e-6,
) -> TypedPolymer:
    """The whole route: monomer with charges -> chain (``dp`` units, or about ``n_atoms`` atoms) -> GAFF2 typing.

    Raises ``TypingError`` (``reason`` in ``REASONS``). ``seed`` seeds the random walk (Python ``random`` and
    NumPy, which RadonPy uses); ``timeout`` (s) bounds each step (chain build, typing).
    """
    seconds = {}
    start = time.perf_counter()
    if charge_model == 'resp' and smiles_mapped is None:
        # Roles and charges of an n=1 oligomer built here have the QM's site order only if smiles_mapped is given.
        raise TypingError('bad_input', 'charge_model resp needs smiles_mapped (the QM structure attribute)')
    capped, monomer_failure = None, None
    if charge_model == 'resp':
        try:
            capped = type_capped_monomer(smiles_mapped, charges, timeout)
        except TypingError as exc:
            monomer_failure = exc.reason if exc.reason != 'typing' else 'monomer_typing'
    seconds['monomer_typing'] = time.perf_counter() - start

    start = time.perf_counter()
    monomer = build_monomer(smiles, charges, atom_roles, smiles_mapped, charge_model=charge_model,
                            terminator=terminator)
    if charge_model == 'gasteiger':
        try:
            type_mol(Chem.Mol(monomer.mol), timeout, what='monomer')
        except TypingError as exc:
            monomer_failure = exc.reason if exc.reason != 'typing' else 'monomer_typing'
    if dp is None:
        if n_atoms is None:
            raise TypingError('bad_input', 'give dp or n_atoms')
        dp = degree_of_polymerization(monomer, n_atoms)
    seconds['monomer'] = time.perf_counter() - start

    start = time.perf_counter()
    chain = build_chain(monomer, dp, tacticity=tacticity, seed=seed, timeout=timeout)
    seconds['polymerize'] = time.perf_counter() - start

    start = time.perf_counter()
    charges_before = [a.GetDoubleProp(CHARGE) for a in chain.GetAtoms()]
    type_mol(chain, timeout, what='chain')
    for atom, q in zip(chain.GetAtoms(), charges_before):  # ff_assign(charge=None) keeps them; make sure
        atom.SetDoubleProp(CHARGE, q)
    seconds['chain_typing'] = time.perf_counter() - start

    total = chain_charge(chain)
    if abs(total) > neutral_tol:
        raise TypingError('not_neutral', f'chain charge {total:.3e} e')
    return TypedPolymer(chain, monomer, int(dp), charge_model, total, capped, monomer_failure, seconds)
