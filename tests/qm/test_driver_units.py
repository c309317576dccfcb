"""Unit tests of the driver's property code against independent pyscf evaluations."""
import numpy as np
import pytest

pytest.importorskip("pyscf")
from pyscf import gto, scf, dft, lib  # noqa: E402

from aiida_polyinf.qm import driver  # noqa: E402

lib.num_threads(1)
WATER = "O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692"


def _finite_field_alpha(mf_factory, mol, h=1e-3):
    with mol.with_common_orig(driver.charge_center(mol)):
        r = mol.intor_symmetric("int1e_r", comp=3)
    alpha = np.zeros((3, 3))
    for j in range(3):
        mus = []
        for s in (+1, -1):
            mf = mf_factory(mol)
            h1 = mf.get_hcore() + s * h * r[j]
            mf.get_hcore = lambda *a, h1=h1: h1
            mf.conv_tol = 1e-12
            mf.kernel()
            mus.append(mf.dip_moment(unit="AU", verbose=0))
        alpha[:, j] = (mus[0] - mus[1]) / (2 * h)
    return alpha


@pytest.mark.parametrize("kind", ["rhf", "uks"])
def test_cphf_polarizability_matches_finite_field(kind):
    if kind == "rhf":
        mol = gto.M(atom=WATER, basis="6-31g", verbose=0)
        factory = scf.RHF
    else:  # NH2 radical (non-degenerate SOMO), open-shell CPKS
        mol = gto.M(atom="N 0 0 0.14; H 0 0.80 -0.48; H 0 -0.80 -0.48", basis="6-31g", spin=1,
                    verbose=0)

        def factory(m):
            mf = dft.UKS(m, xc="b3lyp")
            mf.grids.level = 2
            return mf
    mf = factory(mol)
    mf.conv_tol = 1e-12
    mf.kernel()
    alpha, iso, aniso = driver.polarizability(mf)
    ref = _finite_field_alpha(factory, mol)
    assert iso > 1.0
    np.testing.assert_allclose(alpha, 0.5 * (ref + ref.T), atol=2e-3 * np.abs(ref).max())
    assert abs(iso - np.trace(ref) / 3) < 2e-3 * iso


def test_esp_matches_rinv_integrals():
    mol = gto.M(atom=WATER, basis="6-31g*", cart=True, verbose=0)
    mf = scf.RHF(mol).run(conv_tol=1e-10)
    dm = mf.make_rdm1()
    pts = np.array([[0.0, 0.0, 4.0], [3.0, 1.0, -2.0], [0.5, -3.5, 0.2]])
    v = driver.esp_at_points(mol, dm, pts)
    for p, vi in zip(pts, v):
        with mol.with_rinv_origin(p):
            el = np.einsum("ij,ij", mol.intor("int1e_rinv"), dm)
        nuc = sum(z / np.linalg.norm(p - c) for z, c in zip(mol.atom_charges(), mol.atom_coords()))
        assert abs(vi - (nuc - el)) < 1e-8


def test_mayer_bond_orders_n2_and_ch4():
    n2 = scf.RHF(gto.M(atom="N 0 0 0; N 0 0 1.098", basis="sto-3g", verbose=0)).run()
    assert abs(driver.mayer_bond_orders(n2, [[0, 1]])[0][2] - 3.0) < 0.1
    ch3 = scf.UHF(gto.M(atom="C 0 0 0; H 1.08 0 0; H -0.54 0.935 0; H -0.54 -0.935 0",
                        basis="sto-3g", spin=1, verbose=0)).run()
    bos = driver.mayer_bond_orders(ch3, [[0, 1], [0, 2], [0, 3], [1, 2]])
    assert all(0.9 < b[2] < 1.05 for b in bos[:3]) and abs(bos[3][2]) < 0.05


def test_isodensity_volume_and_esp_extrema_water():
    mol = gto.M(atom=WATER, basis="6-31g*", verbose=0)
    mf = scf.RHF(mol).run()
    out = driver.isodensity_analysis(mol, mf.make_rdm1(), 0.2)
    out_fine = driver.isodensity_analysis(mol, mf.make_rdm1(), 0.15, esp=False)
    v_a3 = out["volume_bohr3"] * driver.BOHR_A ** 3
    assert 20.0 < v_a3 < 30.0  # sanity; exactness is checked on the H atom below
    assert abs(out_fine["volume_bohr3"] - out["volume_bohr3"]) / out["volume_bohr3"] < 0.02
    assert out["esp_min_au"] < -0.03 and out["esp_max_au"] > 0.04  # O lone pairs / OH


