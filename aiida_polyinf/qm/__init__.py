"""Pure QM layer (no aiida imports): driver.py + resp.py run remotely; results.py and
results.py is a local helper for the CalcJob/parser. Protocol numbers live in aiida_polyinf/protocols/qm.yaml."""
