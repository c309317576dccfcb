"""QM speed benchmark: moderate level (B3LYP/6-31G*) with our speed settings vs stock PySCF.

For the N smallest CH3-capped repeat units of PI1070 (<= 12 heavy atoms; '*' -> C, add H,
ETKDG + MMFF with seed 0) the driver runs twice in the same process environment:
  ours  = the moderate QM parameters of protocols/qm.yaml (optimisation steps: DF + grid level 1 +
          conv_tol 1e-7; final SCF from the last density; properties reuse it)
  stock = the same with every optimisation step at grid 3 / conv_tol 1e-9, no DF (STOCK below)
Per molecule: wall time, SCF cycles, |dE| of the final energies and HOMO/LUMO deviations
are appended to benchmarks/qm_speed.json as soon as they are known (rerun = resume).

    PYTHONPATH=. .venv/bin/python benchmarks/qm_speed.py [--n 10] [--threads 2]
        [--with-properties] [--only ID ...]

By default the property stages are switched off in both runs (they are identical work in
both); --with-properties runs everything.
Targets: speedup >= 3, |dE| <= 1e-5 Ha, |dHOMO|,|dLUMO| <= 5 meV.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
from aiida_polyinf import protocols  # noqa: E402
from aiida_polyinf.datasets import PI1070  # noqa: E402
from aiida_polyinf.qm import results  # noqa: E402

#: The benchmark's settings: the moderate QM protocol (without its resources), and stock PySCF at the same level
#: (every optimisation step at the production grid and threshold, no density fitting).
MODERATE = {k: v for k, v in protocols.parameters("qm", "moderate").items() if k != "resources"}
STOCK = protocols.merge(MODERATE, {"optimization": {"grid_level": None, "conv_tol": None, "density_fit": None}})

CSV = str(PI1070)  # the copy shipped inside the package
OUT = os.path.join(ROOT, "benchmarks", "qm_speed.json")


def capped_molecule(smiles):
    """The pipeline's CH3-capped monomer (aiida_polyinf.polymers) with its ETKDG + MMFF conformer (seed 0)."""
    from rdkit import Chem
    from rdkit.Geometry import Point3D
    from aiida_polyinf.polymers import build_oligomer, embed_conformer
    mol = Chem.Mol(build_oligomer(smiles, 1).mol)
    conf = Chem.Conformer(mol.GetNumAtoms())
    for i, xyz in enumerate(embed_conformer(mol, seed=0)):
        conf.SetAtomPosition(i, Point3D(*map(float, xyz)))
    mol.AddConformer(conf, assignId=True)
    return mol


def smallest(n, max_heavy=12):
    from rdkit import Chem
    rows = []
    with open(CSV) as fh:
        for r in csv.DictReader(fh):
            m = Chem.MolFromSmiles(r["smiles"])
            if m is None:
                continue
            heavy = m.GetNumHeavyAtoms() + r["smiles"].count("*")  # '*' become CH3 carbons
            if heavy <= max_heavy:
                rows.append((heavy, r["monomer_ID"], r["smiles"]))
    rows.sort()
    return rows[:n]


def run_driver(mol_block, settings, threads, with_props):
    work = tempfile.mkdtemp(prefix="qmspeed_")
    for f in results.driver_files():
        shutil.copy(f, work)
    if not with_props:
        settings["properties"].update({"polarizability": False, "solvation": {},
                                       "ionization": False, "esp_surface": False,
                                       "resp": {"enabled": False}})
    results.write_input(os.path.join(work, "input.json"), molecule=mol_block, settings=settings,
                        resources={"num_threads": threads, "max_memory_mb": 8000})
    t = time.time()
    p = subprocess.run([sys.executable, "driver.py", "input.json"], cwd=work,
                       capture_output=True, text=True)
    wall = time.time() - t
    res = results.read_results(work)
    shutil.rmtree(work, ignore_errors=True)
    return wall, res, p.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--with-properties", action="store_true")
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    data = json.load(open(OUT)) if os.path.exists(OUT) else {"molecules": {}}
    data["settings"] = {"ours": MODERATE, "stock": STOCK,
                        "threads": args.threads, "with_properties": args.with_properties}
    for heavy, mid, smi in smallest(args.n):
        if args.only and mid not in args.only:
            continue
        entry = data["molecules"].get(mid, {"smiles": smi, "heavy_atoms": heavy})
        rd = capped_molecule(smi)
        block = results.molecule_from_rdkit(rd)
        for name, lvl in (("ours", MODERATE), ("stock", STOCK)):
            if name in entry and entry[name].get("status") == "ok":
                continue  # resume
            wall, res, rc = run_driver(block, json.loads(json.dumps(lvl)), args.threads,
                                       args.with_properties)
            d = res.get("descriptors", {})
            entry[name] = {"status": res["status"], "wall_s": wall,
                           "scf_cycles": res["scf_cycles"].get("total"),
                           "opt_steps": res.get("opt_steps"), "timings": res.get("timings"),
                           "energy_hartree": d.get("total_energy_hartree"),
                           "homo_eV": d.get("homo_eV"), "lumo_eV": d.get("lumo_eV")}
            print("%s %-6s %-5s %8.1f s  cycles %s  E %s" % (mid, name, res["status"], wall,
                                                             entry[name]["scf_cycles"],
                                                             entry[name]["energy_hartree"]),
                  flush=True)
            data["molecules"][mid] = entry
            json.dump(data, open(OUT, "w"), indent=1)
        o, s = entry["ours"], entry["stock"]
        if o["status"] == s["status"] == "ok":
            entry["speedup"] = s["wall_s"] / o["wall_s"]
            entry["abs_dE_hartree"] = abs(o["energy_hartree"] - s["energy_hartree"])
            entry["abs_dHOMO_meV"] = 1000 * abs(o["homo_eV"] - s["homo_eV"])
            entry["abs_dLUMO_meV"] = 1000 * abs(o["lumo_eV"] - s["lumo_eV"])
        data["molecules"][mid] = entry
        json.dump(data, open(OUT, "w"), indent=1)
    done = [e for e in data["molecules"].values() if "speedup" in e]
    if done:
        data["speedup"] = sum(e["stock"]["wall_s"] for e in done) / sum(e["ours"]["wall_s"]
                                                                      for e in done)
        data["max_abs_dE_hartree"] = max(e["abs_dE_hartree"] for e in done)
        data["max_abs_dHOMO_meV"] = max(e["abs_dHOMO_meV"] for e in done)
        data["max_abs_dLUMO_meV"] = max(e["abs_dLUMO_meV"] for e in done)
        json.dump(data, open(OUT, "w"), indent=1)
        print("speedup (total stock / total ours) over %d molecules: %.2fx; max|dE| %.2e Ha; "
              "max|dHOMO| %.2f meV; max|dLUMO| %.2f meV"
              % (len(done), data["speedup"], data["max_abs_dE_hartree"],
                 data["max_abs_dHOMO_meV"], data["max_abs_dLUMO_meV"]))


if __name__ == "__main__":
    main()
