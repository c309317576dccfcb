"""QM descriptor driver: geometry optimisation + QMex-style descriptors + RESP charges.

Self-contained: needs only pyscf, geometric, numpy (and gpu4pyscf when ``"gpu": true``)
plus the sibling module ``resp.py``.  Run as ``python driver.py input.json`` inside the
calculation folder.  Never imports aiida or aiida_polyinf.

Input JSON (every key optional except ``molecule``; defaults in ``DEFAULT_INPUT``)::

  molecule:     symbols, coords_angstrom, charge, spin (2S), bonds [[i,j],..] (0-based),
                equivalence [class per atom] (RDKit CanonicalRankAtoms(breakTies=False))
  method:       xc ("hf" or any pyscf xc), basis, basis_by_element ({element: basis} for the
                elements that do not take ``basis``, e.g. {"I": "def2-svp"}), ecp_by_element
                ({element: ECP}, e.g. {"I": "def2-svp"}: the def2 ECP of iodine), cart (bool, default false),
                grid_level, density_fit, auxbasis, dispersion (null | "d3bj" | "d3zero" | "d4";
                needs the pyscf-dispersion package),
                scf: conv_tol, max_cycle, level_shift, damping, newton, init_guess
  optimization: enabled, max_steps, require_convergence,
                convergence (geomeTRIC kwargs, e.g. convergence_energy / convergence_set; {} = defaults),
                grid_level, conv_tol, density_fit (optional cheaper settings used only during
                the optimisation steps; null = same as method)
  properties:   polarizability, solvation {name: eps} (IEF-PCM), ionization, esp_surface,
                bond_orders, spatial_extent, thermo, volume_grid_spacing_bohr (0.2),
                pcm_lebedev_order (null = pyscf default 29; 17 is ~3x cheaper),
                esp_surface_max_points (6000), strict (false: a failing property is reported in
                ``property_errors`` and omitted; true: it makes the run fail with "error"),
                resp: {enabled, xc, basis, basis_by_element, ecp_by_element (as in method),
                cart (null = auto: true for Pople 6-31* bases, i.e.
                Gaussian 6D convention used for AMBER charges), density (points/A^2, 1.0),
                scales ([1.4,1.6,1.8,2.0])}
  resources:    num_threads, max_memory_mb (pyscf max_memory), walltime_s (driver stops cleanly
                before it), memory_limit_mb (optional hard RLIMIT_AS cap -> MemoryError)
  restart:      chkfile ("pyscf.chk"), init_from_chk (SCF guess from chkfile),
                geometry_xyz (xyz file whose coordinates replace molecule.coords_angstrom)
  gpu:          false | true (gpu4pyscf; no silent CPU fallback)
  verbose:      pyscf verbosity (3)

Basis names are PySCF's (lower case; ``6-31g(d)`` is read as ``6-31g*``, ``6-31g(d,p)`` as
``6-31g**``: ``canonical_basis_name``). results.json records the basis and ECP each element got:
``basis_used`` / ``ecp_used`` (main method) and ``resp.basis_used`` / ``resp.ecp_used``.

Outputs in cwd: results.json (always), trajectory.xyz, last_geometry.xyz (whenever a geometry
exists), optimized.xyz (status ok only), pyscf.chk, human log on stdout.
Exit codes: ok 0, error 1, scf_not_converged 11, geometry_not_converged 12,
walltime_exceeded 13, out_of_memory 14.
"""
import copy
import json
import os
import signal
import sys
import time
import traceback

import numpy as np

try:
    from . import resp as _resp
except ImportError:  # run as a script next to resp.py
    import resp as _resp

DRIVER_VERSION = "1.0"
HARTREE_EV = 27.211386245988
HARTREE_KCAL = 627.5094740631
BOHR_A = 0.529177210903
AU_DEBYE = 2.541746473
AVOGADRO = 6.02214076e23
HARTREE_J = 4.3597447222071e-18
CAL = 4.184

EXIT_CODES = {"ok": 0, "error": 1, "scf_not_converged": 11, "geometry_not_converged": 12,
              "walltime_exceeded": 13, "out_of_memory": 14}

DEFAULT_INPUT = {
    "molecule": {"symbols": [], "coords_angstrom": [], "charge": 0, "spin": 0,
                 "bonds": [], "equivalence": None},
    "method": {"xc": "b3lyp", "basis": "6-31g*", "basis_by_element": {}, "ecp_by_element": {},
               "cart": False, "grid_level": 3,
               "density_fit": False, "auxbasis": None, "dispersion": None,
               "scf": {"conv_tol": 1e-9, "max_cycle": 100, "level_shift": 0.0, "damping": 0.0,
                       "newton": False, "init_guess": "minao"}},
    "optimization": {"enabled": True, "max_steps": 100, "require_convergence": True,
                     "convergence": {}, "grid_level": None, "conv_tol": None,
                     "density_fit": None},
    "properties": {"polarizability": True, "solvation": {"water": 78.3553, "octanol": 9.86},
                   "ionization": True, "esp_surface": True, "bond_orders": True,
                   "spatial_extent": True, "thermo": False, "volume_grid_spacing_bohr": 0.2,
                   "esp_surface_max_points": 6000, "pcm_lebedev_order": None, "strict": False,
                   "resp": {"enabled": True, "xc": "hf", "basis": "6-31g*", "basis_by_element": {},
                            "ecp_by_element": {}, "cart": None,
                            "density": 1.0, "scales": [1.4, 1.6, 1.8, 2.0]}},
    "resources": {"num_threads": 2, "max_memory_mb": 4000, "walltime_s": None,
                  "memory_limit_mb": None},
    "restart": {"chkfile": "pyscf.chk", "init_from_chk": False, "geometry_xyz": None},
    "gpu": False,
    "verbose": 3,
}


