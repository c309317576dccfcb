"""Two-stage RESP charges (Bayly, Cieplak, Cornell, Kollman, J. Phys. Chem. 1993, 97, 10269).

Standalone: depends on numpy only, so it can be copied next to ``driver.py`` and run on a
remote computer.  Units: coordinates in Angstrom, ESP values in atomic units (Hartree/e).

Main entry points
-----------------
``mk_points(symbols, coords)``
    Merz-Kollman (Connolly-type) fitting points: shells at 1.4/1.6/1.8/2.0 x MK radii,
    ``density`` points per Angstrom^2 on each shell, points inside any other shell removed.
``resp_fit(symbols, coords, points, esp, total_charge, bonds, equivalence)``
    Standard two-stage RESP (a=0.0005 then a=0.001, b=0.1, hyperbolic restraint on
    heavy atoms only, total charge by Lagrange multiplier).  Stage 2 refits only
    methyl/methylene (CH3/CH2/CH4) carbons and their hydrogens; hydrogens on the same
    carbon and symmetry-equivalent atoms are constrained equal, everything else stays at
    its stage-1 value.  Symmetry-equivalent atoms that are not refitted in stage 2 are
    already constrained equal in stage 1 (e.g. the two carboxylate oxygens).
    Several conformers can be fitted together by passing lists for coords/points/esp.
"""
import numpy as np

BOHR = 0.52917721092  # Angstrom

# Merz-Kollman radii (Angstrom), as used by Gaussian/AMBER for MK/RESP points;
# missing elements fall back to Bondi radii.
MK_RADII = {"H": 1.20, "He": 1.20, "Li": 1.37, "Be": 1.45, "B": 1.45, "C": 1.50, "N": 1.50,
            "O": 1.40, "F": 1.35, "Ne": 1.30, "Na": 1.57, "Mg": 1.36, "Al": 1.24, "Si": 1.17,
            "P": 1.80, "S": 1.75, "Cl": 1.70}
BONDI_RADII = {"Ar": 1.88, "K": 2.75, "Ga": 1.87, "Ge": 2.11, "As": 1.85, "Se": 1.90,
               "Br": 1.85, "Kr": 2.02, "Sn": 2.17, "I": 1.98, "Xe": 2.16}


def _radius(sym):
    sym = sym.capitalize()
    if sym in MK_RADII:
        return MK_RADII[sym]
    if sym in BONDI_RADII:
        return BONDI_RADII[sym]
    raise KeyError("no MK/vdW radius for element %r" % sym)


def _sphere(n):
    """n quasi-uniform unit vectors (Fibonacci spiral; deterministic)."""
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    r = np.sqrt(np.maximum(0.0, 1.0 - z * z))
    phi = np.pi * (3.0 - np.sqrt(5.0)) * i
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])


def mk_points(symbols, coords, scales=(1.4, 1.6, 1.8, 2.0), density=1.0):
    """Merz-Kollman fitting points in Angstrom, shape (npts, 3)."""
    coords = np.asarray(coords, dtype=float).reshape(-1, 3)
    radii = np.array([_radius(s) for s in symbols])
    out = []
    for s in scales:
        rs = radii * s
        for i, c in enumerate(coords):
            n = max(1, int(density * 4.0 * np.pi * rs[i] ** 2))
            pts = c + rs[i] * _sphere(n)
            d = np.linalg.norm(pts[:, None, :] - coords[None, :, :], axis=2)
            inside = (d < rs[None, :] - 1e-8)
            inside[:, i] = False
            out.append(pts[~inside.any(axis=1)])
    return np.concatenate(out, axis=0)


def _as_list(x, depth):
    """Wrap a single conformer (array of ``depth`` dims) into a list of conformers."""
    return [np.asarray(x, dtype=float)] if np.asarray(x[0]).ndim == depth - 1 else \
        [np.asarray(e, dtype=float) for e in x]


def _design(coords_list, points_list, esp_list):
    """Accumulate A = X^T X and c = X^T V over conformers (X_kj = 1/r_kj in bohr^-1)."""
    n = len(coords_list[0])
    A = np.zeros((n, n))
    c = np.zeros(n)
    ssq = 0.0
    for xyz, pts, v in zip(coords_list, points_list, esp_list):
        r = np.linalg.norm(np.asarray(pts)[:, None, :] - np.asarray(xyz)[None, :, :], axis=2) / BOHR
        X = 1.0 / r
        A += X.T @ X
        c += X.T @ np.asarray(v)
        ssq += float(np.dot(v, v))
    return A, c, ssq


def _groups_from_labels(n, free, pairs):
    """Union-find parameter groups among free atoms; pairs is an iterable of (i, j)."""
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for i, j in pairs:
        if free[i] and free[j]:
            parent[find(i)] = find(j)
    groups = {}
    for i in range(n):
        if free[i]:
            groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


