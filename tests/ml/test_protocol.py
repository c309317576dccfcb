"""Protocol mechanics on small data: folds, leakage, frozen splits, metrics."""

import numpy as np
import pytest

from aiida_polyinf.ml import protocol as P


def test_metrics_hand_computed():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.5, 2.0, 2.5, 4.0])
    m = P.metrics(y, pred)
    rmse = np.sqrt((0.25 + 0 + 0.25 + 0) / 4)  # 0.35355
    assert m['rmse'] == pytest.approx(rmse)
    assert m['r2'] == pytest.approx(1 - 0.5 / 5.0)  # SS_res 0.5, SS_tot 5
    assert m['rmse_sigma'] == pytest.approx(rmse / np.sqrt(1.25))  # population std of 1..4
    assert P.metrics(y, pred, sigma=2.0)['rmse_sigma'] == pytest.approx(rmse / 2.0)


def test_kfold_sizes_and_partition():
    rng = np.random.default_rng(0)
    folds = P.kfold(np.arange(103), 5, rng)
    assert sorted(len(f) for f in folds) == [20, 20, 21, 21, 21]
    assert np.array_equal(np.sort(np.concatenate(folds)), np.arange(103))


def _ids(n):
    return [f'*C{"C" * i}*' for i in range(n)]


def test_interpolation_splits_no_leak_and_sizes():
    s = P.interpolation_splits(_ids(300), 'density', [100, 200], seed=1, ensembles=3, outer=5, inner=4)
    assert len(s.units) == 2 * 3 * 5
    for u in s.units:
        assert not set(u.train) & set(u.tests['test'])
        assert len(u.train) == u.meta['size']  # ceil(n·5/4) rows in 5-fold: every fold trains on n
        inner = u.inner_pairs()
        assert len(inner) == 4
        for tr, va in inner:
            assert not set(tr) & set(va)
            assert len(tr) + len(va) == len(u.train)
    # per ensemble the outer test folds partition the subset
    ens = [u for u in s.units if u.meta['size'] == 100 and u.meta['ensemble'] == 0]
    tests = np.concatenate([u.tests['test'] for u in ens])
    assert len(tests) == len(set(tests)) == 125


def test_extrapolation_range_and_similarity_partitions():
    y = np.arange(100, dtype=float)[::-1]
    pool, test = P.extrapolation_partition('range', y, test_fraction=0.3)
    assert len(test) == 30 and y[test].min() > y[pool].max()
    sim = np.linspace(0, 1, 100)
    pool, test = P.extrapolation_partition('similarity', y, sim, 0.3)
    assert set(test) == set(range(30))
    s = P.extrapolation_splits(_ids(100), 'density', 'range', y, seed=3, ensembles=3, outer=5, inner=4)
    for u in s.units:
        assert not set(u.train) & set(u.tests['test'])
        assert not set(u.train) & set(u.tests['val'])
        assert not set(u.tests['val']) & set(u.tests['test'])
    d = P.extrapolation_scaling_splits(_ids(100), 'density', 'range', y, sizes=(10, 50, 500), samplings=3, seed=3)
    assert sorted({u.meta['size'] for u in d.units}) == [10, 50]  # sizes beyond the pool are skipped
    assert all(not set(u.train) & set(u.tests['test']) for u in d.units)


def test_frozen_splits_reproduce(tmp_path):
    a = P.interpolation_splits(_ids(200), 'Cp', [100], seed=7)
    b = P.interpolation_splits(_ids(200), 'Cp', [100], seed=7)
    c = P.interpolation_splits(_ids(200), 'Cp', [100], seed=8)
    assert a.to_json() == b.to_json()
    assert a.to_json() != c.to_json()
    a.save(tmp_path / 's.json')
    loaded = P.Splits.load(tmp_path / 's.json')
    assert loaded.to_json() == a.to_json()
    loaded.check(_ids(200))
    with pytest.raises(ValueError):
        loaded.check(_ids(201))


def test_split_labels_name_the_target_only_for_range():
    """Interpolation and similarity splits of targets on the same polymers are the same splits (so the engine fits
    the targets together); range splits depend on the target."""
    ids = _ids(120)
    y1, y2 = np.arange(120.0), np.cos(np.arange(120.0))
    sim = np.linspace(0, 1, 120)

    def units(s):
        return [u.to_json() for u in s.units]

    assert units(P.interpolation_splits(ids, 'density', [40], seed=5)) == \
        units(P.interpolation_splits(ids, 'Cp', [40], seed=5))
    assert units(P.extrapolation_splits(ids, 'density', 'similarity', y1, sim, seed=5)) == \
        units(P.extrapolation_splits(ids, 'Cp', 'similarity', y2, sim, seed=5))
    assert units(P.extrapolation_scaling_splits(ids, 'density', 'similarity', y1, sim, sizes=(20,), seed=5)) == \
        units(P.extrapolation_scaling_splits(ids, 'Cp', 'similarity', y2, sim, sizes=(20,), seed=5))
    assert units(P.extrapolation_splits(ids, 'density', 'range', y1, seed=5)) != \
        units(P.extrapolation_splits(ids, 'Cp', 'range', y1, seed=5))
