"""Leak audit of the descriptor sets: can a set's columns give the target back through a physical identity?

PI1070 (and the MD stage here) derive some properties from others: the refractive index comes from the density by
Lorentz–Lorenz with the monomer's QM polarizability and molecular weight, ``dielectric_const_dc`` is
``static_dielectric_const + n² − 1``, the thermal diffusivity is ``κ/(ρ·Cp)``, and the thermodynamic response
functions are tied together. A descriptor set that holds the right columns then "predicts" a target through an
identity rather than learning it. :func:`audit` looks for that in a descriptor table:

- **relations**: the identities of :data:`RELATIONS`, each solved for each of its variables, chained (a derived
  quantity feeds the next relation, e.g. density from ``dc − static + 1`` by Lorentz–Lorenz), every route scored by
  the R² of a least-squares calibration ``target ≈ a·estimate + b`` (linear, and in log space where both are
  positive): a constant factor (a unit, the temperature) never hides a leak;
- **generic**: least squares of ``log|target|`` on ``log|column|`` (and of the target on the raw columns) for every
  subset of up to ``max_subset`` of the set's physically named columns, with the logs of same-unit MD differences
  (``Cp − Cv``, ``dc − static``, ...) among the columns: power laws and sums nobody listed.

A route or subset with R² above :data:`THRESHOLD` (0.999) is a :class:`Finding`. The fix is an entry of
``aiida_polyinf.common.properties.LEAKS`` (the ``md`` set leaves those columns out); ``docs/ml-leaks.md`` lists the
exclusions per target and why. Physically named columns: the MD means (``md.*``), QM descriptors (``radonpy_qm.*``,
``qmex.*``) and the physical RDKit descriptors of :data:`PHYSICAL_2DFP`; ECFP bits and force-field parameter
averages (``ff.*``, ``ffkm.*``: inputs of the MD, intensive per-atom means) carry no MD output and are not searched.

Pure: numpy, pandas and (for :func:`physical_2dfp`) RDKit; no AiiDA.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd

from ..common.properties import PROPERTIES, unit

__all__ = ('THRESHOLD', 'RELATIONS', 'PHYSICAL_2DFP', 'EXEMPT_SETS', 'Finding', 'audit', 'audit_spec', 'set_table',
           'put_back', 'physical_2dfp')

#: A route to the target with a calibration R² above this is a leak.
THRESHOLD = 0.999
#: PI1070's temperature (K): the additive identities (``Cp − Cv``, ``κ_T − κ_S``) need it.
TEMPERATURE = 300.0
N_A = 6.02214076e23
#: Lorentz–Lorenz: (n² − 1)/(n² + 2) = LL·ρ·α/M, ρ in g/cm³, α in Å³, M in g/mol (4π N_A/3 · 1e-24 cm³/Å³).
LL = 4.0 * np.pi * N_A * 1e-24 / 3.0
BOHR3 = 0.529177210903**3
#: RDKit 2D descriptors with a physical meaning (mass, size, molar refractivity): the part of ``2dfp`` searched.
PHYSICAL_2DFP = ('MolWt', 'HeavyAtomMolWt', 'ExactMolWt', 'MolMR', 'LabuteASA', 'TPSA', 'NumValenceElectrons')
#: Sets not audited, with the reason (docs/ml-leaks.md).
EXEMPT_SETS = {
    'ecfp': 'Morgan bits: substructure presence, no physical quantity',
    'ff_gasteiger': 'GAFF2 parameter averages from SMILES (per-atom means of mass, charge, LJ and bonded constants): '
                    'inputs of the MD, intensive, no MD output, no molecular weight or polarizability',
    'ff': "this project's FF parameter averages (RESP charges): inputs of the MD, as ff_gasteiger",
    'graph': 'molecular graphs, no columns',
}
#: Columns that measure the same quantity as a symbol of the relations, with the conversion to its unit.
ALIASES = {
    'radonpy_qm.mol_weight_monomer': ('mol_weight', 1.0),
    '2dfp.MolWt': ('mol_weight', 1.0),
    'qmex.molecular_weight_amu': ('mol_weight', 1.0),
    'radonpy_qm.qm_polarizability_monomer': ('polarizability', 1.0),
    'qmex.polarizability_iso_bohr3': ('polarizability', BOHR3),
    '2dfp.MolMR': ('polarizability', 1.0 / LL),  # molar refractivity (cm³/mol) = LL·α: Crippen's estimate of α
}


def _sqrt(x):
    return np.sqrt(np.maximum(x, 0.0))


def _ll(n2):
    return (n2 - 1.0) / (n2 + 2.0)


def _n2(ratio):
    return (1.0 + 2.0 * ratio) / (1.0 - ratio)


@dataclasses.dataclass(frozen=True)
class Relation:
    """An identity among symbols (MD property names, ``mol_weight``, ``polarizability``, ``n2``, raw column names):
    ``solve[symbol](*others)`` gives that symbol from the others, named by the solver's arguments."""

    name: str
    solve: dict


