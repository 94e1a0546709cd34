"""SQLAlchemy's aiosqlite adapter, making trips to aiosqlite's thread only to wait for a lock
(``SOURCEVAULT_SQLITE_ADAPTER=fast``, the default; ``stock`` runs SQLAlchemy's own).

aiosqlite runs every call on a thread of its own, one call per trip: the loop queues it, the
thread runs it and wakes the loop. SQLAlchemy's adapter makes four trips for each statement
(open a cursor, execute, fetch all, close the cursor), so a token lookup, with its
transaction's ``BEGIN`` and the pool's rollbacks around it, makes nine, for a query SQLite
answers at once.

What a thread is worth here is not waiting: a statement that may have to wait for another
connection's write lock (up to the busy timeout) must not hold the event loop meanwhile. With
the database in WAL mode, and every write transaction opened by ``BEGIN IMMEDIATE``
(db/engine.py), only that ``BEGIN IMMEDIATE`` waits for a lock: reads never wait for writers,
and once a transaction holds the write lock, its statements and its ``COMMIT`` wait for nobody.
So ``OneTripCursor`` runs a whole statement (execute, fetch, close) in one function, on
aiosqlite's thread for ``BEGIN IMMEDIATE`` and anything else that is not a ``SELECT`` or a
plain ``BEGIN`` outside a write transaction, and on the loop's thread for the rest; commits and
rollbacks too run on the loop's thread, and not at all with no transaction open (sqlite3 itself
does nothing then). The statements, their order and the connection are the same as the stock
adapter's; the connection is opened with ``check_same_thread=False``, and it is still used by
one coroutine at a time, as SQLAlchemy's pool guarantees. What this gives up: a query runs to
its end before the loop goes on (the largest is a join's catch-up, at most 501 rows), and a
``SELECT`` that meets SQLite's rare busy cases of WAL mode (a recovery) waits on the loop.
WAL checkpoints are made on a thread (db/sqlite.py ``Checkpoints``), not in a ``COMMIT``.
tests/test_sqlite_locks.py shows the server answering while a write waits for another
process's lock.

The reaches (listed in the package's docstring, canary-tested in tests/realtime/
test_canaries.py): it subclasses ``sqlalchemy.dialects.sqlite.aiosqlite``'s adapter classes
(their ``_cursor_cls``, ``_connection``, ``_adapt_connection``, ``_handle_exception``,
``_soft_closed_memoized``, ``_async_soft_close``) and calls aiosqlite's
``Connection._execute`` (how aiosqlite itself queues a call) on its ``_conn``, written against
SQLAlchemy 2.1 and aiosqlite 0.22. Server-side cursors (``stream``) keep the stock adapter.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
from typing import Any, cast

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

log = logging.getLogger(__name__)

Outcome = tuple[Any, int, int, list[Any]]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """The whole of one statement: execute, fetch every row, close the cursor."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid or 0, rows
    finally:
        cursor.close()


async def _here(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> Outcome:
    """``_run`` on the loop's thread, as a coroutine: SQLAlchemy's async connection checks
    that its driver awaited something (``AwaitRequired``)."""
    return _run(connection, operation, parameters, many)


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A statement in one go, on the loop's thread or in one trip to aiosqlite's."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # Not the stock __init__: it opens an aiosqlite cursor, a trip of its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # no aiosqlite cursor is kept
        self._soft_closed_memoized = EMPTY_DICT
        self._rows: collections.deque[Any] = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid = 0

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        return None  # nothing is open on the database's side

    def close(self) -> None:
        self._rows.clear()

    def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        connection = self._connection
        adapt = cast("OneTripConnection", self._adapt_connection)
        try:
            if adapt.here(operation):
                outcome: Outcome = await_(_here(connection._conn, operation, parameters, many))
            else:
                outcome = await_(
                    connection._execute(_run, connection._conn, operation, parameters, many)
                )
                if operation.startswith("BEGIN IMMEDIATE"):
                    adapt.writing = True
        except Exception as error:
            adapt._handle_exception(error)
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._trip(operation, parameters, False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._trip(operation, seq_of_parameters, True)


async def _end(finish: Any) -> None:
    finish()  # a coroutine, as ``_here``


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """The stock connection adapter with ``OneTripCursor``, knowing whether its transaction
    holds the write lock, and committing and rolling back on the loop's thread."""

    __slots__ = ("writing",)
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.writing = False  # in a transaction that holds the write lock

    def here(self, operation: str) -> bool:
        """Whether ``operation`` runs on the loop's thread: statements that wait for no lock."""
        if self.writing:
            return True
        head = operation.lstrip()[:16].upper()
        return head.startswith("SELECT") or head == "BEGIN"

    def _in_transaction(self) -> bool:
        connection: sqlite3.Connection | None = self._connection._connection
        return connection is not None and connection.in_transaction

    def rollback(self) -> None:
        self._end("rollback")

    def commit(self) -> None:
        self._end("commit")

    def _end(self, how: str) -> None:
        self.writing = False
        if self._in_transaction():
            try:
                await_(_end(getattr(self._connection._conn, how)))
            except Exception as error:
                self._handle_exception(error)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """What ``build_engine`` passes as ``module``: the stock adapter's, with our connection."""

    def connect(self, *args: Any, **kwargs: Any) -> OneTripConnection:
        stock = super().connect(*args, **kwargs)
        return OneTripConnection(self, stock._connection)


def dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
