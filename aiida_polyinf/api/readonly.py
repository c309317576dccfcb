"""Read-only access to a profile's database, by construction: every connection the API's sessions open refuses writes.

- SQLite (``core.sqlite_dos``): each connection runs ``PRAGMA query_only = ON``; the engine's pool is emptied first, so
  no connection opened before is reused.
- PostgreSQL (``core.psql_dos``): each connection runs ``SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY``; with
  the read-only role that ``polyinf setup --postgres`` creates (SELECT only), the server refuses writes as well.

:func:`make_read_only` is called once per process, before any request; :func:`check` proves it on a live session;
:func:`undo` exists for the tests, which share their profile with the app.
"""

from __future__ import annotations

from sqlalchemy import event, text

_LISTENERS: dict = {}  # id(engine) -> (engine, listener)


def _engine(storage):
    return storage.get_session().get_bind()


def make_read_only(storage) -> str:
    """Make every connection of ``storage`` read-only; returns the dialect name."""
    engine = _engine(storage)
    dialect = engine.dialect.name
    if id(engine) in _LISTENERS:
        return dialect
    if dialect == 'sqlite':
        statement = 'PRAGMA query_only = ON'
    elif dialect == 'postgresql':
        statement = 'SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY'
    else:
        raise RuntimeError(f'no read-only mode for the {dialect} database of this profile')

    def _read_only(dbapi_connection, _record):  # noqa: ARG001
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()

    event.listen(engine, 'connect', _read_only)
    storage.get_session().close()
    engine.dispose()  # connections opened before the listener are not reused
    _LISTENERS[id(engine)] = (engine, _read_only)
    return dialect


def undo(storage):
    """Writable connections again (for a test process that shares the profile with the app it tested)."""
    engine = _engine(storage)
    entry = _LISTENERS.pop(id(engine), None)
    if entry is not None:
        event.remove(engine, 'connect', entry[1])
        storage.get_session().close()
        engine.dispose()


def check(storage) -> bool:
    """True when a write through the storage's session is refused (the write is rolled back either way)."""
    session = storage.get_session()
    try:
        session.execute(text("UPDATE db_dbsetting SET description = description WHERE key = 'polyinf-read-only-check'"))
        session.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS polyinf_probe (x integer)"))
    except Exception:  # noqa: BLE001  (OperationalError / ReadOnlySqlTransaction, by dialect)
        session.rollback()
        return True
    session.rollback()
    return False