class DriverStop(Exception):
    """Clean stop with a status (not a RuntimeError: geomeTRIC must not swallow it)."""
    status = "error"


class WalltimeExceeded(DriverStop):
    status = "walltime_exceeded"


class ScfNotConverged(DriverStop):
    status = "scf_not_converged"


class GeometryNotConverged(DriverStop):
    status = "geometry_not_converged"


class GpuUnavailable(DriverStop):
    status = "error"


def log(msg):
    print("[driver %8.1fs] %s" % (time.time() - _T0, msg), flush=True)


_T0 = time.time()


# dict-valued settings that a user value replaces instead of being merged into
REPLACE_KEYS = ("solvation", "convergence")


def deep_merge(base, over):
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k not in REPLACE_KEYS:
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class Clock:
    """Walltime guard: stops before ``walltime_s`` with a safety margin."""

    def __init__(self, walltime_s):
        self.t0 = _T0
        self.deadline = None
        if walltime_s:
            margin = max(2.0, 0.05 * float(walltime_s))
            self.deadline = self.t0 + float(walltime_s) - margin

    def check(self, where="", need_s=0.0):
        if self.deadline is not None and time.time() + need_s > self.deadline:
            raise WalltimeExceeded("walltime limit reached during %s (%.1f s elapsed)"
                                   % (where, time.time() - self.t0))


def read_xyz(path):
    with open(path) as fh:
        lines = fh.read().splitlines()
    n = int(lines[0].split()[0])
    syms, xyz = [], []
    for line in lines[2:2 + n]:
        p = line.split()
        syms.append(p[0])
        xyz.append([float(x) for x in p[1:4]])
    return syms, xyz


def xyz_block(symbols, coords, comment=""):
    lines = ["%d" % len(symbols), comment.replace("\n", " ")]
    lines += ["%-2s %16.10f %16.10f %16.10f" % (s, *c) for s, c in zip(symbols, coords)]
    return "\n".join(lines) + "\n"


def _np(x):
    """cupy -> numpy (GPU path) or identity."""
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


# ----------------------------------------------------------------------------- basis sets
def canonical_basis_name(name):
    """PySCF's spelling of a basis-set name: lower case, no blanks, and the Pople polarisation
    written ``(d)`` / ``(d,p)`` as ``*`` / ``**`` (``6-31g(d)`` -> ``6-31g*``, ``6-31+g(d,p)`` ->
    ``6-31+g**``). PySCF reads ``6-31g(d)`` by adding its own d shells to ``6-31g``, which has no
    third-row atoms (no Br), while its ``6-31g*`` file is the published 6-31G* (Br included)."""
    text = str(name).strip().lower().replace(" ", "")
    if text.startswith(("3-21", "6-31")):
        for paren, stars in (("(d,p)", "**"), ("(d)", "*")):
            if text.endswith(paren):
                return text[:-len(paren)] + stars
    return text


def element_symbol(symbol):
    """``br``, ``BR`` -> ``Br``."""
    symbol = str(symbol).strip()
    return symbol[:1].upper() + symbol[1:].lower()


def basis_plan(method, symbols):
    """The basis and the ECP of every element of ``symbols`` under a method block (``method`` or
    ``properties.resp``): ``basis_by_element`` where it names the element, else ``basis``; the ECP
    of ``ecp_by_element`` (none when it does not name the element). Returns two dicts keyed by
    element symbol, in sorted order: ({element: basis}, {element: ecp})."""
    main = canonical_basis_name(method["basis"])
    per = {element_symbol(k): canonical_basis_name(v)
           for k, v in (method.get("basis_by_element") or {}).items() if v}
    ecps = {element_symbol(k): canonical_basis_name(v)
            for k, v in (method.get("ecp_by_element") or {}).items() if v}
    elements = sorted({element_symbol(s) for s in symbols})
    return ({el: per.get(el, main) for el in elements},
            {el: ecps[el] for el in elements if el in ecps})


# ----------------------------------------------------------------------------- SCF setup
def build_mol(inp, coords, method=None, cart=None, charge=None, spin=None):
    """The molecule at ``coords`` with the basis and ECP of ``method`` (default ``inp["method"]``)
    for each of its elements (``basis_plan``)."""
    from pyscf import gto
    m = inp["molecule"]
    mol = gto.Mole()
    mol.atom = [[s, tuple(c)] for s, c in zip(m["symbols"], coords)]
    mol.unit = "Angstrom"
    mol.basis, ecp = basis_plan(method or inp["method"], m["symbols"])
    if ecp:
        mol.ecp = ecp
    mol.cart = bool(inp["method"].get("cart", False) if cart is None else cart)
    mol.charge = int(m.get("charge", 0) if charge is None else charge)
    mol.spin = int(m.get("spin", 0) if spin is None else spin)
    mol.verbose = int(inp.get("verbose", 3))
    mol.max_memory = float(inp["resources"].get("max_memory_mb") or 4000)
    mol.build()
    return mol


