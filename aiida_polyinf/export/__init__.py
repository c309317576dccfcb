"""Provenance queries, reproducible dataset export, archives, and import of external datasets."""
