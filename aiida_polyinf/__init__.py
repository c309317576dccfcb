"""aiida-polyinf: a polymer-informatics data platform built on AiiDA."""

__version__ = '0.1.0'
