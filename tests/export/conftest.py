"""Fixtures: a slice of PI1070 and a small computed campaign (tests/polyinf_fixtures.py)."""

from polyinf_fixtures import computed_group, pi1070, pi1070_slice  # noqa: F401
