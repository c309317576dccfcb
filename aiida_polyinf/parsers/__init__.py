"""AiiDA parsers of aiida-polyinf."""