def is_hf(xc):
    return str(xc).lower() in ("hf", "rhf", "uhf", "scf")


def make_mf(mol, inp, clock, xc=None, grid_level=None, conv_tol=None, density_fit=None,
            dispersion="__default__", pcm_eps=None, chkfile=None):
    """Build an (R/U)(HF/KS) object with the SCF options of ``inp``."""
    from pyscf import scf, dft
    meth = inp["method"]
    sopt = meth.get("scf", {})
    xc = meth["xc"] if xc is None else xc
    restricted = mol.spin == 0
    if is_hf(xc):
        mf = scf.RHF(mol) if restricted else scf.UHF(mol)
    else:
        mf = dft.RKS(mol) if restricted else dft.UKS(mol)
        mf.xc = xc
        mf.grids.level = int(meth.get("grid_level", 3) if grid_level is None else grid_level)
    disp = meth.get("dispersion") if dispersion == "__default__" else dispersion
    if disp:
        mf.disp = disp
    df = meth.get("density_fit", False) if density_fit is None else density_fit
    if df:
        mf = mf.density_fit(auxbasis=meth.get("auxbasis"))
    mf.conv_tol = float(sopt.get("conv_tol", 1e-9) if conv_tol is None else conv_tol)
    mf.max_cycle = int(sopt.get("max_cycle", 100))
    mf.level_shift = float(sopt.get("level_shift", 0.0) or 0.0)
    mf.damp = float(sopt.get("damping", 0.0) or 0.0)
    mf.init_guess = sopt.get("init_guess", "minao") or "minao"
    mf.chkfile = chkfile
    if pcm_eps is not None:
        mf = mf.PCM()
        mf.with_solvent.method = "IEF-PCM"
        mf.with_solvent.eps = float(pcm_eps)
        lorder = inp["properties"].get("pcm_lebedev_order")
        if lorder:
            mf.with_solvent.lebedev_order = int(lorder)
    if sopt.get("newton", False):
        mf = mf.newton()
    mf.chkfile = chkfile

    def _cb(envs):
        clock.check("SCF")
    mf.callback = _cb
    if inp.get("gpu"):
        mf = to_gpu(mf)
    return mf


# ---- GPU path (kept small; untested without a GPU) --------------------------------------
def to_gpu(mf):
    try:
        import gpu4pyscf  # noqa: F401
    except ImportError as exc:
        raise GpuUnavailable("gpu=true requested but gpu4pyscf is not importable (%s); "
                             "refusing to fall back to CPU" % exc)
    return mf.to_gpu()


def to_cpu(mf):
    """Analysis (CPHF, grids, ESP, Mayer) runs on a CPU copy of a converged GPU SCF."""
    return mf.to_cpu() if hasattr(mf, "to_cpu") else mf
# ------------------------------------------------------------------------------------------


class Counter:
    def __init__(self):
        self.cycles = {}

    def add(self, name, mf):
        self.cycles[name] = self.cycles.get(name, 0) + int(getattr(mf, "cycles", 0) or 0)

    def as_dict(self):
        d = dict(self.cycles)
        d["total"] = sum(self.cycles.values())
        return d


def run_scf(mf, counter, name, dm0=None):
    mf.kernel(dm0=dm0)
    counter.add(name, mf)
    if not mf.converged:
        raise ScfNotConverged("SCF not converged (%s, %d cycles)" % (name, mf.max_cycle))
    return mf


def dm_for(mf_target_mol_spin, dm):
    """Adapt a density matrix between restricted (2D) and unrestricted (3D) forms."""
    dm = _np(dm)
    if mf_target_mol_spin == "u" and dm.ndim == 2:
        return np.array([dm * 0.5, dm * 0.5])
    if mf_target_mol_spin == "r" and dm.ndim == 3:
        return dm[0] + dm[1]
    return dm


# ----------------------------------------------------------------------------- optimisation
def optimize(mol, inp, clock, counter, state, dm0):
    from pyscf.geomopt import geometric_solver
    opt = inp["optimization"]
    mf = make_mf(mol, inp, clock, grid_level=opt.get("grid_level"), conv_tol=opt.get("conv_tol"),
                 density_fit=opt.get("density_fit"), chkfile=inp["restart"]["chkfile"])
    if dm0 is not None:  # initial guess from restart chk: run first SCF explicitly
        run_scf(mf, counter, "optimization", dm0=dm0)
    symbols = inp["molecule"]["symbols"]
    steps = {"n": 0, "tmax": 0.0, "tlast": time.time()}
    with open("trajectory.xyz", "a") as traj:
        def callback(env):
            g = env["g_scanner"]
            state["scanner_mf"] = g.base
            counter.add("optimization", g.base)
            now = time.time()
            steps["n"] += 1
            steps["tmax"] = max(steps["tmax"], now - steps["tlast"])
            steps["tlast"] = now
            xyz = env["mol"].atom_coords() * BOHR_A
            e = float(env["energy"])
            state["coords"] = xyz.tolist()
            state["opt_energies"].append(e)
            state["opt_steps"] = steps["n"]
            traj.write(xyz_block(symbols, xyz, "step %d E= %.10f Ha converged_scf=%s"
                                 % (steps["n"], e, bool(g.converged))))
            traj.flush()
            log("opt step %d  E = %.10f Ha  |g| = %.2e" % (steps["n"], e,
                                                          np.linalg.norm(_np(env["gradients"]))))
            if not g.converged:
                raise ScfNotConverged("SCF not converged during geometry step %d" % steps["n"])
            clock.check("geometry optimisation", need_s=1.2 * steps["tmax"])
        conv, newmol = geometric_solver.kernel(
            mf, assert_convergence=False, callback=callback,
            maxsteps=int(opt.get("max_steps", 100)), **(opt.get("convergence") or {}))
    state["coords"] = (newmol.atom_coords() * BOHR_A).tolist()
    state["geometry_converged"] = bool(conv)
    log("geomeTRIC finished: converged=%s after %d steps" % (conv, steps["n"]))
    if not conv and opt.get("require_convergence", True):
        raise GeometryNotConverged("geometry not converged within %d steps"
                                   % int(opt.get("max_steps", 100)))
    # the scanner's last SCF belongs to the last evaluated geometry == returned geometry
    return newmol, state.get("scanner_mf")


