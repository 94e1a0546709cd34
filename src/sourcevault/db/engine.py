"""Engines and session factories, built from settings by ``create_app`` (never at import)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Executable, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from sourcevault.db import sqlite

# A session whose transaction will write: on SQLite it begins with BEGIN IMMEDIATE so two
# writers queue on the database lock instead of deadlocking on a lock upgrade.
WRITE = {"sourcevault_write": True}
# An engine whose connections each run one statement, a read, and are given back: on SQLite
# no BEGIN is sent for it (a single SELECT reads one snapshot by itself).
ONE_STATEMENT = {"sourcevault_one_statement": True}


def build_engine(url: str, *, sqlite_module: Any = None, **kwargs: Any) -> AsyncEngine:
    """An engine for ``url``; on ``sqlite+aiosqlite:``, ``sqlite_module`` (when given) is the
    DBAPI module the dialect uses in place of its own adapter."""
    if url.startswith("sqlite"):
        if sqlite_module is not None and url.startswith("sqlite+aiosqlite:"):
            kwargs.setdefault("module", sqlite_module)
        connect_args = {"timeout": 30, "check_same_thread": False}
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)
        _sqlite_transactions(engine)
        return engine
    on_asyncpg = url.startswith("postgresql+asyncpg:")
    engine = create_async_engine(
        url, pool_pre_ping=not on_asyncpg, pool_size=10, max_overflow=20, **kwargs
    )
    if on_asyncpg:
        _ping_on_checkout(engine)
    return engine


def _ping_on_checkout(engine: AsyncEngine) -> None:
    """Try each asyncpg connection with one round trip as it leaves the pool, and replace it
    there if the database has closed it (a restart, a failover, an administrator ending it).

    SQLAlchemy 2.1's ``pool_pre_ping`` on asyncpg takes three round trips (``BEGIN``, a
    prepared empty query, ``ROLLBACK``; the transaction keeps pgbouncer's transaction mode from
    running the prepare and the execution on different server connections), and a REST write
    checks out twice (the token lookup, the write). ``SELECT 1``
    through asyncpg's ``execute`` without arguments goes by the simple-query protocol: nothing
    prepared, no transaction needed. (An empty query there fails inside asyncpg: its answer has
    no status.) A ``DisconnectionError`` raised by a checkout listener is how the pool is told
    to discard a connection and take a fresh one (tests/test_pg_pool.py)."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        try:
            dbapi_connection.run_async(lambda connection: connection.execute("SELECT 1"))
        except Exception as exc:
            raise DisconnectionError("the database closed this connection") from exc


def _sqlite_transactions(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, emit BEGIN (the recipe in SQLAlchemy's docs)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # sqlite.Checkpoints makes them
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get("sourcevault_one_statement"):
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sourcevault_write") else "BEGIN")


def build_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def write_session(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session in a write transaction: committed on normal exit, rolled back on error."""
    async with factory() as session:
        await session.connection(execution_options=WRITE)  # begins the transaction
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


@asynccontextmanager
async def read_session(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose reads all see one snapshot (REPEATABLE READ on PostgreSQL; a SQLite read
    transaction already does), so a page and the ``seq`` read beside it agree."""
    async with factory() as session:
        options = {} if session.bind is None else _snapshot(session.bind.dialect.name)
        if options:
            await session.connection(execution_options=options)
        yield session


def _snapshot(dialect_name: str) -> dict[str, Any]:
    """The execution options under which a transaction's reads all see one snapshot: REPEATABLE
    READ on PostgreSQL; none on SQLite, whose read transaction already does."""
    return {"isolation_level": "REPEATABLE READ"} if dialect_name == "postgresql" else {}


def sqlite_file(engine: AsyncEngine) -> str | None:
    """The path of the SQLite database file ``engine`` opens (None for another database, an
    in-memory one, or a URI filename)."""
    url = engine.url
    path = url.database or ""
    if engine.dialect.name != "sqlite" or path in ("", ":memory:") or path.startswith("file:"):
        return None
    return None if "uri" in url.query else path


class Lookups:
    """Where one-statement reads run (the token lookup, a joining socket's role and ``seq``).

    On a SQLite database file, ``sqlite.DirectReads``: on the loop's thread, on a connection of
    their own, without SQLAlchemy's connection around them. Elsewhere, a connection of the
    engine, with no transaction opened (``ONE_STATEMENT`` on SQLite; on PostgreSQL, AUTOCOMMIT:
    asyncpg would wrap the one statement in ``BEGIN`` and ``ROLLBACK``, two more round trips),
    given straight back. One statement reads one snapshot by itself either way."""

    def __init__(self, engine: AsyncEngine, sqlite_path: str | None) -> None:
        """``sqlite_path`` is ``sqlite_file(engine)``, worked out by the caller (``Context``
        needs it too)."""
        self.base = engine
        autocommit = (
            {"isolation_level": "AUTOCOMMIT"} if engine.dialect.name == "postgresql" else {}
        )
        self.engine = engine.execution_options(**ONE_STATEMENT, **autocommit)
        self.direct = (
            None if sqlite_path is None else sqlite.DirectReads(sqlite_path, engine.dialect)
        )

    async def first_row(
        self, statement: Executable, params: dict[str, Any]
    ) -> tuple[Any, ...] | None:
        """The first row ``statement`` reads, with ``params`` bound."""
        if self.direct is not None:
            return self.direct.first_row(statement, params)
        engine = self.engine
        # ``async with engine.connect()`` closes the connection in a task of its own, shielded
        # from cancellation, so that a close that waits for the database server is never
        # abandoned halfway. On SQLite the close waits for nothing, and that task suspended each
        # read once more, and reads overlapping there each held a connection, overflowing the
        # pool: there the connection is closed in place.
        if engine.dialect.name != "sqlite":
            async with engine.connect() as connection:
                row = (await connection.execute(statement, params)).first()
        else:
            connection = await engine.connect()
            try:
                row = (await connection.execute(statement, params)).first()
            finally:
                await connection.close()
        return None if row is None else tuple(row)

    async def snapshot(
        self, reads: list[tuple[Executable, dict[str, Any]]]
    ) -> list[list[tuple[Any, ...]]]:
        """Every row of each ``(statement, params)``, all read from one snapshot (REPEATABLE
        READ on PostgreSQL; a SQLite read transaction already is one)."""
        if self.direct is not None:
            return self.direct.snapshot(reads)
        async with self.base.connect() as connection:
            options = _snapshot(connection.dialect.name)
            if options:
                await connection.execution_options(**options)
            async with connection.begin():
                return [
                    [tuple(row) for row in (await connection.execute(statement, params)).all()]
                    for statement, params in reads
                ]

    def close(self) -> None:
        if self.direct is not None:
            self.direct.close()
