"""The ML benchmarks on the provenance graph: the one package that imports both the ML code (:mod:`aiida_polyinf.ml`,
pure) and the AiiDA layer (the export query). ``polyinf bench`` reads its datasets through here."""

from __future__ import annotations

import pathlib

from ..ml.bench import format_summary, run_task

__all__ = ('format_summary', 'load', 'run_task')


def load(source, **kwargs):
    """The dataset of ``source``: a PI1070-style CSV file, or the label of a group of polymers in the loaded AiiDA
    profile (built by the export query, :func:`aiida_polyinf.export.query.load_dataset`)."""
    from ..ml.data import load_csv

    path = pathlib.Path(str(source)).expanduser()
    if path.suffix.lower() == '.csv' or path.exists():
        return load_csv(path)
    from ..export.query import load_dataset

    frame = load_dataset(str(source), **kwargs)
    frame.attrs.setdefault('source', str(source))
    return frame