# ----------------------------------------------------------------------------- properties
def frontier(mf):
    e = _np(mf.mo_energy)
    occ = _np(mf.mo_occ)
    if e.ndim == 1:
        occ_e, vir_e = np.sort(e[occ > 0]), np.sort(e[occ == 0])
    else:
        occ_e = np.sort(np.concatenate([e[0][occ[0] > 0], e[1][occ[1] > 0]]))
        vir_e = np.sort(np.concatenate([e[0][occ[0] == 0], e[1][occ[1] == 0]]))
    d = {"homo_eV": occ_e[-1] * HARTREE_EV}
    if len(occ_e) > 1:
        d["homo_minus1_eV"] = occ_e[-2] * HARTREE_EV
    if len(vir_e):
        d["lumo_eV"] = vir_e[0] * HARTREE_EV
        d["gap_eV"] = (vir_e[0] - occ_e[-1]) * HARTREE_EV
    if len(vir_e) > 1:
        d["lumo_plus1_eV"] = vir_e[1] * HARTREE_EV
    return d


def nuclear_charges(mol):
    """The atomic numbers (an ECP atom's effective charge ``mol.atom_charges()`` plus its core
    electrons), so that a centre of nuclear charge does not depend on which atoms have an ECP."""
    z = mol.atom_charges().astype(float)
    if mol.has_ecp():
        z = z + np.array([mol.atom_nelec_core(i) for i in range(mol.natm)], dtype=float)
    return z


def charge_center(mol):
    z = nuclear_charges(mol)
    return z @ mol.atom_coords() / z.sum()


def polarizability(mf):
    """Static dipole polarizability (bohr^3) by analytic CPHF/CPKS (own implementation)."""
    from pyscf.scf import cphf, ucphf
    mol = mf.mol
    with mol.with_common_orig(charge_center(mol)):
        r = mol.intor_symmetric("int1e_r", comp=3)
    C, occ, e = mf.mo_coeff, mf.mo_occ, mf.mo_energy
    vresp = mf.gen_response(hermi=1)
    if np.asarray(C).ndim == 2:
        o, v = C[:, occ > 0], C[:, occ == 0]
        nv, no = v.shape[1], o.shape[1]
        h1 = np.einsum("xpq,pa,qi->xai", r, v, o)

        def fvind(x):
            x = x.reshape(-1, nv, no)
            d1 = np.einsum("pa,xai,qi->xpq", v, x, o)
            d1 = (d1 + d1.transpose(0, 2, 1)) * 2.0
            return np.einsum("pa,xpq,qi->xai", v, vresp(d1), o).reshape(len(x), -1)
        u = cphf.solve(fvind, e, occ, h1, max_cycle=100, tol=1e-9)[0]
        alpha = -4.0 * np.einsum("xai,yai->xy", h1, u)
    else:
        oa, va = C[0][:, occ[0] > 0], C[0][:, occ[0] == 0]
        ob, vb = C[1][:, occ[1] > 0], C[1][:, occ[1] == 0]
        h1a = np.einsum("xpq,pa,qi->xai", r, va, oa)
        h1b = np.einsum("xpq,pa,qi->xai", r, vb, ob)
        na, nb = h1a[0].size, h1b[0].size

        def fvind(x):
            x = x.reshape(-1, na + nb)
            xa = x[:, :na].reshape(-1, *h1a.shape[1:])
            xb = x[:, na:].reshape(-1, *h1b.shape[1:])
            da = np.einsum("pa,xai,qi->xpq", va, xa, oa)
            db = np.einsum("pa,xai,qi->xpq", vb, xb, ob)
            da = da + da.transpose(0, 2, 1)
            db = db + db.transpose(0, 2, 1)
            v1 = vresp(np.array([da, db]))
            wa = np.einsum("pa,xpq,qi->xai", va, v1[0], oa).reshape(len(x), -1)
            wb = np.einsum("pa,xpq,qi->xai", vb, v1[1], ob).reshape(len(x), -1)
            return np.hstack([wa, wb])
        (ua, ub), _ = ucphf.solve(fvind, e, occ, (h1a, h1b), max_cycle=100, tol=1e-9)
        alpha = -2.0 * (np.einsum("xai,yai->xy", h1a, ua) + np.einsum("xai,yai->xy", h1b, ub))
    alpha = 0.5 * (alpha + alpha.T)
    w = np.linalg.eigvalsh(alpha)
    aniso = np.sqrt(0.5 * ((w[0] - w[1]) ** 2 + (w[1] - w[2]) ** 2 + (w[2] - w[0]) ** 2))
    return alpha, float(np.trace(alpha) / 3.0), float(aniso)


