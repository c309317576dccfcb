"""WorkChains of aiida-polyinf, with their protocols in ``protocols/*.yaml``."""
