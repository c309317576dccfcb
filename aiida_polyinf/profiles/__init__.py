"""Profiles and caching: ``setup`` creates the embedded and PostgreSQL profiles, the computers and codes;
``caching`` enables AiiDA caching of the QM and FF steps on a profile."""