def _relation(name, **solvers):
    return Relation(name, solvers)


def _args(function) -> tuple:
    return function.__code__.co_varnames[: function.__code__.co_argcount]


T = TEMPERATURE
_TENSOR = tuple(f'radonpy_qm.qm_polarizability_{c}_monomer' for c in ('xx', 'yy', 'zz'))

#: The identities searched, each solved for each of its symbols: the arguments of a solver are the symbols it needs
#: (``pxx``, ``pyy``, ``pzz`` stand for RadonPy's polarizability tensor columns, :data:`_ARG_COLUMNS`).
RELATIONS = (
    _relation('n² = refractive_index²', n2=lambda refractive_index: refractive_index**2,
              refractive_index=lambda n2: _sqrt(n2)),
    _relation('Lorentz–Lorenz: (n²−1)/(n²+2) = 4πN_A·ρ·α/(3M)',
              density=lambda n2, polarizability, mol_weight: _ll(n2) * mol_weight / (LL * polarizability),
              n2=lambda density, polarizability, mol_weight: _n2(LL * density * polarizability / mol_weight),
              polarizability=lambda n2, density, mol_weight: _ll(n2) * mol_weight / (LL * density),
              mol_weight=lambda n2, density, polarizability: LL * density * polarizability / _ll(n2)),
    _relation('dielectric_const_dc = static_dielectric_const + n² − 1',
              dielectric_const_dc=lambda static_dielectric_const, n2: static_dielectric_const + n2 - 1.0,
              static_dielectric_const=lambda dielectric_const_dc, n2: dielectric_const_dc - n2 + 1.0,
              n2=lambda dielectric_const_dc, static_dielectric_const: dielectric_const_dc - static_dielectric_const
              + 1.0),
    _relation('isotropic polarizability = trace/3',
              polarizability=lambda pxx, pyy, pzz: (pxx + pyy + pzz) / 3.0),
    _relation('compressibility = 1/bulk_modulus', compressibility=lambda bulk_modulus: 1.0 / bulk_modulus,
              bulk_modulus=lambda compressibility: 1.0 / compressibility),
    _relation('isentropic_compressibility = 1/isentropic_bulk_modulus',
              isentropic_compressibility=lambda isentropic_bulk_modulus: 1.0 / isentropic_bulk_modulus,
              isentropic_bulk_modulus=lambda isentropic_compressibility: 1.0 / isentropic_compressibility),
    _relation('α_V = 3·α_L', volume_expansion=lambda linear_expansion: 3.0 * linear_expansion,
              linear_expansion=lambda volume_expansion: volume_expansion / 3.0),
    _relation('thermal diffusivity = κ/(ρ·Cp)',
              thermal_diffusivity=lambda thermal_conductivity, density, Cp: thermal_conductivity / (1e3 * density * Cp),
              thermal_conductivity=lambda thermal_diffusivity, density, Cp: thermal_diffusivity * 1e3 * density * Cp,
              density=lambda thermal_conductivity, thermal_diffusivity, Cp: thermal_conductivity
              / (1e3 * thermal_diffusivity * Cp),
              Cp=lambda thermal_conductivity, thermal_diffusivity, density: thermal_conductivity
              / (1e3 * thermal_diffusivity * density)),
    _relation('Mayer: Cp − Cv = T·α_V²/(ρ·κ_T)',
              Cp=lambda Cv, volume_expansion, density, compressibility: Cv + T * volume_expansion**2
              / (1e3 * density * compressibility),
              Cv=lambda Cp, volume_expansion, density, compressibility: Cp - T * volume_expansion**2
              / (1e3 * density * compressibility),
              volume_expansion=lambda Cp, Cv, density, compressibility: _sqrt((Cp - Cv) * 1e3 * density
                                                                              * compressibility / T),
              density=lambda Cp, Cv, volume_expansion, compressibility: T * volume_expansion**2
              / (1e3 * compressibility * (Cp - Cv)),
              compressibility=lambda Cp, Cv, volume_expansion, density: T * volume_expansion**2
              / (1e3 * density * (Cp - Cv))),
    _relation('κ_S = κ_T·Cv/Cp',
              isentropic_compressibility=lambda compressibility, Cv, Cp: compressibility * Cv / Cp,
              compressibility=lambda isentropic_compressibility, Cv, Cp: isentropic_compressibility * Cp / Cv,
              Cv=lambda isentropic_compressibility, compressibility, Cp: Cp * isentropic_compressibility
              / compressibility,
              Cp=lambda isentropic_compressibility, compressibility, Cv: Cv * compressibility
              / isentropic_compressibility),
    _relation('κ_T − κ_S = T·α_V²/(ρ·Cp)',
              compressibility=lambda isentropic_compressibility, volume_expansion, density, Cp:
              isentropic_compressibility + T * volume_expansion**2 / (1e3 * density * Cp),
              isentropic_compressibility=lambda compressibility, volume_expansion, density, Cp:
              compressibility - T * volume_expansion**2 / (1e3 * density * Cp),
              volume_expansion=lambda compressibility, isentropic_compressibility, density, Cp:
              _sqrt((compressibility - isentropic_compressibility) * 1e3 * density * Cp / T),
              density=lambda compressibility, isentropic_compressibility, volume_expansion, Cp:
              T * volume_expansion**2 / (1e3 * Cp * (compressibility - isentropic_compressibility)),
              Cp=lambda compressibility, isentropic_compressibility, volume_expansion, density:
              T * volume_expansion**2 / (1e3 * density * (compressibility - isentropic_compressibility))),
    _relation('ideal chain: ⟨R²⟩ = 6·Rg²', r2=lambda Rg: 6.0 * Rg**2 / 100.0, Rg=lambda r2: _sqrt(r2 * 100.0 / 6.0)),
)
#: argument names that stand for raw columns
_ARG_COLUMNS = {'pxx': _TENSOR[0], 'pyy': _TENSOR[1], 'pzz': _TENSOR[2]}


