"""The tiny work chain of benchmarks/load.py: one calcfunction, no external program.

Imported by the daemon workers through ``PYTHONPATH`` (benchmarks/load.py starts the daemon with ``benchmarks/`` on
it), so it needs no entry point.
"""

from aiida import orm
from aiida.engine import WorkChain, calcfunction


@calcfunction
def add_one(x):
    return orm.Int(x.value + 1)


class TinyWorkChain(WorkChain):
    """x -> add_one(x): two process nodes, one data node in, one out."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('x', valid_type=orm.Int)
        spec.output('y', valid_type=orm.Int)
        spec.outline(cls.add)

    def add(self):
        self.out('y', add_one(self.inputs.x))
