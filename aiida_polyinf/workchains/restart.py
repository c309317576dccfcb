"""The base of the project's restart work chains: a named abort for every unrecoverable exit code."""

from __future__ import annotations

from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler


class RestartWorkChain(BaseRestartWorkChain):
    """``BaseRestartWorkChain`` that ends with ``ERROR_UNRECOVERABLE_FAILURE`` (310) on any 3xx or 5xx exit code."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.exit_code(310, 'ERROR_UNRECOVERABLE_FAILURE', message='the calculation failed unrecoverably: {message}')

    @process_handler(priority=100)
    def handle_unrecoverable(self, node):
        """Any 3xx or 5xx exit code: abort with a named code."""
        if node.exit_status is not None and (300 <= node.exit_status < 400 or 500 <= node.exit_status < 600):
            self.report(f'{node.process_label}<{node.pk}> failed unrecoverably: {node.exit_message}')
            return ProcessHandlerReport(
                True, self.exit_codes.ERROR_UNRECOVERABLE_FAILURE.format(message=node.exit_message)
            )
        return None