@dataclasses.dataclass(frozen=True)
class Finding:
    """A route from a descriptor set's columns to the target with R² above the threshold."""

    target: str
    descriptors: str
    relation: str
    columns: tuple
    r2: float
    space: str = 'linear'

    def __str__(self):
        return (f'{self.target} from {self.descriptors}: {self.relation} [{", ".join(self.columns)}] '
                f'R²={self.r2:.7f} ({self.space})')


@dataclasses.dataclass(frozen=True)
class _Candidate:
    values: np.ndarray
    depth: int
    relations: tuple
    columns: frozenset


def _bare(column: str) -> str:
    return column[3:] if column.startswith('md.') else column


def _calibrated_r2(y: np.ndarray, estimate: np.ndarray, min_rows: int) -> tuple[float, str]:
    """Best R² of ``y ≈ a·estimate + b`` (linear) or ``log y ≈ a·log estimate + b`` (both positive)."""
    best, space = -np.inf, 'linear'
    with np.errstate(all='ignore'):
        for name, (u, v) in (('linear', (y, estimate)), ('log', (np.log(y), np.log(estimate)))):
            ok = np.isfinite(u) & np.isfinite(v)
            if ok.sum() < min_rows:
                continue
            r2 = _r2_line(u[ok], v[ok])
            if r2 > best:
                best, space = r2, name
    return float(best), space


def _r2_line(u, v) -> float:
    vc, uc = v - v.mean(), u - u.mean()
    ss_u, ss_v = float(uc @ uc), float(vc @ vc)
    if ss_u <= 0 or ss_v <= 0 or not np.isfinite(ss_v):
        return -np.inf
    return float((uc @ vc) ** 2 / (ss_u * ss_v))


def _direct(table: pd.DataFrame) -> dict:
    """The symbols the columns give directly: bare MD names, raw column names and the aliases."""
    cands: dict = {}
    for column in table.columns:
        values = table[column].to_numpy(dtype=float)
        for symbol, factor in [(_bare(column), 1.0)] + ([ALIASES[column]] if column in ALIASES else []):
            cands.setdefault(symbol, []).append(_Candidate(values * factor, 0, (), frozenset([column])))
    return cands


