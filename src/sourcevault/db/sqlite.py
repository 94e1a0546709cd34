"""SQLAlchemy's aiosqlite adapter with one trip to the database thread per statement.

aiosqlite runs every call on a thread of its own, one call per trip: the loop queues it, the
thread runs it and wakes the loop. SQLAlchemy's adapter makes four trips for each statement
(open a cursor, execute, fetch all, close the cursor), so looking a session token up, with the
transaction's ``BEGIN`` and the pool's rollback around it, took nine trips and about 1.7 ms of
the server's time for a query SQLite answers in microseconds. ``OneTripCursor`` does those four
steps in one function on aiosqlite's thread; the rows, the description, ``rowcount`` and
``lastrowid`` come back together; and ``OneTripConnection`` makes no trip for a commit or a
rollback with no transaction open, where sqlite3 itself would do nothing (the pool's reset
after each session is one). The statements, their order, the connection and its thread are the
same as before: only the trips are fewer.

It subclasses ``sqlalchemy.dialects.sqlite.aiosqlite``'s adapter classes and calls aiosqlite's
``Connection._execute`` (how aiosqlite itself queues a call), written against SQLAlchemy 2.1
and aiosqlite 0.22, which ``pyproject.toml`` pins; every test that touches SQLite covers it.
Server-side cursors (``stream``) keep the stock adapter.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

Outcome = tuple[Any, int, int, list[Any]]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """On aiosqlite's thread: the whole of one statement."""
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


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
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
        try:
            outcome: Outcome = await_(
                connection._execute(_run, connection._conn, operation, parameters, many)
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._trip(operation, parameters, False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._trip(operation, seq_of_parameters, True)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """The stock connection adapter, with ``OneTripCursor`` and no trip at all for a commit
    or rollback outside a transaction (sqlite3 itself does nothing then; the pool's reset
    after every session is one such rollback)."""

    __slots__ = ()
    _cursor_cls = OneTripCursor

    def _in_transaction(self) -> bool:
        connection: sqlite3.Connection | None = self._connection._connection
        return connection is not None and connection.in_transaction

    def rollback(self) -> None:
        if self._in_transaction():
            super().rollback()

    def commit(self) -> None:
        if self._in_transaction():
            super().commit()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """What ``build_engine`` passes as ``module``: the stock adapter's, with our connection."""

    def connect(self, *args: Any, **kwargs: Any) -> OneTripConnection:
        stock = super().connect(*args, **kwargs)
        return OneTripConnection(self, stock._connection)


def dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