def esp_at_points(mol, dm, points_bohr, max_block_mb=200):
    """Molecular electrostatic potential (a.u.) at points (bohr): nuclei - electrons."""
    from pyscf import gto, df
    dm = _np(dm)
    if dm.ndim == 3:
        dm = dm[0] + dm[1]
    pts = np.asarray(points_bohr, dtype=float).reshape(-1, 3)
    z, rc = mol.atom_charges(), mol.atom_coords()
    v_nuc = (z[None, :] / np.linalg.norm(pts[:, None, :] - rc[None, :, :], axis=2)).sum(axis=1)
    nao = mol.nao_nr()
    blk = max(16, int(max_block_mb * 1e6 / (8.0 * nao * nao)))
    v_el = np.empty(len(pts))
    for i0 in range(0, len(pts), blk):
        fake = gto.fakemol_for_charges(pts[i0:i0 + blk])
        fake.cart = mol.cart  # s functions only; must match mol for int3c2e
        ints = df.incore.aux_e2(mol, fake, intor="int3c2e", aosym="s1")
        v_el[i0:i0 + blk] = np.einsum("ijp,ij->p", ints, dm)
    return v_nuc - v_el


def density_grid(mol, dm, spacing, margin_bohr=7.0, max_block=20000):
    """Electron density on a regular cube grid; returns (rho[nx,ny,nz], origin, spacing)."""
    from pyscf.dft import numint
    dm = _np(dm)
    if dm.ndim == 3:
        dm = dm[0] + dm[1]
    rc = mol.atom_coords()
    lo, hi = rc.min(axis=0) - margin_bohr, rc.max(axis=0) + margin_bohr
    n = np.ceil((hi - lo) / spacing).astype(int) + 1
    axes = [lo[k] + spacing * np.arange(n[k]) for k in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    rho = np.empty(len(grid))
    ni = numint.NumInt()
    for i0 in range(0, len(grid), max_block):
        ao = ni.eval_ao(mol, grid[i0:i0 + max_block], deriv=0)
        rho[i0:i0 + max_block] = ni.eval_rho(mol, ao, dm, xctype="LDA")
    return rho.reshape(n), lo, spacing


def isodensity_analysis(mol, dm, spacing, iso=0.001, esp=True, max_points=6000):
    rho, lo, h = density_grid(mol, dm, spacing)
    inside = rho >= iso
    out = {"volume_bohr3": float(inside.sum() * h ** 3)}
    if esp:
        # surface = inside points with at least one face neighbour outside
        pad = np.pad(inside, 1, constant_values=False)
        nb_out = np.zeros_like(inside)
        for ax in range(3):
            for sh in (1, -1):
                nb_out |= ~np.roll(pad, sh, axis=ax)[1:-1, 1:-1, 1:-1]
        surf = np.argwhere(inside & nb_out)
        stride = max(1, int(np.ceil(len(surf) / float(max_points))))
        pts = lo + surf[::stride] * h
        v = esp_at_points(mol, dm, pts)
        out.update({"esp_min_au": float(v.min()), "esp_max_au": float(v.max()),
                    "esp_npoints": int(len(pts))})
    return out


def mayer_bond_orders(mf, bonds):
    mol = mf.mol
    S = mol.intor_symmetric("int1e_ovlp")
    dm = _np(mf.make_rdm1())
    sl = mol.aoslice_by_atom()[:, 2:4]
    res = []
    for i, j in bonds:
        a, b = slice(*sl[i]), slice(*sl[j])
        if dm.ndim == 3:
            bo = 0.0
            for d in dm:
                ps = d @ S
                bo += 2.0 * np.sum(ps[a, b] * ps[b, a].T)
        else:
            ps = dm @ S
            bo = np.sum(ps[a, b] * ps[b, a].T)
        res.append([int(i), int(j), float(bo)])
    return res


def spatial_extent(mf):
    """Electronic spatial extent <R^2> (bohr^2) about the centre of nuclear charge. The core
    electrons an ECP replaces count as point charges on their nucleus (their own extent, a few
    bohr^2 per atom, is left out), so that <R^2> of an iodine compound with the def2 ECP is
    comparable with all-electron values."""
    mol = mf.mol
    dm = _np(mf.make_rdm1())
    if dm.ndim == 3:
        dm = dm[0] + dm[1]
    center = charge_center(mol)
    with mol.with_common_orig(center):
        rr = mol.intor_symmetric("int1e_r2")
    value = float(np.einsum("ij,ji->", rr, dm))
    if mol.has_ecp():
        core = np.array([mol.atom_nelec_core(i) for i in range(mol.natm)], dtype=float)
        value += float(core @ np.sum((mol.atom_coords() - center) ** 2, axis=1))
    return value


def thermochemistry(mf, temperature=298.15, pressure=101325.0):
    from pyscf.hessian import thermo
    h = _np(mf.Hessian().kernel())
    mf_c = to_cpu(mf)
    freq = thermo.harmonic_analysis(mf_c.mol, h)
    th = thermo.thermo(mf_c, freq["freq_au"], temperature, pressure)
    f = np.asarray(freq["freq_wavenumber"])
    per_k = HARTREE_J * AVOGADRO / CAL  # Eh/K -> cal/mol/K
    return {"zpe_hartree": float(th["ZPE"][0]), "enthalpy_hartree": float(th["H_tot"][0]),
            "gibbs_free_energy_hartree": float(th["G_tot"][0]),
            "entropy_cal_mol_K": float(th["S_tot"][0] * per_k),
            "heat_capacity_cv_cal_mol_K": float(th["Cv_tot"][0] * per_k),
            "n_imaginary_frequencies": int(np.sum(np.iscomplex(f) | (np.real(f) < 0))),
            "frequencies_cm1": [float(np.real(x)) if not np.iscomplex(x) else -float(np.imag(x))
                                for x in f]}


def pople(basis):
    return str(basis).lower().replace(" ", "").startswith("6-3")


def resp_charges(mol_main, mf_main, inp, clock, counter, coords):
    rs = inp["properties"]["resp"]
    meth = inp["method"]
    syms = inp["molecule"]["symbols"]
    cart = pople(rs["basis"]) if rs.get("cart") is None else bool(rs["cart"])
    plan = basis_plan(rs, syms)
    same = (str(rs["xc"]).lower() == str(meth["xc"]).lower()
            and plan == basis_plan(meth, syms)
            and cart == bool(meth.get("cart", False)) and not meth.get("dispersion"))
    if same:
        mf, mol = mf_main, mol_main
    else:
        mol = build_mol(inp, coords, method=rs, cart=cart)
        mf = make_mf(mol, inp, clock, xc=rs["xc"], dispersion=None, density_fit=False)
        run_scf(mf, counter, "resp")
    clock.check("RESP")
    xyz = np.asarray(coords)
    pts = _resp.mk_points(syms, xyz, scales=rs.get("scales", (1.4, 1.6, 1.8, 2.0)),
                          density=float(rs.get("density", 1.0)))
    v = esp_at_points(mol, mf.make_rdm1(), pts / BOHR_A)
    fit = _resp.resp_fit(syms, xyz, pts, v, total_charge=mol.charge,
                         bonds=inp["molecule"].get("bonds") or [],
                         equivalence=inp["molecule"].get("equivalence"))
    fit.update({"xc": rs["xc"], "basis": rs["basis"], "cart": cart, "reused_main_scf": same,
                "basis_used": plan[0], "ecp_used": plan[1]})
    return fit


def ion_state(mol, dq):
    nelec = mol.nelectron - dq
    spin = 1 if mol.spin == 0 else mol.spin - 1
    if (nelec - spin) % 2:
        spin += 1
    return mol.charge + dq, spin


def compute_properties(mol, mf, inp, clock, counter, res, coords):
    P = inp["properties"]
    d = res["descriptors"]
    errors = res["property_errors"]
    timings = res["timings"]
    strict = bool(P.get("strict", False))
    mfc = to_cpu(mf) if inp.get("gpu") else mf
    dm = _np(mfc.make_rdm1())

    def stage(name, fn):
        clock.check(name)
        t = time.time()
        try:
            fn()
        except (DriverStop, MemoryError):
            raise
        except Exception as exc:  # a failing property must not hide the others
            if strict:
                raise
            errors[name] = "%s: %s" % (type(exc).__name__, exc)
            log("property %s FAILED: %s" % (name, errors[name]))
        timings[name] = time.time() - t

    def basic():
        d["total_energy_hartree"] = float(mf.e_tot)
        if getattr(mf, "disp", None):
            d["dispersion_energy_hartree"] = float(np.sum(_np(mf.get_dispersion())))
        d.update({k: float(v) for k, v in frontier(mfc).items()})
        mu = _np(mfc.dip_moment(unit="Debye", verbose=0))
        d["dipole_debye"] = [float(x) for x in mu]
        d["dipole_moment_debye"] = float(np.linalg.norm(mu))
        masses = mol.atom_mass_list(isotope_avg=True)
        d["n_atoms"] = int(mol.natm)
        d["n_electrons"] = int(mol.nelectron)
        d["electrons_per_atom"] = mol.nelectron / float(mol.natm)
        d["molecular_weight_amu"] = float(masses.sum())
        d["mean_atomic_mass_amu"] = float(masses.mean())
    stage("basic", basic)

    if P.get("spatial_extent", True):
        stage("spatial_extent", lambda: d.update(spatial_extent_bohr2=spatial_extent(mfc)))

    if P.get("polarizability", True):
        def pol():
            a, iso, an = polarizability(mfc)
            d["polarizability_tensor_bohr3"] = a.tolist()
            d["polarizability_iso_bohr3"] = iso
            d["polarizability_aniso_bohr3"] = an
        stage("polarizability", pol)

    def vol():
        r = isodensity_analysis(mfc.mol, dm, float(P.get("volume_grid_spacing_bohr", 0.2)),
                                esp=bool(P.get("esp_surface", True)),
                                max_points=int(P.get("esp_surface_max_points", 6000)))
        v_a3 = r["volume_bohr3"] * BOHR_A ** 3
        d["volume_angstrom3"] = v_a3
        d["molar_volume_cm3_mol"] = v_a3 * 1e-24 * AVOGADRO
        if "polarizability_iso_bohr3" in d:
            d["alpha_over_volume"] = d["polarizability_iso_bohr3"] / r["volume_bohr3"]
        if "esp_min_au" in r:
            d["esp_surface_min_au"] = r["esp_min_au"]
            d["esp_surface_max_au"] = r["esp_max_au"]
            d["esp_surface_min_kcal_mol"] = r["esp_min_au"] * HARTREE_KCAL
            d["esp_surface_max_kcal_mol"] = r["esp_max_au"] * HARTREE_KCAL
            res["esp_surface_npoints"] = r["esp_npoints"]
    stage("volume_esp_surface", vol)

    if P.get("bond_orders", True) and inp["molecule"].get("bonds"):
        def bo():
            bos = mayer_bond_orders(mfc, inp["molecule"]["bonds"])
            res["bond_orders"] = bos
            vals = [b[2] for b in bos]
            d["mayer_bond_order_max"] = max(vals)
            d["mayer_bond_order_min"] = min(vals)
        stage("bond_orders", bo)

    if P.get("ionization", True):
        def ions():
            e0 = float(mf.e_tot)
            for name, dq in (("cation", +1), ("anion", -1)):
                q, s = ion_state(mol, dq)
                mol_i = build_mol(inp, coords, charge=q, spin=s)
                mf_i = make_mf(mol_i, inp, clock)
                run_scf(mf_i, counter, name, dm0=dm_for("u" if s else "r", dm))
                d["%s_energy_hartree" % name] = float(mf_i.e_tot)
            d["ionization_energy_eV"] = (d["cation_energy_hartree"] - e0) * HARTREE_EV
            d["electron_affinity_eV"] = (e0 - d["anion_energy_hartree"]) * HARTREE_EV
            d["electronegativity_eV"] = 0.5 * (d["ionization_energy_eV"] + d["electron_affinity_eV"])
            d["hardness_eV"] = 0.5 * (d["ionization_energy_eV"] - d["electron_affinity_eV"])
        stage("ionization", ions)

    for name, eps in (P.get("solvation") or {}).items():
        def solv(name=name, eps=eps):
            mf_s = make_mf(mol, inp, clock, pcm_eps=eps)
            run_scf(mf_s, counter, "pcm_" + name, dm0=dm)
            d["solvation_energy_%s_kcal_mol" % name] = (float(mf_s.e_tot) - float(mf.e_tot)) * HARTREE_KCAL
        stage("solvation_" + name, solv)

    if P.get("resp", {}).get("enabled", False):
        def rsp():
            fit = resp_charges(mol, mf, inp, clock, counter, coords)
            res["resp"] = fit
            d["resp_charges"] = fit["charges"]
        stage("resp", rsp)

    if P.get("thermo", False):
        stage("thermo", lambda: d.update(thermochemistry(mf)))


# ----------------------------------------------------------------------------- main
def versions():
    out = {"python": sys.version.split()[0], "numpy": np.__version__, "driver": DRIVER_VERSION}
    for mod in ("pyscf", "geometric"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:
            out[mod] = None
    return out


def _sanitize(obj):
    """Replace non-finite floats by None so results.json is strict JSON."""
    if isinstance(obj, dict):
        return {k: _sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_sanitize(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return _sanitize(obj.tolist())
    return obj


def _on_signal(signum, frame):
    raise WalltimeExceeded("received signal %d (scheduler time limit?)" % signum)


def run(inp_raw):
    inp = deep_merge(DEFAULT_INPUT, inp_raw)
    res = {"status": "error", "error_message": None, "versions": versions(), "timings": {},
           "scf_cycles": {}, "descriptors": {}, "property_errors": {}, "warnings": [],
           "geometry": None, "geometry_converged": None, "opt_steps": 0,
           "opt_energies_hartree": [], "input": inp}
    counter = Counter()
    state = {"coords": None, "opt_energies": [], "opt_steps": 0, "geometry_converged": None}
    t_start = time.time()
    try:
        res_ = inp["resources"]
        if res_.get("memory_limit_mb"):
            import resource
            lim = int(float(res_["memory_limit_mb"]) * 1024 * 1024)
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
        clock = Clock(res_.get("walltime_s"))
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            try:
                signal.signal(sig, _on_signal)
            except (ValueError, OSError):
                pass
        from pyscf import lib
        lib.num_threads(int(res_.get("num_threads") or 1))
        m = inp["molecule"]
        coords = m["coords_angstrom"]
        rst = inp["restart"]
        if rst.get("geometry_xyz"):
            syms, coords = read_xyz(rst["geometry_xyz"])
            if [s.capitalize() for s in syms] != [s.capitalize() for s in m["symbols"]]:
                raise DriverStop("restart geometry_xyz atoms do not match molecule.symbols")
        state["coords"] = [list(map(float, c)) for c in coords]
        if len(state["coords"]) != len(m["symbols"]) or not m["symbols"]:
            raise DriverStop("molecule.symbols and coords_angstrom are empty or inconsistent")
        mol = build_mol(inp, state["coords"])
        res["basis_used"], res["ecp_used"] = basis_plan(inp["method"], m["symbols"])
        log("molecule: %d atoms, %d electrons, charge %d, 2S %d; %s; basis %s%s"
            % (mol.natm, mol.nelectron, mol.charge, mol.spin, inp["method"]["xc"],
               ", ".join("%s %s" % kv for kv in res["basis_used"].items()),
               "; ECP " + ", ".join("%s %s" % kv for kv in res["ecp_used"].items())
               if res["ecp_used"] else ""))
        dm0 = None
        chk = rst.get("chkfile") or None
        if rst.get("init_from_chk") and chk and os.path.exists(chk):
            from pyscf import scf as _scf
            dm0 = dm_for("u" if mol.spin else "r",
                         _scf.hf.init_guess_by_chkfile(mol, chk, project=True))
            log("initial guess read from %s" % chk)
        res["timings"]["setup"] = time.time() - t_start

        t = time.time()
        scan_mf = None
        if inp["optimization"].get("enabled", True):
            try:
                mol, scan_mf = optimize(mol, inp, clock, counter, state, dm0)
            finally:
                res["timings"]["optimization"] = time.time() - t
        clock.check("final SCF")
        t = time.time()
        opt = inp["optimization"]
        meth = inp["method"]
        same_settings = (scan_mf is not None
                         and opt.get("grid_level") in (None, meth.get("grid_level"))
                         and opt.get("conv_tol") in (None, meth["scf"].get("conv_tol"))
                         and opt.get("density_fit") in (None, meth.get("density_fit")))
        mol = build_mol(inp, state["coords"])
        if same_settings and getattr(scan_mf, "converged", False) and np.allclose(
                _np(scan_mf.mol.atom_coords()), mol.atom_coords(), atol=1e-8):
            mf = scan_mf  # reuse: last optimisation SCF is at the final geometry
            res["final_scf_reused"] = True
            log("final SCF reused from the last optimisation step")
        else:
            mf = make_mf(mol, inp, clock, chkfile=chk)
            guess = None
            if scan_mf is not None and getattr(scan_mf, "mo_coeff", None) is not None:
                guess = scan_mf.make_rdm1()
            elif dm0 is not None:
                guess = dm0
            run_scf(mf, counter, "final", dm0=guess)
            res["final_scf_reused"] = False
        res["timings"]["final_scf"] = time.time() - t
        log("final E = %.10f Ha" % mf.e_tot)
        if chk:
            try:
                from pyscf.scf import chkfile as _chk
                _chk.save_mol(mol, chk)
                _chk.dump_scf(mol, chk, float(mf.e_tot), _np(mf.mo_energy), _np(mf.mo_coeff),
                              _np(mf.mo_occ))
            except Exception as exc:  # checkpoint is a convenience, not a result
                res["warnings"].append("could not write chkfile: %s" % exc)
        compute_properties(mol, mf, inp, clock, counter, res, state["coords"])
        if res["property_errors"] and inp["properties"].get("strict"):
            raise DriverStop("property errors: %s" % res["property_errors"])
        res["status"] = "ok"
    except DriverStop as exc:
        res["status"] = exc.status
        res["error_message"] = str(exc)
    except MemoryError as exc:
        res["status"] = "out_of_memory"
        res["error_message"] = "MemoryError: %s" % (exc or "allocation failed")
        res["traceback"] = traceback.format_exc()
    except Exception as exc:
        res["status"] = "error"
        res["error_message"] = "%s: %s" % (type(exc).__name__, exc)
        res["traceback"] = traceback.format_exc()
    finally:
        res["timings"]["total"] = time.time() - t_start
        res["scf_cycles"] = counter.as_dict()
        res["opt_energies_hartree"] = state["opt_energies"]
        res["opt_steps"] = state["opt_steps"]
        res["geometry_converged"] = state["geometry_converged"]
        if state["coords"] is not None:
            res["geometry"] = {"symbols": list(inp["molecule"]["symbols"]),
                               "coords_angstrom": state["coords"]}
    return res


def write_outputs(res):
    g = res.get("geometry")
    if g:
        e = res.get("descriptors", {}).get("total_energy_hartree")
        comment = "status=%s E=%s Ha" % (res["status"], "%.10f" % e if e is not None else "n/a")
        block = xyz_block(g["symbols"], g["coords_angstrom"], comment)
        with open("last_geometry.xyz", "w") as fh:
            fh.write(block)
        if res["status"] == "ok":
            with open("optimized.xyz", "w") as fh:
                fh.write(block)
    with open("results.json.tmp", "w") as fh:
        json.dump(_sanitize(res), fh, indent=1)
    os.replace("results.json.tmp", "results.json")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0] if argv else "input.json"
    try:
        with open(path) as fh:
            inp_raw = json.load(fh)
    except Exception as exc:
        res = {"status": "error", "error_message": "cannot read input %s: %s" % (path, exc),
               "versions": versions(), "timings": {}, "scf_cycles": {}, "descriptors": {}}
        write_outputs(res)
        return EXIT_CODES["error"]
    res = run(inp_raw)
    try:
        write_outputs(res)
    except MemoryError:
        res = {"status": "out_of_memory", "error_message": "MemoryError while writing results",
               "versions": res.get("versions"), "timings": res.get("timings"),
               "scf_cycles": res.get("scf_cycles"), "geometry": res.get("geometry")}
        write_outputs(res)
    log("status: %s%s" % (res["status"], ("  (%s)" % res["error_message"])
                          if res.get("error_message") else ""))
    log("timings: " + ", ".join("%s=%.1fs" % kv for kv in res["timings"].items()))
    return EXIT_CODES.get(res["status"], 1)


if __name__ == "__main__":
    sys.exit(main())
