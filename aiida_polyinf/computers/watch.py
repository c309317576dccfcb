"""``polyinf watch``: resume the jobs AiiDA paused because their computer could not be reached.

When a transport task (upload, submit, update, retrieve) fails ``transport.task_maximum_attempts`` times in a row,
AiiDA pauses the CalcJob with the status ``Pausing after failed transport task: ...`` and waits for a
``verdi process play``. That happens whenever the SSH master connection of a two-factor login is gone, or the computer
is down. ``watch`` does the play for the user: every ``interval`` seconds it lists such paused jobs, groups them by
computer, opens that computer's transport once, and when the login works plays them (the daemon runs them on from
where they stopped). Jobs paused for any other reason (by hand) are left alone. Every action is logged.
``polyinf run --wait`` calls :func:`resume_once` on each of its rounds.
"""

from __future__ import annotations

import dataclasses
import datetime
import time

TRANSPORT_PAUSE = 'Pausing after failed transport task'


@dataclasses.dataclass
class Action:
    when: str
    computer: str
    pks: list
    what: str  # 'resumed', 'unreachable'
    detail: str = ''

    def line(self) -> str:
        pks = ', '.join(map(str, self.pks))
        return f'{self.when} {self.computer}: {self.what} {len(self.pks)} job(s) [{pks}]{": " + self.detail if self.detail else ""}'


def paused_by_transport() -> dict[str, list]:
    """``{computer label: [CalcJobNode, ...]}`` of the unsealed CalcJobs paused after failed transport tasks."""
    from aiida import orm

    query = orm.QueryBuilder().append(
        orm.CalcJobNode,
        filters={
            'attributes.paused': True,
            'attributes.process_state': {'in': ['created', 'waiting', 'running']},
            'attributes.process_status': {'like': f'{TRANSPORT_PAUSE}%'},
        },
        tag='calc',
    )
    found: dict[str, list] = {}
    for (node,) in query.iterall():
        found.setdefault(node.computer.label, []).append(node)
    return found


def reachable(computer) -> tuple[bool, str]:
    """Whether the computer's transport opens and runs ``true``; with the reason when not."""
    from .doctor import open_transport

    try:
        with open_transport(computer) as transport:
            retval, _, stderr = transport.exec_command_wait('true')
        if retval != 0:
            return False, f'`true` returned {retval}: {stderr.strip()[:200]}'
        return True, ''
    except Exception as exception:  # noqa: BLE001 - any failure to log in means: not yet
        return False, f'{type(exception).__name__}: {str(exception).strip()[:200]}'


def resume_once(log=print) -> list[Action]:
    """One round: play the transport-paused jobs of every computer that can be reached again."""
    from aiida.engine.processes.control import play_processes

    actions = []
    for label, nodes in sorted(paused_by_transport().items()):
        now = datetime.datetime.now().isoformat(timespec='seconds')
        ok, why = reachable(nodes[0].computer)
        pks = sorted(node.pk for node in nodes)
        if not ok:
            action = Action(now, label, pks, 'unreachable', why)
        else:
            play_processes(nodes, timeout=30.0)
            action = Action(now, label, pks, 'resumed', 'login works again')
        log(action.line())
        actions.append(action)
    return actions


def watch(interval: float = 30.0, rounds: int | None = None, until=None, log=print) -> list[Action]:
    """Run :func:`resume_once` every ``interval`` seconds, ``rounds`` times (forever if None) or until ``until()``."""
    actions = []
    done = 0
    while rounds is None or done < rounds:
        actions += resume_once(log)
        done += 1
        if until is not None and until():
            break
        if rounds is not None and done >= rounds:
            break
        time.sleep(interval)
    return actions