def test_ion_state_and_dm_adaptation():
    mol = gto.M(atom=WATER, basis="sto-3g", verbose=0)
    assert driver.ion_state(mol, +1) == (1, 1)
    assert driver.ion_state(mol, -1) == (-1, 1)
    rad = gto.M(atom="O 0 0 0; H 0 0 0.97", basis="sto-3g", spin=1, verbose=0)
    assert driver.ion_state(rad, +1) == (1, 0)
    dm = np.eye(3)
    assert driver.dm_for("u", dm).shape == (2, 3, 3)
    np.testing.assert_allclose(driver.dm_for("r", driver.dm_for("u", dm)), dm)


def test_gpu_flag_without_gpu4pyscf_is_an_error(tmp_path, monkeypatch):
    import importlib.util
    if importlib.util.find_spec("gpu4pyscf") is not None:
        pytest.skip("gpu4pyscf installed")
    monkeypatch.chdir(tmp_path)
    res = driver.run({"molecule": {"symbols": ["H", "H"], "coords_angstrom": [[0, 0, 0], [0, 0, 0.74]]},
                      "method": {"xc": "hf", "basis": "sto-3g"}, "gpu": True,
                      "properties": {"resp": {"enabled": False}}})
    assert res["status"] == "error"
    assert "gpu4pyscf" in res["error_message"]
    assert not res["descriptors"]


def test_deep_merge_and_xyz_roundtrip(tmp_path):
    merged = driver.deep_merge(driver.DEFAULT_INPUT, {"method": {"scf": {"max_cycle": 7}}})
    assert merged["method"]["scf"]["max_cycle"] == 7
    assert merged["method"]["scf"]["conv_tol"] == driver.DEFAULT_INPUT["method"]["scf"]["conv_tol"]
    assert driver.DEFAULT_INPUT["method"]["scf"]["max_cycle"] == 100  # not mutated
    # solvation/convergence dicts are replaced, not merged (so {} switches PCM off)
    assert driver.deep_merge(driver.DEFAULT_INPUT, {"properties": {"solvation": {}}})[
        "properties"]["solvation"] == {}
    assert driver.deep_merge(driver.DEFAULT_INPUT, {"properties": {"solvation": {"w": 78.0}}})[
        "properties"]["solvation"] == {"w": 78.0}
    p = tmp_path / "a.xyz"
    p.write_text(driver.xyz_block(["C", "H"], [[0, 0, 0], [0, 0, 1.09]], "c"))
    sy, xyz = driver.read_xyz(str(p))
    assert sy == ["C", "H"] and abs(xyz[1][2] - 1.09) < 1e-9


def test_isodensity_volume_hydrogen_atom_analytic():
    """Exact H atom: rho = exp(-2r)/pi, rho = 0.001 at r0 = -ln(0.001 pi)/2 -> V = 4/3 pi r0^3."""
    mol = gto.M(atom="H 0 0 0", basis="aug-cc-pv5z", spin=1, verbose=0)
    mf = scf.UHF(mol).run()
    assert abs(mf.e_tot + 0.5) < 1e-4
    r0 = -np.log(0.001 * np.pi) / 2.0
    out = driver.isodensity_analysis(mol, mf.make_rdm1(), 0.15, esp=False)
    assert abs(out["volume_bohr3"] / (4.0 / 3.0 * np.pi * r0 ** 3) - 1.0) < 0.01


# Iodomethane: iodine with an ECP (LANL2DZ: 46 core electrons; def2: 28) against all-electron 6-311G** on I.
CH3I = [["C", [0, 0, 0]], ["I", [0, 0, 2.14]], ["H", [1.03, 0, -0.36]], ["H", [-0.515, 0.89, -0.36]],
        ["H", [-0.515, -0.89, -0.36]]]
CH3I_BASES = {"lanl2dz": ({"C": "6-31g*", "H": "6-31g*", "I": "lanl2dz"}, {"I": "lanl2dz"}),
              "def2-svp": ({"C": "6-31g*", "H": "6-31g*", "I": "def2-svp"}, {"I": "def2-svp"}),
              "all-electron": ({"C": "6-31g*", "H": "6-31g*", "I": "6-311g**"}, {})}


