"""AiiDA data types of aiida-polyinf."""

from .polymer import PolymerData

__all__ = ('PolymerData',)
