"""Pure helpers around the QM driver: input building, results reading, failure classification.

No aiida imports; used by the AiiDA CalcJob/parser of aiida_polyinf.
"""
import copy
import json
import math
import os
import re

from .driver import DEFAULT_INPUT, EXIT_CODES, read_xyz, xyz_block, deep_merge

STATUSES = ("ok", "scf_not_converged", "geometry_not_converged", "walltime_exceeded",
            "out_of_memory", "error")

__all__ = ["STATUSES", "EXIT_CODES", "default_input", "write_input", "molecule_from_rdkit",
           "read_results", "classify_failure", "descriptors_from_results", "read_xyz",
           "write_xyz", "xyz_block", "driver_files"]


def driver_files():
    """Absolute paths of the two files to copy into a calculation folder."""
    here = os.path.dirname(os.path.abspath(__file__))
    return [os.path.join(here, "driver.py"), os.path.join(here, "resp.py")]


def default_input():
    """A deep copy of the driver's full default input dict."""
    return copy.deepcopy(DEFAULT_INPUT)


def molecule_from_rdkit(rdmol, conf_id=-1, charge=None, spin=None):
    """``molecule`` block (symbols, coords, charge, spin, bonds, equivalence) from an RDKit
    molecule with explicit hydrogens and a 3D conformer."""
    from rdkit import Chem
    conf = rdmol.GetConformer(conf_id)
    symbols = [a.GetSymbol() for a in rdmol.GetAtoms()]
    coords = [[float(x) for x in conf.GetAtomPosition(i)] for i in range(rdmol.GetNumAtoms())]
    bonds = [[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] for b in rdmol.GetBonds()]
    eq = [int(r) for r in Chem.CanonicalRankAtoms(rdmol, breakTies=False)]
    if charge is None:
        charge = Chem.GetFormalCharge(rdmol)
    if spin is None:
        spin = sum(a.GetNumRadicalElectrons() for a in rdmol.GetAtoms())
    return {"symbols": symbols, "coords_angstrom": coords, "charge": int(charge),
            "spin": int(spin), "bonds": bonds, "equivalence": eq}


def write_input(path=None, symbols=None, coords_angstrom=None, charge=0, spin=0, bonds=None,
                equivalence=None, molecule=None, settings=None, **overrides):
    """Build (and optionally write to ``path``) a driver input dict.

    ``settings`` is a QM protocol's ``parameters`` (``aiida_polyinf/protocols/qm.yaml``) or any partial input;
    ``overrides`` are top-level sections merged last (e.g. ``resources={...}``).
    """
    inp = default_input()
    if settings:
        inp = deep_merge(inp, settings)
    if overrides:
        inp = deep_merge(inp, overrides)
    if molecule is None:
        molecule = {"symbols": list(symbols or []),
                    "coords_angstrom": [[float(x) for x in c] for c in (coords_angstrom or [])],
                    "charge": int(charge), "spin": int(spin), "bonds": bonds or [],
                    "equivalence": equivalence}
    inp["molecule"] = deep_merge(DEFAULT_INPUT["molecule"], molecule)
    if len(inp["molecule"]["symbols"]) != len(inp["molecule"]["coords_angstrom"]):
        raise ValueError("symbols and coords_angstrom differ in length")
    if path is not None:
        with open(path, "w") as fh:
            json.dump(inp, fh, indent=1)
    return inp


def write_xyz(path, symbols, coords, comment=""):
    with open(path, "w") as fh:
        fh.write(xyz_block(symbols, coords, comment))


def read_results(path):
    """Read results.json (path to the file or to its folder)."""
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    with open(path) as fh:
        return json.load(fh)


_PATTERNS = [
    ("out_of_memory", re.compile(r"MemoryError|Cannot allocate memory|out of memory|"
                                 r"oom-kill|OOM killer|Out Of Memory|CUDA out of memory|"
                                 r"cudaErrorMemoryAllocation|std::bad_alloc", re.I)),
    ("walltime_exceeded", re.compile(r"DUE TO TIME LIMIT|TIME LIMIT|walltime|"
                                     r"Job .*exceeded .*time|received signal (15|10)", re.I)),
    ("scf_not_converged", re.compile(r"SCF not converged", re.I)),
    ("geometry_not_converged", re.compile(r"geometry not converged|failed to converge in \d+ "
                                          r"iterations|GeomOptNotConvergedError", re.I)),
]


def classify_failure(results, stdout="", returncode=None):
    """Map a run to a failure status, or None when it succeeded.

    ``results`` is the parsed results.json (or None/{} when missing, e.g. a killed job);
    ``stdout`` the captured driver/scheduler output (may be empty); ``returncode`` the
    driver's exit status if known (-9 / 137 = SIGKILL, i.e. typically the OOM killer)."""
    stdout = stdout or ""
    status = (results or {}).get("status")
    if status == "ok":
        return None
    if status in STATUSES and status != "error":
        return status
    if status == "error":
        # an unexpected exception may still be an OOM hidden in a traceback
        msg = "%s\n%s" % ((results or {}).get("error_message") or "",
                          (results or {}).get("traceback") or "")
        for name, pat in _PATTERNS[:1]:
            if pat.search(msg):
                return name
        return "error"
    # no (usable) results.json: the process died; look at what it printed
    for name, pat in _PATTERNS:
        if pat.search(stdout):
            return name
    if returncode in (-9, 137) or re.search(r"\bKilled\b|signal 9|SIGKILL|exit code 137",
                                             stdout):
        return "out_of_memory"  # SIGKILL without a scheduler time-limit message: OOM killer
    return "error"


def _finite(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def descriptors_from_results(results):
    """Flat dict of finite floats / (nested) lists of floats; missing values are absent."""
    out = {}
    for k, v in ((results or {}).get("descriptors") or {}).items():
        if isinstance(v, bool) or v is None:
            continue
        if _finite(v):
            out[k] = float(v) if not isinstance(v, int) else v
        elif isinstance(v, list):
            flat = []
            stack = [v]
            while stack:
                x = stack.pop()
                if isinstance(x, list):
                    stack.extend(x)
                else:
                    flat.append(x)
            if flat and all(_finite(x) for x in flat):
                out[k] = v
    return out
