"""End-to-end: the driver as a subprocess (copied alone with resp.py) on butane, fast level."""
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from aiida_polyinf import protocols
from aiida_polyinf.qm import results
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "qm")  # not `from conftest`: other test folders have a conftest too

pytest.importorskip("pyscf")
pytest.importorskip("geometric")


@pytest.fixture(scope="module")
def butane_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("butane")
    for f in results.driver_files():
        shutil.copy(f, work)
    mol = json.load(open(os.path.join(FIXTURES, "butane_molecule.json")))
    settings = {k: v for k, v in protocols.parameters("qm", "fast").items() if k != "resources"}
    settings["optimization"]["max_steps"] = 5
    results.write_input(str(work / "input.json"), molecule=mol, settings=settings,
                        resources={"num_threads": 2, "max_memory_mb": 2000, "walltime_s": 600})
    env = dict(os.environ, PYTHONPATH="")  # the copied script must not need the package
    t = time.time()
    p = subprocess.run([sys.executable, "driver.py", "input.json"], cwd=work, env=env,
                       capture_output=True, text=True, timeout=900)
    wall = time.time() - t
    print("butane fast driver wall time: %.1f s" % wall)
    return work, p, wall, mol


def test_exit_code_and_files(butane_run):
    work, p, wall, mol = butane_run
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    for f in ("results.json", "optimized.xyz", "trajectory.xyz", "last_geometry.xyz", "pyscf.chk"):
        assert (work / f).exists(), f
    res = results.read_results(str(work))
    assert res["status"] == "ok" and res["error_message"] is None
    assert results.classify_failure(res, p.stdout) is None
    assert res["property_errors"] == {}
    assert set(res["versions"]) >= {"pyscf", "geometric", "numpy"}
    assert res["scf_cycles"]["total"] > 0 and res["timings"]["total"] > 0
    assert 1 <= res["opt_steps"] <= 5
    frames = (work / "trajectory.xyz").read_text().count("E= ")
    assert frames == res["opt_steps"] == len(res["opt_energies_hartree"])
    # energies decrease (monotone within noise) and final energy = last optimisation energy
    e = res["opt_energies_hartree"]
    assert e[-1] <= e[0] + 1e-8
    assert abs(res["descriptors"]["total_energy_hartree"] - e[-1]) < 1e-6
    sy, xyz = results.read_xyz(str(work / "optimized.xyz"))
    assert sy == mol["symbols"]
    assert np.allclose(xyz, res["geometry"]["coords_angstrom"], atol=1e-8)


def test_descriptors_plausible(butane_run):
    work, p, wall, mol = butane_run
    d = results.descriptors_from_results(results.read_results(str(work)))
    expected = {"total_energy_hartree", "homo_eV", "lumo_eV", "gap_eV", "ionization_energy_eV",
                "electron_affinity_eV", "dipole_debye", "dipole_moment_debye",
                "polarizability_iso_bohr3", "polarizability_tensor_bohr3", "volume_angstrom3",
                "molar_volume_cm3_mol", "alpha_over_volume", "spatial_extent_bohr2",
                "solvation_energy_water_kcal_mol", "solvation_energy_octanol_kcal_mol",
                "esp_surface_min_kcal_mol", "esp_surface_max_kcal_mol", "mayer_bond_order_max",
                "mayer_bond_order_min", "electrons_per_atom", "mean_atomic_mass_amu",
                "resp_charges"}
    assert expected <= set(d), expected - set(d)
    assert -158.6 < d["total_energy_hartree"] < -158.3
    assert d["homo_eV"] < 0 < d["gap_eV"] and abs(d["gap_eV"] - (d["lumo_eV"] - d["homo_eV"])) < 1e-9
    assert 9.0 < d["ionization_energy_eV"] < 13.0          # exp. IE of butane 10.5 eV
    assert d["dipole_moment_debye"] < 0.2                  # anti/gauche butane ~0 D
    assert 30 < d["polarizability_iso_bohr3"] < 70         # exp. ~55 bohr^3
    assert 80 < d["volume_angstrom3"] < 140
    assert abs(d["molar_volume_cm3_mol"] / d["volume_angstrom3"] - 0.6022) < 1e-3
    assert -3.0 < d["solvation_energy_water_kcal_mol"] < 1.0
    assert d["esp_surface_min_kcal_mol"] < 0 < d["esp_surface_max_kcal_mol"]
    assert 0.8 < d["mayer_bond_order_min"] <= d["mayer_bond_order_max"] < 1.2
    assert abs(d["electrons_per_atom"] - 34 / 14) < 1e-12
    assert abs(d["mean_atomic_mass_amu"] - 58.12 / 14) < 0.01


def test_resp_charges_sum_and_symmetry(butane_run):
    work, p, wall, mol = butane_run
    res = results.read_results(str(work))
    q = np.array(res["resp"]["charges"])
    assert abs(q.sum()) < 1e-6
    assert res["resp"]["xc"] == "hf" and res["resp"]["basis"] == "6-31g*"
    assert res["resp"]["reused_main_scf"] is False
    eq = mol["equivalence"]
    for i in range(len(q)):
        for j in range(len(q)):
            if eq[i] == eq[j]:
                assert abs(q[i] - q[j]) < 1e-8
    c = [i for i, s in enumerate(mol["symbols"]) if s == "C"]
    assert all(-0.5 < q[i] < 0.3 for i in c)
    assert len(set(np.round(q, 8))) == 4   # CH3 C, CH2 C, CH3 H, CH2 H