def _routes(table: pd.DataFrame, target: str, rounds: int = 3, keep: int = 3) -> list:
    """Candidates for ``target`` derived from the columns of ``table`` through chains of :data:`RELATIONS`."""
    cands = _direct(table)
    direct = set(cands)
    found: list = []
    seen = set()
    for _ in range(rounds):
        new: dict = {}
        for rel in RELATIONS:
            for symbol, function in rel.solve.items():
                if symbol in direct:
                    continue  # a column of the set already: exact
                args = [_ARG_COLUMNS.get(a, a) for a in _args(function)]
                if not all(a in cands for a in args):
                    continue
                pools = [[c for c in cands[a] if rel.name not in c.relations][:keep] for a in args]
                for combo in itertools.product(*pools):
                    columns = frozenset().union(*(c.columns for c in combo))
                    relations = tuple(dict.fromkeys(r for c in combo for r in c.relations)) + (rel.name,)
                    key = (symbol, columns, relations)
                    if key in seen:
                        continue
                    seen.add(key)
                    with np.errstate(all='ignore'):
                        values = np.asarray(function(*(c.values for c in combo)), dtype=float)
                    cand = _Candidate(values, 1 + max(c.depth for c in combo), relations, columns)
                    new.setdefault(symbol, []).append(cand)
                    if symbol == target:
                        found.append(cand)
        if not new:
            break
        for symbol, items in new.items():
            cands.setdefault(symbol, []).extend(items)
            cands[symbol].sort(key=lambda c: (c.depth, len(c.columns)))
    return found


def _physical(columns) -> list:
    out = []
    for c in columns:
        if c.startswith(('md.', 'radonpy_qm.', 'qmex.')) or c in PROPERTIES:
            out.append(c)
        elif c.startswith('2dfp.') and c[5:] in PHYSICAL_2DFP:
            out.append(c)
    return out


def _generic_features(table: pd.DataFrame) -> dict:
    """Physically named columns and the same-unit differences of the MD columns: ``{name: values}``."""
    cols = _physical(table.columns)
    feats = {c: table[c].to_numpy(dtype=float) for c in cols}
    md = [c for c in cols if _bare(c) in PROPERTIES]
    for a, b in itertools.combinations(md, 2):
        if unit(_bare(a)) == unit(_bare(b)):
            feats[f'{a} − {b}'] = feats[a] - feats[b]
    return feats


def _best_subsets(features: dict, y: np.ndarray, max_subset: int, threshold: float, log: bool) -> list:
    """Subsets of ``features`` whose least-squares fit of ``y`` (both logged with ``log``) has R² > threshold."""
    with np.errstate(all='ignore'):
        yy = np.log(np.abs(y)) if log else y
        names, cols = [], []
        base = np.isfinite(yy)
        for name, values in features.items():
            v = np.log(np.abs(values)) if log else values
            if np.isfinite(v[base]).mean() >= 0.98 and np.nanstd(v[base]) > 0:
                names.append(name)
                cols.append(v)
    if not names:
        return []
    X = np.column_stack(cols)
    rows = base & np.isfinite(X).all(axis=1)
    if rows.sum() < 20:
        return []
    X, yy = X[rows], yy[rows]
    Z = (X - X.mean(0)) / X.std(0)
    zy = (yy - yy.mean()) / yy.std()
    n = len(zy)
    C = Z.T @ Z / n
    c = Z.T @ zy / n
    out, flagged = [], []
    for k in range(1, min(max_subset, len(names)) + 1):
        idx = np.array(list(itertools.combinations(range(len(names)), k)))
        A = C[idx[:, :, None], idx[:, None, :]] + 1e-9 * np.eye(k)
        b = c[idx]
        r2 = np.einsum('ij,ij->i', b, np.linalg.solve(A, b[..., None])[..., 0])
        for i in np.flatnonzero(r2 > threshold):  # confirm with an exact least-squares fit
            subset = set(idx[i].tolist())
            if any(f <= subset for f in flagged):
                continue  # minimal subsets only: a leaking column leaks with any company
            design = np.column_stack([X[:, idx[i]], np.ones(n)])
            coef = np.linalg.lstsq(design, yy, rcond=None)[0]
            exact = 1.0 - float(np.sum((yy - design @ coef) ** 2) / np.sum((yy - yy.mean()) ** 2))
            if exact > threshold:
                flagged.append(subset)
                out.append((tuple(names[j] for j in idx[i]), exact))
    return out


