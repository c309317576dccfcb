"""Which basis set and ECP each element gets, and whether PySCF's library has them: checked here, where a campaign
is set up, so that a basis that cannot be built stops the set-up instead of a PySCF job in the middle of a campaign.

The driver decides what each element gets (:func:`aiida_polyinf.qm.driver.basis_plan`: ``basis_by_element`` where it
names the element, else ``basis``; the ECP of ``ecp_by_element``); this module asks PySCF's basis library
(``pyscf.gto.basis.load`` / ``load_ecp``, the files shipped with PySCF, no network) whether that plan can be built:

- the element's basis has the element;
- a basis made for an effective core potential (the def2 bases of Rb-Rn, LANL2DZ) is used with its ECP, named in
  ``ecp_by_element``, and an all-electron basis with none: a def2 valence basis on all 53 electrons of iodine would
  run, and be wrong.

The same checks apply to the main method (``parameters.method``) and to RESP (``parameters.properties.resp``, when
enabled). Pure: PySCF only, no AiiDA.
"""

from __future__ import annotations

import functools
import warnings

from .driver import basis_plan, canonical_basis_name, element_symbol

#: The two method blocks of the driver input that name a basis: (label, path in ``parameters``).
BLOCKS = (('method', ('method',)), ('RESP', ('properties', 'resp')))


class BasisError(ValueError):
    """A basis or ECP name that PySCF's library does not have for an element, or a basis used without its ECP."""


@functools.lru_cache(maxsize=None)
def _orbital_basis(name: str, element: str) -> bool:
    from pyscf.gto import basis

    with warnings.catch_warnings():  # "install basis-set-exchange": we check the shipped library only
        warnings.simplefilter('ignore')
        try:
            return bool(basis.load(name, element))
        except Exception:  # noqa: BLE001 - BasisNotFoundError, RuntimeError, KeyError: not in the library
            return False


@functools.lru_cache(maxsize=None)
def _ecp(name: str, element: str) -> tuple | None:
    """The ECP the library file ``name`` holds for ``element`` (as a hashable tuple), or None."""
    from pyscf.gto import basis

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            ecp = basis.load_ecp(name, element)
        except Exception:  # noqa: BLE001
            return None
    return _frozen(ecp) if ecp else None


