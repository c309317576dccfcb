"""Graph networks (GCN, GIN) on the cyclic polymer graph, behind the benchmarks' fit/predict interface.

A polymer is the ring of ``N_UNITS`` = 5 repeat units joined head to tail (the tail atom of unit k bonded to the head
atom of unit k+1, the last unit closing onto the first), heavy atoms only. The graph is built from the repeat unit
directly (no sanitisation of the ring needed): node features are those of the repeat unit's atoms, so every unit is
featured alike. Node features: element (C N O F P S Cl Br I other), degree, attached hydrogens, aromaticity,
hybridisation, ring membership within the unit, formal charge.

Needs torch and torch-geometric (the ``ml-gnn`` extra).
"""

from __future__ import annotations

import numpy as np

N_UNITS = 5
ELEMENTS = ('C', 'N', 'O', 'F', 'P', 'S', 'Cl', 'Br', 'I')


def _one_hot(value, choices):
    out = [0.0] * (len(choices) + 1)
    out[choices.index(value) if value in choices else len(choices)] = 1.0
    return out


def atom_features(atom) -> list[float]:
    from rdkit import Chem

    hyb = (Chem.HybridizationType.SP, Chem.HybridizationType.SP2, Chem.HybridizationType.SP3)
    return (
        _one_hot(atom.GetSymbol(), ELEMENTS)
        + _one_hot(atom.GetDegree(), (1, 2, 3, 4))
        + _one_hot(atom.GetTotalNumHs(), (0, 1, 2, 3))
        + [float(atom.GetIsAromatic()), float(atom.IsInRing()), float(atom.GetFormalCharge())]
        + _one_hot(atom.GetHybridization(), hyb)
    )


def cyclic_graph(smiles: str, n_units: int = N_UNITS):
    """``(node features (n_units·n_atoms, F), edge_index (2, E))`` of the cyclic n-mer of a repeat unit."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    dummies = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() == 0]
    head, tail = (mol.GetAtomWithIdx(d).GetNeighbors()[0].GetIdx() for d in dummies)
    real = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 0]
    index = {old: new for new, old in enumerate(real)}
    n = len(real)
    feats = np.array([atom_features(mol.GetAtomWithIdx(i)) for i in real], dtype=np.float32)
    bonds = [(index[b.GetBeginAtomIdx()], index[b.GetEndAtomIdx()]) for b in mol.GetBonds()
             if b.GetBeginAtomIdx() in index and b.GetEndAtomIdx() in index]
    edges = []
    for k in range(n_units):
        edges += [(a + k * n, b + k * n) for a, b in bonds]
        edges.append((index[tail] + k * n, index[head] + ((k + 1) % n_units) * n))
    edges = np.array(edges, dtype=np.int64).T
    edge_index = np.concatenate([edges, edges[::-1]], axis=1)
    return np.tile(feats, (n_units, 1)), edge_index


def polymer_graphs(smiles_list, n_units: int = N_UNITS):
    """torch-geometric ``Data`` objects of the cyclic graphs (target unset)."""
    import torch
    from torch_geometric.data import Data

    out = []
    for s in smiles_list:
        x, ei = cyclic_graph(s, n_units)
        out.append(Data(x=torch.from_numpy(x), edge_index=torch.from_numpy(ei)))
    return out


def _network(kind, n_in, hidden, layers):
    import torch
    from torch_geometric.nn import GCNConv, GINConv, global_add_pool, global_mean_pool

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = torch.nn.ModuleList()
            self.norms = torch.nn.ModuleList()
            for i in range(layers):
                d_in = n_in if i == 0 else hidden
                if kind == 'gcn':
                    conv = GCNConv(d_in, hidden)
                else:
                    mlp = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.ReLU(),
                                              torch.nn.Linear(hidden, hidden))
                    conv = GINConv(mlp, train_eps=True)
                self.convs.append(conv)
                self.norms.append(torch.nn.BatchNorm1d(hidden))
            self.head = torch.nn.Sequential(torch.nn.Linear(2 * hidden, hidden), torch.nn.ReLU(),
                                            torch.nn.Linear(hidden, 1))

        def forward(self, data):
            h = data.x
            for conv, norm in zip(self.convs, self.norms):
                h = torch.relu(norm(conv(h, data.edge_index)))
            # mean pooling is size-independent; the sum is divided by the ring's unit count, so it is per repeat unit
            pooled = torch.cat([global_mean_pool(h, data.batch), global_add_pool(h, data.batch) / N_UNITS], dim=1)
            return self.head(pooled).squeeze(-1)

    return Net()


class GNNRegressor:
    """GCN or GIN regressor with ``fit(graphs, y)`` / ``predict(graphs)``; the target is standardised inside."""

    def __init__(self, kind='gin', hidden=64, layers=3, epochs=120, lr=3e-3, weight_decay=1e-4, batch_size=64,
                 seed=0, threads=1):
        if kind not in ('gcn', 'gin'):
            raise ValueError(kind)
        self.kind, self.hidden, self.layers, self.epochs = kind, int(hidden), int(layers), int(epochs)
        self.lr, self.weight_decay, self.batch_size, self.seed = float(lr), float(weight_decay), int(batch_size), seed
        self.threads = threads

    def fit(self, graphs, y):
        import torch
        from torch_geometric.loader import DataLoader

        if self.threads:
            torch.set_num_threads(self.threads)
        torch.manual_seed(self.seed)
        y = np.asarray(y, dtype=np.float32)
        self.mu, self.sd = float(y.mean()), float(y.std() or 1.0)
        data = []
        for g, v in zip(graphs, y):
            g = g.clone()
            g.y = torch.tensor([(v - self.mu) / self.sd], dtype=torch.float32)
            data.append(g)
        self.net = _network(self.kind, graphs[0].x.shape[1], self.hidden, self.layers)
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(self.epochs, 1))
        gen = torch.Generator().manual_seed(self.seed)
        loader = DataLoader(data, batch_size=self.batch_size, shuffle=True, generator=gen,
                            drop_last=len(data) > self.batch_size)
        self.net.train()
        for _ in range(self.epochs):
            for batch in loader:
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(self.net(batch), batch.y)
                loss.backward()
                opt.step()
            sched.step()
        return self

    def predict(self, graphs):
        import torch
        from torch_geometric.loader import DataLoader

        self.net.eval()
        out = []
        with torch.no_grad():
            for batch in DataLoader(list(graphs), batch_size=256):
                out.append(self.net(batch).numpy())
        return np.concatenate(out) * self.sd + self.mu
