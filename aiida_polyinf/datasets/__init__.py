"""Datasets shipped inside the package, with their licences and attribution.

- ``radonpy/PI1070.csv``: RadonPy's PI1070 table (1,077 polymers, all-atom MD at 300 K and 1 atm), BSD-3-Clause,
  ``radonpy/LICENSE``; see ``radonpy/README.md`` for its source commit, columns, units and citation.

Pure: no AiiDA here. ``polyinf import-dataset radonpy`` with no path imports :data:`PI1070`.
"""

from __future__ import annotations

import pathlib

HERE = pathlib.Path(__file__).resolve().parent
PI1070 = HERE / 'radonpy' / 'PI1070.csv'
PI1070_LICENSE = HERE / 'radonpy' / 'LICENSE'
CITATION = (
    'Y. Hayashi, J. Shiomi, J. Morikawa, R. Yoshida, "RadonPy: automated physical property calculation using all-atom '
    'classical molecular dynamics simulations for polymer informatics", npj Computational Materials 8, 222 (2022)'
)

__all__ = ('CITATION', 'PI1070', 'PI1070_LICENSE')
