"""RESP module tests (pure numpy parts + validation against published RESP charges)."""
import os
import numpy as np
import pytest

from aiida_polyinf.qm import resp

ACETIC = """C   1.45051389  -0.06628932   0.00000000
H   1.75521613  -0.62865986  -0.87500146
H   1.75521613  -0.62865986   0.87500146
H   1.92173244   0.90485897   0.00000000
C  -0.04233122   0.09849378   0.00000000
O  -0.67064817  -1.07620915   0.00000000
H  -1.60837259  -0.91016601   0.00000000
O  -0.62675864   1.13160510   0.00000000"""
ETHANOL_1 = """C    0.00000000  0.00000000  0.00000000
C    1.48805540 -0.00728176  0.39653260
O    2.04971655  1.37648153  0.25604810
H    3.06429978  1.37151670  0.52641124
H    1.58679428 -0.33618761  1.43102358
H    2.03441010 -0.68906454 -0.25521028
H   -0.40814044 -1.00553466  0.10208540
H   -0.54635470  0.68178278  0.65174288
H   -0.09873888  0.32890585 -1.03449097"""
ETHANOL_2 = """C    0.00000000  0.00000000  0.00000000
C    1.48013500 -0.00724300  0.39442200
O    2.00696300  1.29224100  0.26232800
H    2.91547900  1.25572900  0.50972300
H    1.61500700 -0.32678000  1.45587700
H    2.07197500 -0.68695100 -0.26493400
H   -0.32500012  1.02293415 -0.30034094
H   -0.18892141 -0.68463906 -0.85893815
H   -0.64257065 -0.32709111  0.84987482"""


def _parse(block):
    rows = [line.split() for line in block.strip().splitlines()]
    return [r[0] for r in rows], np.array([[float(x) for x in r[1:4]] for r in rows])


def _synthetic_esp(coords, points, q):
    r = np.linalg.norm(points[:, None, :] - coords[None, :, :], axis=2) / resp.BOHR
    return (q[None, :] / r).sum(axis=1)


def test_mk_points_outside_scaled_radii_and_density():
    sy, xyz = _parse(ACETIC)
    pts = resp.mk_points(sy, xyz)
    radii = np.array([resp.MK_RADII[s] for s in sy])
    d = np.linalg.norm(pts[:, None, :] - xyz[None, :, :], axis=2)
    assert np.all(d >= 1.4 * radii[None, :] - 1e-6)
    assert np.all(d.min(axis=1) <= 2.0 * radii.max() + 1e-6)
    dense = resp.mk_points(sy, xyz, density=4.0)
    assert 3.0 < len(dense) / len(pts) < 5.0
    np.testing.assert_array_equal(pts, resp.mk_points(sy, xyz))  # deterministic


def test_unrestrained_fit_recovers_point_charges_and_total_charge():
    sy, xyz = _parse(ACETIC)
    q_true = np.array([-0.3, 0.1, 0.1, 0.1, 0.8, -0.65, 0.45, -1.6])  # sums to -1
    pts = resp.mk_points(sy, xyz)
    v = _synthetic_esp(xyz, pts, q_true)
    A, c, _ = resp._design([xyz], [pts], [v])
    q = resp.fit(A, c, -1.0, [[i] for i in range(8)], np.zeros(8), np.zeros(8, bool), 0.0)
    np.testing.assert_allclose(q, q_true, atol=1e-6)
    out = resp.resp_fit(sy, xyz, pts, v, total_charge=-1, bonds=[[0, 1], [0, 2], [0, 3], [0, 4],
                                                                  [4, 5], [5, 6], [4, 7]])
    assert abs(sum(out["charges"]) + 1.0) < 1e-6
    assert abs(sum(out["stage1"]) + 1.0) < 1e-6
    np.testing.assert_allclose(out["esp_charges"], q_true, atol=1e-6)
    # restraint pulls heavy-atom charges towards zero (most for buried carbons); the
    # well-determined exposed O/H charges barely move
    assert abs(out["stage1"][4]) < abs(q_true[4])
    assert abs(out["stage1"][0]) < abs(q_true[0])
    assert np.max(np.abs(np.array(out["charges"])[5:] - q_true[5:])) < 0.03
    assert np.max(np.abs(np.array(out["charges"]) - q_true)) < 0.2


def test_stage2_equivalences_butane():
    """Methyl/methylene hydrogens and symmetry-equivalent groups end up exactly equal,
    stage 2 only changes CH2/CH3 atoms; butane geometry is deliberately asymmetric."""
    import json
    import os
    FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "qm")
    mol = json.load(open(os.path.join(FIXTURES, "butane_molecule.json")))
    sy, xyz = mol["symbols"], np.array(mol["coords_angstrom"])
    rng = np.random.default_rng(0)
    xyz = xyz + rng.normal(scale=0.05, size=xyz.shape)
    q_true = np.array([-0.2 if s == "C" else 0.0 for s in sy])
    q_true[[i for i, s in enumerate(sy) if s == "H"]] = 0.8 / 10
    pts = resp.mk_points(sy, xyz)
    v = _synthetic_esp(xyz, pts, q_true) + rng.normal(scale=1e-3, size=len(pts))
    out = resp.resp_fit(sy, xyz, pts, v, 0, mol["bonds"], mol["equivalence"])
    q, q1 = np.array(out["charges"]), np.array(out["stage1"])
    eq = mol["equivalence"]
    for i in range(len(sy)):
        for j in range(len(sy)):
            if eq[i] == eq[j]:
                assert abs(q[i] - q[j]) < 1e-10
    assert np.max(np.abs(q1[eq.index(eq[4])] - q1[[i for i in range(14) if eq[i] == eq[4]]])) > 1e-5
    assert abs(q.sum()) < 1e-6


