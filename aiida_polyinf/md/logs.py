"""Parse a LAMMPS log: every thermo block as arrays with its column names, and failures by name (pure code).

Failure names (``LogResult.failure``; the first that applies, in this order):

- ``lost_atoms``: ``ERROR: Lost atoms`` (atoms flew out of the box: time step too large, bad structure);
- ``bond_atoms_missing``: ``Bond/Angle/Dihedral/Improper atoms ... missing`` (a bonded partner is too far away:
  the same physics as lost atoms, seen first in a bonded term);
- ``shake_failure``: SHAKE could not converge or lost its atoms;
- ``pppm_out_of_range``: ``Out of range atoms - cannot compute PPPM`` (a blow-up seen by the k-space solver);
- ``nan``: NaN or inf in the thermo output, or ``Non-numeric atom coords - simulation unstable``;
- ``timeout``: LAMMPS' ``timer timeout`` stopped the run (our inputs then print ``POLYINF_TIMEOUT`` and exit 3);
- ``error``: any other ``ERROR`` line (its text is in ``LogResult.errors``);
- ``incomplete``: no ``Total wall time`` line and none of the above: the process was killed (wall time, SIGKILL,
  node failure) or is still running.

A log is ``complete`` when it has ``Total wall time`` and no failure; ``stage_complete`` additionally requires the
``POLYINF_STAGE_COMPLETE`` mark of our inputs (the final data file was written).
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np

FAILURES = ('lost_atoms', 'bond_atoms_missing', 'shake_failure', 'pppm_out_of_range', 'nan', 'timeout', 'error',
            'incomplete')
#: Failures a restart with a smaller time step may cure (the lead's restart handler), and those it may not.
RECOVERABLE = ('lost_atoms', 'bond_atoms_missing', 'shake_failure', 'pppm_out_of_range', 'nan', 'timeout',
               'incomplete')

_PATTERNS = [
    ('lost_atoms', re.compile(r'ERROR.*Lost atoms', re.I)),
    ('bond_atoms_missing', re.compile(r'ERROR.*(Bond|Angle|Dihedral|Improper) atoms .*missing', re.I)),
    ('shake_failure', re.compile(r'ERROR.*(Shake|SHAKE)', re.I)),
    ('pppm_out_of_range', re.compile(r'ERROR.*Out of range atoms - cannot compute PPPM', re.I)),
    ('nan', re.compile(r'ERROR.*Non-numeric atom coords', re.I)),
]
_TIMEOUT = re.compile(r'Wall time limit reached', re.I)
_TIMEOUT_MARK = 'POLYINF_TIMEOUT'
_COMPLETE_MARK = 'POLYINF_STAGE_COMPLETE'


@dataclasses.dataclass
class ThermoBlock:
    columns: list[str]
    data: np.ndarray  # rows x columns, float
    loop_time: float | None = None  # seconds, from "Loop time of"
    steps: int | None = None  # from "Loop time of ... for N steps"
    atoms: int | None = None

    def column(self, name: str) -> np.ndarray:
        return self.data[:, self.columns.index(name)]

    def as_dict(self) -> dict[str, np.ndarray]:
        return {c: self.data[:, i] for i, c in enumerate(self.columns)}

    def dataframe(self):
        """A pandas DataFrame with LAMMPS' headings (what RadonPy's ``Analyze`` class methods expect)."""
        import pandas as pd

        return pd.DataFrame(self.data, columns=self.columns)


@dataclasses.dataclass
class LogResult:
    blocks: list[ThermoBlock]
    errors: list[str]
    warnings: list[str]
    failure: str | None
    has_total_wall_time: bool
    stage_complete: bool
    wall_time: str | None
    last_step: int | None
    performance: list[float]  # katom-step/s of each completed run

    @property
    def complete(self) -> bool:
        return self.has_total_wall_time and self.failure is None

    def last_block(self) -> ThermoBlock | None:
        return self.blocks[-1] if self.blocks else None

    def joined(self, columns: list[str] | None = None) -> ThermoBlock | None:
        """All blocks with the same columns as the last one, concatenated (a stage's runs, in order)."""
        if not self.blocks:
            return None
        cols = columns or self.blocks[-1].columns
        parts = [b.data for b in self.blocks if b.columns == cols and len(b.data)]
        return ThermoBlock(list(cols), np.vstack(parts) if parts else np.zeros((0, len(cols))))


def _floats(line: str, n: int) -> list[float] | None:
    parts = line.split()
    if len(parts) != n:
        return None
    try:
        return [float(p) for p in parts]
    except ValueError:
        return None


def parse_log(text: str) -> LogResult:
    """Parse the text of a LAMMPS log (``log.lammps`` or a ``log`` command's file)."""
    blocks, errors, warnings, performance = [], [], [], []
    columns, rows = None, []
    has_wall, stage_complete, wall_time, timeout_seen = False, False, None, False

    def close(loop_line: str | None = None):
        nonlocal columns, rows
        if columns is not None:
            block = ThermoBlock(columns, np.array(rows, dtype=float).reshape(-1, len(columns)))
            if loop_line:
                m = re.search(r'Loop time of ([\d.eE+-]+) on \d+ procs for (\d+) steps with (\d+) atoms', loop_line)
                if m:
                    block.loop_time, block.steps, block.atoms = float(m.group(1)), int(m.group(2)), int(m.group(3))
            blocks.append(block)
        columns, rows = None, []

    for raw in text.splitlines():
        line = raw.strip()
        if columns is not None:
            values = _floats(line, len(columns))
            if values is not None:
                rows.append(values)
                continue
            if line.startswith('Loop time of'):
                close(line)
                continue
            if line.startswith('WARNING'):
                warnings.append(line)
                continue
            close()  # an error or anything else ends the block (RadonPy's parse_thermo does the same)
        if line.startswith('Step ') or line == 'Step':
            columns = line.split()
            rows = []
            continue
        if line.startswith('ERROR'):
            errors.append(line)
        elif line.startswith('WARNING'):
            warnings.append(line)
            if _TIMEOUT.search(line):
                timeout_seen = True
        elif line.startswith('Total wall time'):
            has_wall = True
            wall_time = line.split(':', 1)[1].strip()
        elif line.startswith('Performance:'):
            m = re.search(r'([\d.eE+-]+) katom-step/s', line)
            if m:
                performance.append(float(m.group(1)))
        elif line.startswith(_COMPLETE_MARK):
            stage_complete = True
        if line.startswith(_TIMEOUT_MARK):  # printed by our input (the echoed `if` line starts with 'if')
            timeout_seen = True
    close()

    last_step = None
    for block in reversed(blocks):
        if 'Step' in block.columns and len(block.data):
            last_step = int(block.column('Step')[-1])
            break
    nan = any(not np.all(np.isfinite(b.data)) for b in blocks) or any(
        re.search(r'\bnan\b|\binf\b', r, re.I) for r in errors
    )

    failure = None
    for name, pattern in _PATTERNS:
        if any(pattern.search(e) for e in errors):
            failure = name
            break
    if failure is None and nan:
        failure = 'nan'
    if failure is None and timeout_seen:
        failure = 'timeout'
    if failure is None and errors:
        failure = 'error'
    if failure is None and not has_wall:
        failure = 'incomplete'
    return LogResult(blocks, errors, warnings, failure, has_wall, stage_complete and failure is None, wall_time,
                     last_step, performance)


def read_log(path: str) -> LogResult:
    with open(path, errors='replace') as handle:
        return parse_log(handle.read())


def _isnan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)
