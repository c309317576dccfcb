"""Pure QM layer (no aiida imports): driver.py + resp.py run remotely; results.py and
levels.py are local helpers for the CalcJob/parser."""