def test_stage2_freezes_non_methyl_atoms():
    sy, xyz = _parse(ACETIC)
    rng = np.random.default_rng(1)
    pts = resp.mk_points(sy, xyz)
    v = _synthetic_esp(xyz, pts, np.array([-0.3, 0.1, 0.1, 0.1, 0.8, -0.65, 0.45, -0.6]))
    v += rng.normal(scale=2e-3, size=len(v))
    out = resp.resp_fit(sy, xyz, pts, v, 0, [[0, 1], [0, 2], [0, 3], [0, 4], [4, 5], [5, 6], [4, 7]])
    q1, q2 = np.array(out["stage1"]), np.array(out["charges"])
    np.testing.assert_allclose(q2[4:], q1[4:], atol=1e-12)       # COOH frozen
    assert np.ptp(q2[1:4]) < 1e-12 and np.ptp(q1[1:4]) > 1e-6    # methyl H tied in stage 2


pyscf = pytest.importorskip("pyscf")


def _hf_esp(sy, xyz, points):
    from pyscf import gto, scf
    from aiida_polyinf.qm.driver import esp_at_points
    mol = gto.M(atom=[[s, tuple(c)] for s, c in zip(sy, xyz)], basis="6-31g*", cart=True,
                verbose=0)
    mf = scf.RHF(mol)
    mf.conv_tol = 1e-10
    mf.kernel()
    assert mf.converged
    return esp_at_points(mol, mf.make_rdm1(), points / resp.BOHR)


def test_reference_acetic_acid_red():
    """Acetic acid, HF/6-31G* ESP at a fixed published geometry, standard 2-stage RESP.

    Reference: R.E.D.-III.5 tools with GAMESS (RESP-A1), as recorded in the Psi4 RESP
    plugin test suite: github.com/cdsgroup/resp, resp/tests/test_resp.py::test_resp_1
    (Alenaizan, Burns, Sherrill, IJQC 2020, e26035).  Result here: MAD 0.0026 e.
    """
    sy, xyz = _parse(ACETIC)
    ref2 = np.array([-0.290893, 0.098314, 0.098314, 0.098314, 0.803999, -0.661279, 0.453270,
                     -0.600039])
    ref1 = np.array([-0.294974, 0.107114, 0.107114, 0.084795, 0.803999, -0.661279, 0.453270,
                     -0.600039])
    pts = resp.mk_points(sy, xyz)
    out = resp.resp_fit(sy, xyz, pts, _hf_esp(sy, xyz, pts), 0,
                        [[0, 1], [0, 2], [0, 3], [0, 4], [4, 5], [5, 6], [4, 7]])
    mad2 = np.mean(np.abs(np.array(out["charges"]) - ref2))
    mad1 = np.mean(np.abs(np.array(out["stage1"]) - ref1))
    print("acetic acid RESP MAD stage1 %.4f stage2 %.4f" % (mad1, mad2))
    assert mad2 <= 0.01 and mad1 <= 0.01
    assert np.max(np.abs(np.array(out["charges"]) - ref2)) < 0.02
    assert abs(sum(out["charges"])) < 1e-6


def test_reference_ethanol_two_conformers_amber():
    """Ethanol, two conformers fitted together (HF/6-31G*, restraint also on H: ihfree=0).

    Reference: AmberTools ``resp`` program charges recorded in github.com/cdsgroup/resp,
    resp/tests/test_resp.py::test_resp_2.  Result here: MAD 0.009 e (stage 2).
    """
    sy, x1 = _parse(ETHANOL_1)
    _, x2 = _parse(ETHANOL_2)
    bonds = [[0, 1], [1, 2], [2, 3], [1, 4], [1, 5], [0, 6], [0, 7], [0, 8]]
    ref2 = np.array([-0.079853, 0.253918, -0.630868, 0.377965, -0.007711, -0.007711, 0.031420,
                     0.031420, 0.031420])
    P = [resp.mk_points(sy, x) for x in (x1, x2)]
    V = [_hf_esp(sy, x, p) for x, p in zip((x1, x2), P)]
    out = resp.resp_fit(sy, [x1, x2], P, V, 0, bonds, restrain_hydrogens=True)
    q = np.array(out["charges"])
    mad = np.mean(np.abs(q - ref2))
    print("ethanol RESP MAD stage2 %.4f" % mad)
    assert mad <= 0.02
    assert q[4] == q[5] and q[6] == q[7] == q[8]
