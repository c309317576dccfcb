"""results.py helpers on recorded (really generated, see tests/fixtures/qm/generate.py) outputs."""
import json
import math
import os

import pytest

from aiida_polyinf import protocols
from aiida_polyinf.qm import results, driver


def level(name):
    """The driver settings of a QM protocol, without its resources."""
    return {k: v for k, v in protocols.parameters('qm', name).items() if k != 'resources'}
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "qm")  # not `from conftest`: other test folders have a conftest too


def _case(name):
    d = os.path.join(FIXTURES, name)
    res = None
    if os.path.exists(os.path.join(d, "results.json")):
        res = results.read_results(d)
    with open(os.path.join(d, "stdout.txt")) as fh:
        return res, fh.read()


@pytest.mark.parametrize("case,expected", [
    ("scf_not_converged", "scf_not_converged"),
    ("geometry_not_converged", "geometry_not_converged"),
    ("walltime_exceeded", "walltime_exceeded"),
    ("out_of_memory", "out_of_memory"),
    ("sigterm", "walltime_exceeded"),
    ("sigkill", "out_of_memory"),
])
def test_classify_recorded_failures(case, expected):
    res, out = _case(case)
    rc = int(out.rsplit("[recorded returncode", 1)[1].split("]")[0])
    assert results.classify_failure(res, out, returncode=rc) == expected
    if res is None:  # SIGKILL: nothing but the return code tells what happened
        assert results.classify_failure(res, out) == "error"
    if res is not None:
        assert res["status"] == expected
        assert set(res["versions"]) >= {"pyscf", "geometric", "numpy"}
        assert "total" in res["timings"]


@pytest.mark.parametrize("case,expected", [
    ("scf_not_converged", "scf_not_converged"),
    ("geometry_not_converged", "geometry_not_converged"),
    ("out_of_memory", "out_of_memory"),
])
def test_classify_from_stdout_only(case, expected):
    """Without results.json (e.g. lost), the recorded PySCF/driver stdout is enough."""
    _, out = _case(case)
    assert results.classify_failure(None, out) == expected


def test_failed_runs_keep_last_geometry_for_restart():
    for case in ("geometry_not_converged", "walltime_exceeded", "sigterm"):
        res, _ = _case(case)
        g = res["geometry"]
        assert len(g["coords_angstrom"]) == len(g["symbols"]) == 14
    res, _ = _case("geometry_not_converged")
    # max_steps=1: initial point + one step were evaluated
    assert res["geometry_converged"] is False and res["opt_steps"] == 2
    assert len(res["opt_energies_hartree"]) == 2


def test_classify_ok_and_unknown():
    assert results.classify_failure({"status": "ok"}, "") is None
    assert results.classify_failure({"status": "error", "error_message": "KeyError: 'x'"}) == "error"
    assert results.classify_failure({"status": "error", "traceback": "...\nMemoryError\n"}) \
        == "out_of_memory"
    assert results.classify_failure(None, "") == "error"
    assert results.classify_failure(None, "slurmstepd: error: *** JOB 12 ON n1 CANCELLED AT "
                                          "2024 DUE TO TIME LIMIT ***") == "walltime_exceeded"


def test_descriptors_from_results_drops_non_finite():
    res = {"descriptors": {"a_eV": 1.5, "b": float("nan"), "c": None, "d": [1.0, [2.0, 3.0]],
                           "e": [1.0, float("inf")], "n_atoms": 3, "flag": True}}
    d = results.descriptors_from_results(res)
    assert d == {"a_eV": 1.5, "d": [1.0, [2.0, 3.0]], "n_atoms": 3}
    assert results.descriptors_from_results({}) == {}
    for v in d.values():
        assert not (isinstance(v, float) and math.isnan(v))


def test_write_input_levels_roundtrip(tmp_path):
    mol = json.load(open(os.path.join(FIXTURES, "butane_molecule.json")))
    for name in ("fast", "moderate", "precise"):
        p = tmp_path / ("%s.json" % name)
        inp = results.write_input(str(p), molecule=mol, settings=level(name),
                                  resources={"num_threads": 4})
        back = json.load(open(p))
        assert back == inp
        assert set(back) == set(driver.DEFAULT_INPUT)
        assert back["resources"]["num_threads"] == 4
        assert back["resources"]["max_memory_mb"] == 4000
        assert back["molecule"]["equivalence"] == mol["equivalence"]
    assert level("moderate")["method"]["basis"] == "6-31g*"
    assert level("precise")["method"]["dispersion"] == "d3bj"
    with pytest.raises(ValueError):
        results.write_input(symbols=["H"], coords_angstrom=[])
    assert protocols.parameters("qm", "fast") is not protocols.parameters("qm", "fast")


def test_driver_files_exist_and_do_not_import_aiida():
    for f in results.driver_files():
        src = open(f).read()
        assert "aiida" not in src.replace("aiida_polyinf", "") or f.endswith("driver.py")
        assert "import aiida" not in src and "from aiida" not in src
