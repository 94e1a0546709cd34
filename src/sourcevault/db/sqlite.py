"""SQLAlchemy's aiosqlite adapter, making trips to aiosqlite's thread only to wait for a lock.

aiosqlite runs every call on a thread of its own, one call per trip: the loop queues it, the
thread runs it and wakes the loop. SQLAlchemy's adapter makes four trips for each statement
(open a cursor, execute, fetch all, close the cursor), so looking a session token up, with the
transaction's ``BEGIN`` and the pool's two rollbacks around it, took nine trips and about
1.7 ms of the server's time, for a query SQLite answers in microseconds.

What a thread is worth here is not waiting: a statement that may have to wait for another
connection's write lock (up to the busy timeout) must not hold the event loop meanwhile. With
the database in WAL mode, and every write transaction opened by ``BEGIN IMMEDIATE``
(engine.py), only that ``BEGIN IMMEDIATE`` waits for a lock: reads never wait for writers, and
once a transaction holds the write lock, its statements and its ``COMMIT`` wait for nobody.
So ``OneTripCursor`` runs a whole statement (execute, fetch, close) in one function, on
aiosqlite's thread for ``BEGIN IMMEDIATE`` and anything else that is not a ``SELECT`` or a
plain ``BEGIN`` outside a write transaction, and on the loop's thread for the rest; commits and
rollbacks too run on the loop's thread, and not at all with no transaction open (sqlite3 itself
does nothing then). The statements, their order and the connection are the same as before;
the connection is opened with ``check_same_thread=False``, and it is still used by one
coroutine at a time, as SQLAlchemy's pool guarantees. What this gives up: a query runs to its
end before the loop goes on (the largest is a join's catch-up, at most 501 rows), and a
``SELECT`` that meets SQLite's rare busy cases of WAL mode (a recovery) waits on the loop. (The
``COMMIT`` that ran SQLite's automatic checkpoint, with its sync to disk, waited on the loop
too; checkpoints are now ``Checkpoints``', on a thread.)
tests/test_sqlite_locks.py shows the server answering while a write waits for another
process's lock.

It subclasses ``sqlalchemy.dialects.sqlite.aiosqlite``'s adapter classes and calls aiosqlite's
``Connection._execute`` (how aiosqlite itself queues a call), written against SQLAlchemy 2.1
and aiosqlite 0.22, which ``pyproject.toml`` pins; every test that touches SQLite covers it.
Server-side cursors (``stream``) keep the stock adapter.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
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


class DirectReads:
    """One-statement reads (a token lookup, a joining socket's role and ``seq``) on a sqlite3
    connection of their own, on the loop's thread, with no SQLAlchemy connection around them.

    Through the async engine such a read took 166 us of the server's time, nearly all of it
    SQLAlchemy's: a pool checkout, a connection and execution context, a result object, the
    check-in; sqlite3 answers the same statement in 6 us (token lookups against an empty
    table, 5,000 of each, on one machine). A socket's connect and each of its joins make one.

    The statement is compiled once, by the engine's dialect, with the bind and result
    processors of its columns' types, so rows come back as the engine would give them. The
    connection is ``query_only`` and in autocommit mode: each statement reads one snapshot by
    itself, and holds nothing once its rows are fetched. What it gives up is what
    ``OneTripCursor`` gives up for a ``SELECT`` (the module docstring)."""

    def __init__(self, path: str, dialect: Any) -> None:
        self.path = path
        self.dialect = dialect
        self._connection: sqlite3.Connection | None = None
        self._reads: dict[Any, _Read] = {}

    def first_row(self, statement: Any, params: dict[str, Any]) -> tuple[Any, ...] | None:
        rows = self._rows(self._connected(), statement, params, first=True)
        return rows[0] if rows else None

    def snapshot(self, reads: list[tuple[Any, dict[str, Any]]]) -> list[list[tuple[Any, ...]]]:
        """Every row of each ``(statement, params)``, all read in one snapshot: a read
        transaction (in WAL mode it waits for no writer, and holds nobody up)."""
        connection = self._connected()
        connection.execute("BEGIN")
        try:
            return [self._rows(connection, statement, params) for statement, params in reads]
        finally:
            connection.execute("COMMIT")

    def _rows(
        self,
        connection: sqlite3.Connection,
        statement: Any,
        params: dict[str, Any],
        first: bool = False,
    ) -> list[tuple[Any, ...]]:
        read = self._reads.get(statement)
        if read is None:
            read = self._reads[statement] = _Read(statement, self.dialect)
        cursor = connection.execute(read.sql, read.parameters(params))
        try:
            rows = cursor.fetchmany(1) if first else cursor.fetchall()
        finally:
            cursor.close()
        return [read.row(row) for row in rows]

    def _connected(self) -> sqlite3.Connection:
        connection = self._connection
        if connection is None:
            connection = self._connection = self._connect()
        return connection

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=30, check_same_thread=False, isolation_level=None
        )
        connection.execute("PRAGMA query_only=ON")
        return connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


class _Read:
    """A statement compiled for ``DirectReads``: its SQL, its parameters in order with their
    bind processors, and its columns' result processors."""

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        names = compiled.positiontup or []
        # (name, the value it has unless ``params`` gives one, its type's bind processor); the
        # compiler adds parameters of its own, such as the OFFSET 0 that goes with a LIMIT.
        self.binds = [
            (
                name,
                compiled.binds[name].value,
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name in names
        ]
        self.results = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ]

    def parameters(self, params: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            params.get(name, default) if process is None else process(params.get(name, default))
            for name, default, process in self.binds
        )

    def row(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self.results, row, strict=True)
        )


class Checkpoints:
    """SQLite's WAL checkpoints, made on a thread every ``every`` seconds, not in a ``COMMIT``.

    SQLite checkpoints by itself in the ``COMMIT`` that takes the log past 1,000 pages, and
    that checkpoint syncs the database file to disk. Commits run on the loop's thread here
    (``OneTripConnection``), so every few hundred source creations one of them held the whole
    server for the sync: 4.9 and 6.3 ms in a 200-creation run of the benchmark's B1, where the
    other commits took 1.2 ms at the median. The engine's connections are opened with the
    automatic checkpoint off (engine.py), and this makes a ``PASSIVE`` checkpoint on a
    connection of its own, on a worker thread: it waits for no reader and no writer, and stops
    at what they still need. A process that uses the database without it (the command-line
    tools) leaves the log to SQLite's checkpoint when its last connection closes."""

    def __init__(self, path: str, every: float = 1.0) -> None:
        self.path = path
        self.every = every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        """Stop making checkpoints (one under way on its thread finishes by itself)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await asyncio.to_thread(self.checkpoint)
            except sqlite3.Error:  # the next one tries again
                log.warning("WAL checkpoint failed", exc_info=True)

    def checkpoint(self) -> tuple[int, int, int]:
        """One passive checkpoint, on a connection opened for it (a fraction of a millisecond,
        once a second) so that nothing is shared with the thread that runs it: (1 if it could
        not start, pages in the log, pages written back), as ``PRAGMA wal_checkpoint``
        answers."""
        connection = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            connection.close()
        busy, log_pages, written = row
        return int(busy), int(log_pages), int(written)