@pytest.fixture(scope="module")
def ch3i_hf():
    runs = {}
    for label, (basis, ecp) in CH3I_BASES.items():
        mol = gto.M(atom=CH3I, basis=basis, ecp=ecp, cart=True, verbose=0)
        runs[label] = scf.RHF(mol).run(conv_tol=1e-9)
    return runs


def test_esp_with_an_ecp_uses_the_effective_core_charge(ch3i_hf):
    """The ESP of RESP: nuclei (an ECP atom's charge is Z minus its core electrons, mol.atom_charges()) minus the
    (valence) electrons. It must agree with the all-electron ESP on the Merz-Kollman points and vanish far away."""
    from aiida_polyinf.qm import resp
    symbols = [a[0] for a in CH3I]
    xyz = np.array([a[1] for a in CH3I], dtype=float)
    points = resp.mk_points(symbols, xyz) / resp.BOHR
    assert list(ch3i_hf["lanl2dz"].mol.atom_charges()) == [6, 7, 1, 1, 1]
    assert list(ch3i_hf["def2-svp"].mol.atom_charges()) == [6, 25, 1, 1, 1]
    esp = {k: driver.esp_at_points(mf.mol, mf.make_rdm1(), points) for k, mf in ch3i_hf.items()}
    ref = esp["all-electron"]
    for label in ("lanl2dz", "def2-svp"):
        assert np.sqrt(np.mean((esp[label] - ref) ** 2)) / np.sqrt(np.mean(ref ** 2)) < 0.15, label
        mf = ch3i_hf[label]
        far = driver.esp_at_points(mf.mol, mf.make_rdm1(), np.array([[0.0, 0.0, 60.0]]))[0]
        assert abs(far) < 1e-3, label  # a neutral molecule: no net charge seen from afar (Z=53 would give +0.8 au)
        q = resp.resp_fit(symbols, xyz, points * resp.BOHR, esp[label], bonds=[[0, 1], [0, 2], [0, 3], [0, 4]],
                          equivalence=[0, 1, 2, 2, 2])["charges"]
        assert abs(sum(q)) < 1e-8 and -0.3 < q[1] < 0.1, (label, q)


def test_spatial_extent_counts_the_ecp_core(ch3i_hf):
    r2 = {k: driver.spatial_extent(mf) for k, mf in ch3i_hf.items()}
    assert abs(r2["def2-svp"] / r2["all-electron"] - 1) < 0.05, r2
    np.testing.assert_allclose(driver.charge_center(ch3i_hf["def2-svp"].mol),
                               driver.charge_center(ch3i_hf["all-electron"].mol))


def test_driver_records_the_basis_of_each_element(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inp = {"molecule": {"symbols": [a[0] for a in CH3I], "coords_angstrom": [a[1] for a in CH3I],
                        "bonds": [[0, 1], [0, 2], [0, 3], [0, 4]], "equivalence": [0, 1, 2, 2, 2]},
           "method": {"xc": "hf", "basis": "sto-3g", "basis_by_element": {"i": "def2-SVP"},
                      "ecp_by_element": {"I": "def2-svp"}},
           "optimization": {"enabled": False},
           "properties": {"polarizability": False, "solvation": None, "ionization": False, "esp_surface": False,
                          "bond_orders": False, "spatial_extent": False,
                          "resp": {"enabled": True, "basis": "6-31g(d)", "basis_by_element": {"I": "lanl2dz"},
                                   "ecp_by_element": {"I": "lanl2dz"}}},
           "resources": {"num_threads": 1}, "verbose": 0}
    res = driver.run(inp)
    assert res["status"] == "ok", res["error_message"]
    assert res["basis_used"] == {"C": "sto-3g", "H": "sto-3g", "I": "def2-svp"}
    assert res["ecp_used"] == {"I": "def2-svp"}
    assert res["resp"]["basis_used"] == {"C": "6-31g*", "H": "6-31g*", "I": "lanl2dz"}
    assert res["resp"]["ecp_used"] == {"I": "lanl2dz"} and res["resp"]["cart"] is True
    assert res["descriptors"]["n_electrons"] == 6 + 3 + 25
    assert abs(sum(res["resp"]["charges"])) < 1e-8