def fit(A, c, total_charge, groups, q_fixed, restrained, a, b=0.1, maxiter=200, tol=1e-8):
    """Restrained fit. ``groups``: list of atom-index lists sharing one charge parameter;
    atoms not in any group keep ``q_fixed``.  Returns charges (natom,)."""
    n = A.shape[0]
    M = np.zeros((n, len(groups)))
    for k, g in enumerate(groups):
        M[g, k] = 1.0
    qf = np.array(q_fixed, dtype=float)
    qf[M.sum(axis=1) > 0] = 0.0
    q = qf.copy()
    rmask = np.asarray(restrained, dtype=bool)
    for _ in range(maxiter):
        R = np.zeros(n)
        R[rmask] = a / np.sqrt(q[rmask] ** 2 + b * b)
        Ar = A + np.diag(R)
        H = M.T @ Ar @ M
        rhs = M.T @ (c - Ar @ qf)
        m = len(groups)
        K = np.zeros((m + 1, m + 1))
        K[:m, :m] = H
        K[:m, m] = K[m, :m] = M.sum(axis=0)
        sol = np.linalg.solve(K, np.append(rhs, total_charge - qf.sum()))
        q_new = qf + M @ sol[:m]
        done = np.max(np.abs(q_new - q)) < tol
        q = q_new
        if done or a == 0.0:
            break
    return q


def methyl_methylene_atoms(symbols, bonds):
    """Indices of C atoms carrying >= 2 H and of those hydrogens; also H->C map."""
    nbr = {i: [] for i in range(len(symbols))}
    for i, j in bonds:
        nbr[int(i)].append(int(j))
        nbr[int(j)].append(int(i))
    carbons, hyd = [], {}
    for i, s in enumerate(symbols):
        if s.capitalize() == "C":
            hs = [j for j in nbr[i] if symbols[j].capitalize() == "H"]
            if len(hs) >= 2:
                carbons.append(i)
                for h in hs:
                    hyd[h] = i
    return carbons, hyd


def resp_fit(symbols, coords, points, esp, total_charge=0, bonds=(), equivalence=None,
             a1=0.0005, a2=0.001, b=0.1, restrain_hydrogens=False):
    """Two-stage RESP. ``coords``/``points``/``esp`` may be single arrays or lists (one per
    conformer).  ``restrain_hydrogens=True`` corresponds to AMBER resp ``ihfree=0`` (the
    standard protocol, default False, leaves hydrogens unrestrained).  Returns dict with ``charges`` (stage 2), ``stage1``, ``esp_charges``
    (unrestrained), ``rrms`` (relative RMS of the final fit), ``npoints``."""
    n = len(symbols)
    coords_l = _as_list(coords, 2)
    points_l = _as_list(points, 2)
    esp_l = [np.asarray(e, dtype=float) for e in _as_list(esp, 1)]
    A, c, ssq = _design(coords_l, points_l, esp_l)
    # AMBER multi-molecule convention: every conformer copy of an atom carries its own
    # restraint, i.e. the restraint weight scales with the number of conformers.
    a1, a2 = a1 * len(coords_l), a2 * len(coords_l)
    heavy = np.array([restrain_hydrogens or s.capitalize() != "H" for s in symbols])
    eq = list(range(n)) if equivalence is None else [int(e) for e in equivalence]
    carbons, hyd = methyl_methylene_atoms(symbols, bonds)
    stage2_free = np.zeros(n, dtype=bool)
    stage2_free[carbons] = True
    stage2_free[list(hyd)] = True
    same_eq = [(i, j) for i in range(n) for j in range(i + 1, n) if eq[i] == eq[j]]

    allfree = np.ones(n, dtype=bool)
    esp_q = fit(A, c, total_charge, [[i] for i in range(n)], np.zeros(n), heavy, 0.0, b)
    # stage 1: everything free; equivalent atoms that are not refitted later are tied.
    g1 = _groups_from_labels(n, allfree, [(i, j) for i, j in same_eq
                                          if not (stage2_free[i] or stage2_free[j])])
    q1 = fit(A, c, total_charge, g1, np.zeros(n), heavy, a1, b)
    if stage2_free.any():
        pairs = []
        for ci in carbons:
            hs = [h for h, cc in hyd.items() if cc == ci]
            pairs += [(hs[0], h) for h in hs[1:]]
        pairs += same_eq
        g2 = _groups_from_labels(n, stage2_free, pairs)
        q2 = fit(A, c, total_charge, g2, q1, heavy, a2, b)
    else:
        q2 = q1.copy()
    # relative RMS error of the fit, sqrt(chi2 / sum V^2)
    chi2 = float(q2 @ A @ q2 - 2 * q2 @ c + ssq)
    return {"charges": q2.tolist(), "stage1": q1.tolist(), "esp_charges": esp_q.tolist(),
            "rrms": float(np.sqrt(max(chi2, 0.0) / ssq)),
            "npoints": int(sum(len(p) for p in points_l))}
