"""SQLite beside the engine: one-statement reads on a sqlite3 connection of their own, and WAL
checkpoints on a worker thread. Both use the sqlite3 module's public API only; the adapter that
runs SQLAlchemy's statements is SQLAlchemy's aiosqlite dialect, or the one the transport
package provides (``SOURCEVAULT_SQLITE_ADAPTER``).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

from sourcevault.background import BackgroundLoop

log = logging.getLogger(__name__)


class DirectReads:
    """One-statement reads (a token lookup, a joining socket's role and ``seq``) on a sqlite3
    connection of their own, on the loop's thread, with no SQLAlchemy connection around them.

    Through the async engine nearly all of such a read's cost is SQLAlchemy's: a pool
    checkout, a connection and execution context, a result object, the check-in, around a
    statement sqlite3 answers at once. A socket's connect and each of its joins make one.

    The statement is compiled once, by the engine's dialect, with the bind and result
    processors of its columns' types, so rows come back as the engine would give them. The
    connection is ``query_only`` and in autocommit mode: each statement reads one snapshot by
    itself, and holds nothing once its rows are fetched. What it gives up: the read runs on the
    loop's thread, so one that meets SQLite's rare busy cases of WAL mode (a recovery) waits
    there. With ``SOURCEVAULT_SQLITE_ADAPTER=stock`` these reads go through the engine."""

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


class Checkpoints(BackgroundLoop):
    """SQLite's WAL checkpoints, made on a thread every ``every`` seconds, not in a ``COMMIT``.

    SQLite checkpoints by itself in the ``COMMIT`` that takes the log past 1,000 pages, and
    that checkpoint syncs the database file to disk. With the fast adapter commits run on the
    loop's thread, so every few hundred source creations one of them would hold the whole
    server for the sync. The engine's connections are opened with the
    automatic checkpoint off (engine.py), and this makes a ``PASSIVE`` checkpoint on a
    connection of its own, on a worker thread: it waits for no reader and no writer, and stops
    at what they still need. A process that uses the database without it (the command-line
    tools) leaves the log to SQLite's checkpoint when its last connection closes. ``aclose``
    stops making them; one under way on its thread finishes by itself."""

    def __init__(self, path: str, every: float = 1.0) -> None:
        self.path = path
        self.every = every

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