def audit(y, table: pd.DataFrame, target: str, name: str = '', threshold: float = THRESHOLD,
          max_subset: int = 3) -> list[Finding]:
    """Leaks of ``target`` (values ``y``, aligned with the rows of ``table``) in the descriptor table ``table``.

    Columns are named as in :meth:`aiida_polyinf.ml.descriptors.Descriptors.matrix` (``md.density``,
    ``radonpy_qm.qm_polarizability_monomer``, ``2dfp.MolWt``, ...); ``name`` names the set in the findings. Returns
    every relation route and generic subset with R² > ``threshold``, best first.
    """
    y = np.asarray(y, dtype=float)
    table = table.reset_index(drop=True)
    min_rows = max(20, int(0.9 * np.isfinite(y).sum()))
    findings = []
    best_route: dict = {}
    for cand in _routes(table, target):
        r2, space = _calibrated_r2(y, cand.values, min_rows)
        if r2 > threshold:
            key = cand.relations
            if key not in best_route or r2 > best_route[key].r2:
                best_route[key] = Finding(target, name, ' ∘ '.join(cand.relations), tuple(sorted(cand.columns)), r2,
                                          space)
    findings.extend(best_route.values())
    features = _generic_features(table)
    for log in (True, False):
        for subset, r2 in _best_subsets(features, y, max_subset, threshold, log):
            space = 'log' if log else 'linear'
            relation = f'least squares of {"log|target| on log|columns|" if log else "target on columns"}'
            findings.append(Finding(target, name, relation, subset, r2, space))
    return sorted(findings, key=lambda f: -f.r2)


def physical_2dfp(smiles) -> pd.DataFrame:
    """The :data:`PHYSICAL_2DFP` RDKit descriptors (``2dfp.<name>``) of the H-capped repeat units, as ``2dfp`` has
    them (:func:`aiida_polyinf.ml.descriptors.capped_monomer`), without computing the other two hundred."""
    from rdkit.Chem import Descriptors as RD

    from .descriptors import capped_monomer

    functions = {name: getattr(RD, name) for name in PHYSICAL_2DFP}
    rows = []
    for s in smiles:
        mol = capped_monomer(s)
        rows.append({f'2dfp.{k}': float(f(mol)) for k, f in functions.items()})
    return pd.DataFrame(rows)


def set_table(frame: pd.DataFrame, spec: str, target: str, tables: dict | None = None,
              exclude=None) -> pd.DataFrame | None:
    """The physically named columns of descriptor set ``spec`` (``+``-joined) for ``target`` on ``frame``, as the
    benchmarks build them (``md``: :func:`~aiida_polyinf.ml.descriptors.md_columns`, so the LEAKS exclusions apply;
    ``exclude``, when given, replaces ``LEAKS[target]``); exempt parts (:data:`EXEMPT_SETS`) are left out; None when
    nothing is left. ``tables``: precomputed parts by set name (e.g. ``{'2dfp': physical_2dfp(frame['smiles'])}``),
    filled in and reused across calls."""
    from .descriptors import GRAPH_SETS, md_columns

    parts = []
    tables = {} if tables is None else tables
    for part in spec.split('+'):
        if part in EXEMPT_SETS:
            continue
        if part == 'md':
            if exclude is None:
                cols = md_columns(frame, target)
            else:
                cols = [n for n in PROPERTIES if n in frame.columns and n != target and n not in set(exclude)]
            parts.append(frame[cols].astype(float).set_axis([f'md.{c}' for c in cols], axis=1)
                         .reset_index(drop=True))
        elif part == '2dfp':
            if part not in tables:
                tables[part] = physical_2dfp(frame['smiles'])
            table = tables[part]
            parts.append(table[[c for c in table.columns if c[5:] in PHYSICAL_2DFP]].reset_index(drop=True))
        elif part in GRAPH_SETS:
            prefix = GRAPH_SETS[part]
            parts.append(frame[[c for c in frame.columns if c.startswith(prefix)]].astype(float).reset_index(drop=True))
        else:
            raise ValueError(f'unknown descriptor set {part!r}')
    return pd.concat(parts, axis=1) if parts else None


def audit_spec(frame: pd.DataFrame, target: str, spec: str, tables: dict | None = None, exclude=None,
               **kwargs) -> list[Finding]:
    """:func:`audit` of descriptor set ``spec`` for ``target`` on the dataset ``frame`` (see :func:`set_table`)."""
    table = set_table(frame, spec, target, tables, exclude)
    if table is None:
        return []
    return audit(frame[target].to_numpy(dtype=float), table, target, spec, **kwargs)


def put_back(frame: pd.DataFrame, target: str, column: str, spec: str = 'radonpy_qm+2dfp+md',
             tables: dict | None = None, threshold: float = 0.95) -> list[Finding]:
    """The routes to ``target`` that use ``column`` when that one exclusion of ``LEAKS[target]`` is put back into
    the ``md`` set (the others kept), with R² above ``threshold``, best first: the evidence of docs/ml-leaks.md."""
    from ..common.properties import LEAKS

    exclude = [c for c in LEAKS.get(target, ()) if c != column]
    findings = audit_spec(frame, target, spec, tables, exclude=exclude, threshold=threshold)
    return [f for f in findings if any(c == f'md.{column}' or f'md.{column} ' in c or c.endswith(f' md.{column}')
                                       for c in f.columns)]