def _frozen(value):
    return tuple(_frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


def has_basis(name: str, element: str) -> bool:
    """Whether PySCF's basis library has the basis ``name`` (any spelling, :func:`canonical_basis_name`) for
    ``element``."""
    return _orbital_basis(canonical_basis_name(name), element_symbol(element))


def has_ecp(name: str, element: str) -> bool:
    """Whether PySCF's library file ``name`` holds an ECP for ``element`` (def2-* for Rb-Rn, lanl2dz for Na-Bi)."""
    return _ecp(canonical_basis_name(name), element_symbol(element)) is not None


def element_problem(block: dict, element: str) -> str | None:
    """Why ``element`` cannot be computed with the method block ``block`` (``method`` or ``properties.resp``), in
    words, or None when it can."""
    element = element_symbol(element)
    basis, ecp = basis_plan(block, [element])
    basis, ecp = basis[element], ecp.get(element)
    if not _orbital_basis(basis, element):
        per_element = {element_symbol(k) for k in (block.get('basis_by_element') or {})}
        where = 'basis_by_element names' if element in per_element else 'basis is'
        return f'{where} {basis}, which PySCF\'s basis library does not have for {element}'
    own = _ecp(basis, element)
    if ecp is None and own is not None:
        return f'basis {basis} of {element} is made for an effective core potential: ecp_by_element must name it ' \
               f'({element}: {basis})'
    if ecp is not None:
        given = _ecp(ecp, element)
        if given is None:
            return f'ecp_by_element names {ecp} for {element}, and PySCF\'s library has no such ECP for {element}'
        if own is None:
            return f'ecp_by_element names {ecp} for {element}, but its basis {basis} is an all-electron basis'
        if given != own:
            return f'ecp_by_element names {ecp} for {element}, not the ECP its basis {basis} is made for'
    return None


def _blocks(parameters: dict):
    for label, path in BLOCKS:
        block = parameters
        for key in path:
            block = (block or {}).get(key) or {}
        if not block or 'basis' not in block:
            continue
        if label == 'RESP' and not block.get('enabled', False):
            continue
        yield label, block


def unsupported(parameters: dict, elements) -> dict[str, str]:
    """The elements among ``elements`` that the driver input ``parameters`` (a QM protocol's ``parameters``, merged
    over the driver's defaults where a block is incomplete) cannot compute, each with the reason (main method and
    RESP both count). Empty: all can be computed."""
    from .driver import DEFAULT_INPUT, deep_merge

    full = deep_merge({k: DEFAULT_INPUT[k] for k in ('method', 'properties')}, parameters)
    problems: dict[str, str] = {}
    for element in sorted({element_symbol(e) for e in elements}):
        reasons = [f'{label}: {why}' for label, block in _blocks(full) if (why := element_problem(block, element))]
        if reasons:
            problems[element] = '; '.join(reasons)
    return problems


def resolve(parameters: dict) -> dict:
    """``parameters`` with every basis and ECP name of the main method and of RESP in PySCF's spelling
    (``6-31g(d)`` -> ``6-31g*``) and the element keys as symbols (``br`` -> ``Br``).

    :raises BasisError: a name that PySCF's library has for no element at all (a misspelling), naming it and where it
        is, or a key of ``basis_by_element`` / ``ecp_by_element`` that is no element symbol.
    """
    from pyscf.data.elements import ELEMENTS

    known = set(ELEMENTS[1:])
    result = dict(parameters)
    for label, block in _copied_blocks(result):
        if block.get('basis') is not None:
            block['basis'] = canonical_basis_name(block['basis'])
            if not any(_orbital_basis(block['basis'], el) for el in ('H', 'C', 'O', 'Br', 'I')):
                raise BasisError(f'{label} basis {block["basis"]!r} is not in PySCF\'s basis library (for H, C, O, '
                                 'Br or I); use a PySCF name such as 6-31g*, 6-31g** or def2-svp')
        for key, check in (('basis_by_element', _orbital_basis), ('ecp_by_element', _ecp)):
            entries = {}
            for element, name in (block.get(key) or {}).items():
                if not name:  # null: no entry (an override's way to remove one)
                    continue
                symbol = element_symbol(element)
                if symbol not in known:
                    raise BasisError(f'{label} {key}: {element!r} is not an element symbol')
                name = canonical_basis_name(name)
                if not check(name, symbol):
                    kind = 'basis' if key == 'basis_by_element' else 'ECP'
                    raise BasisError(f'{label} {key}: {kind} {name!r} for {symbol} is not in PySCF\'s library')
                entries[symbol] = name
            if key in block:
                block[key] = entries
    return result


def _copied_blocks(parameters: dict):
    """``(label, block)`` of each method block of :data:`BLOCKS` present in ``parameters``, the block and the dicts on
    its path copied in place first, so that the caller changes its own copy, never the input it was given."""
    for label, path in BLOCKS:
        parent = parameters
        for key in path[:-1]:
            if not isinstance(parent.get(key), dict):
                parent = None
                break
            parent[key] = dict(parent[key])
            parent = parent[key]
        if parent is None or not isinstance(parent.get(path[-1]), dict):
            continue
        parent[path[-1]] = dict(parent[path[-1]])
        yield label, parent[path[-1]]


def for_elements(parameters: dict, elements) -> dict:
    """``parameters`` with the per-element entries (``basis_by_element``, ``ecp_by_element``) of the main method and
    of RESP kept for ``elements`` only, and dropped where none is left: a molecule's job input then holds only what
    applies to it (a polymer without iodine gets the same input, and the same cached job, as before iodine had an
    entry)."""
    keep = {element_symbol(e) for e in elements}
    result = dict(parameters)
    for _, block in _copied_blocks(result):
        for key in ('basis_by_element', 'ecp_by_element'):
            if key in block:
                entries = {k: v for k, v in (block[key] or {}).items() if element_symbol(k) in keep}
                if entries:
                    block[key] = entries
                else:
                    del block[key]
    return result


def check(parameters: dict, elements, protocol: str | None = None) -> dict:
    """:func:`resolve` ``parameters``, refuse elements it cannot compute (:class:`BasisError` naming the element, the
    basis and the protocol) and keep the per-element entries of ``elements`` (:func:`for_elements`)."""
    resolved = resolve(parameters)
    problems = unsupported(resolved, elements)
    if problems:
        name = f'QM protocol {protocol}' if protocol else 'the QM parameters'
        raise BasisError('; '.join(f'{element}: {name} cannot compute it ({why})' for element, why in problems.items()))
    return for_elements(resolved, elements)
