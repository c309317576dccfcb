"""A tiny graph-network fit runs, on the cyclic polymer graph."""

import numpy as np
import pytest

pytest.importorskip('torch_geometric')

from aiida_polyinf.ml.gnn import GNNRegressor, cyclic_graph, polymer_graphs  # noqa: E402


def test_cyclic_graph_is_a_ring_of_five_units():
    x, edges = cyclic_graph('*CC(*)c1ccccc1')
    assert x.shape[0] == 5 * 8
    assert edges.shape[1] == 2 * 5 * (8 + 1)  # 8 bonds within the unit + 1 link per unit, both directions
    degree = np.bincount(edges[0], minlength=x.shape[0])
    assert degree.min() >= 1  # closed ring: no chain ends


@pytest.mark.parametrize('kind', ['gcn', 'gin'])
def test_tiny_gnn_fit(kind):
    smiles = ['*CC*', '*CC(*)C', '*CC(*)c1ccccc1', '*CC(*)C(=O)OC', '*CC(*)Cl', '*OCC*', '*CC(*)C#N', '*CC(C)(*)C']
    y = np.arange(len(smiles), dtype=float)
    graphs = polymer_graphs(smiles)
    model = GNNRegressor(kind, hidden=16, layers=2, epochs=30, batch_size=4, seed=0, threads=1).fit(graphs, y)
    pred = model.predict(graphs)
    assert pred.shape == (len(smiles),) and np.isfinite(pred).all()
    assert np.corrcoef(pred, y)[0, 1] > 0.5  # it learns something on its training data
