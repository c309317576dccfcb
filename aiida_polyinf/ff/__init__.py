"""Force-field typing and descriptors (RadonPy GAFF2), shared by the ML and MD stages."""
