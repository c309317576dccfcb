"""Run a function in a child process that is killed at its time limit.

RDKit's substructure matching cannot be interrupted inside a thread, and a pathological SMARTS can run for minutes: the
API runs the match in a forked child (it needs no database, only the SMILES and the pattern) and kills it when the
time is up, so a request never hangs and the server keeps its threads.
"""

from __future__ import annotations

import multiprocessing


class TimeLimit(TimeoutError):
    pass


def _child(connection, function, args):
    try:
        connection.send(('ok', function(*args)))
    except BaseException as error:  # noqa: BLE001  (sent to the parent, which raises it)
        connection.send(('error', error))
    finally:
        connection.close()


def run_limited(function, args: tuple, seconds: float):
    """``function(*args)`` in a forked child process; raises :class:`TimeLimit` after ``seconds``."""
    context = multiprocessing.get_context('fork')
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(child, function, args), daemon=True)
    process.start()
    child.close()
    try:
        if not parent.poll(seconds):
            raise TimeLimit(f'gave up after {seconds:g} s')
        status, value = parent.recv()
    finally:
        if process.is_alive():
            process.kill()
        process.join(1)
        parent.close()
    if status == 'error':
        raise value
    return value
