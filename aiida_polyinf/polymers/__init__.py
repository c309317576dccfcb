"""Polymer intake: repeat-unit SMILES validation, capping, oligomers and conformers (pure RDKit, no AiiDA)."""

from .smiles import ALLOWED_ELEMENTS, IntakeError, RepeatUnit, parse_repeat_unit
from .oligomer import Oligomer, build_oligomer
from .conformer import embed_conformer, lowest_conformer

__all__ = (
    'ALLOWED_ELEMENTS',
    'IntakeError',
    'Oligomer',
    'RepeatUnit',
    'build_oligomer',
    'embed_conformer',
    'lowest_conformer',
    'parse_repeat_unit',
)
