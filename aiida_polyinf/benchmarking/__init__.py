"""The ML benchmarks on the provenance graph: the one package that imports both the ML code (:mod:`aiida_polyinf.ml`,
pure) and the AiiDA layer.

- :mod:`.graph`: a group's dataset, built by the export query, stored as a node (table + manifest, by sha256);
- :mod:`.processes`: the calcfunctions that record a benchmark run in the graph (descriptor cache, one process per
  task, the allocation recommender);
- :mod:`.run`: ``polyinf bench run --group`` / ``--source CSV`` and ``polyinf bench recommend``.
"""

from __future__ import annotations

from ..ml.bench import compare, format_summary
from ..ml.descriptors import MixedSources

__all__ = ('MixedSources', 'compare', 'format_summary', 'load')


def load(source, **kwargs):
    """The dataset of ``source`` as a DataFrame: a PI1070-style CSV file (outside the graph), or the label of a group
    of polymers in the loaded AiiDA profile (built by the export query)."""
    import pathlib

    from ..ml.data import load_csv

    path = pathlib.Path(str(source)).expanduser()
    if path.suffix.lower() == '.csv' or path.exists():
        return load_csv(path)
    from ..export.query import load_dataset

    frame = load_dataset(str(source), **kwargs)
    frame.attrs.setdefault('source', str(source))
    return frame
