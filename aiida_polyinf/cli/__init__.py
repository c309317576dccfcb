"""The ``polyinf`` command line, in AiiDA's style: a ``VerdiCommandGroup`` with a profile option and lazy imports."""

from .root import cmd_root
from . import cmd_bench, cmd_computers, cmd_export, cmd_polymers, cmd_restart, cmd_run, cmd_serve, cmd_setup, cmd_status  # noqa: F401  (registers the sub-commands)

__all__ = ('cmd_root',)
