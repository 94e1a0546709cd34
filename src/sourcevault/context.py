"""What every service call needs, built once by ``create_app`` and passed down explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sourcevault.audit.ordering import VaultWriters
from sourcevault.auth.throttle import LoginThrottle
from sourcevault.config import Settings
from sourcevault.db import sqlite
from sourcevault.db.engine import Lookups, build_engine, build_sessionmaker, sqlite_file
from sourcevault.events import Broadcaster, NullBroadcaster
from sourcevault.metrics import Metrics


@dataclass
class Context:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    broadcaster: Broadcaster = field(default_factory=NullBroadcaster)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    writers: VaultWriters = field(default_factory=VaultWriters)
    metrics: Metrics = field(default_factory=Metrics)
    # Single-statement reads (the token lookup) on a sqlite3 connection of their own, on a
    # SQLite file (db/sqlite.py), or through the engine.
    direct_reads: bool = True
    # Where single-statement reads run (db/engine.py).
    lookups: Lookups = field(init=False)

    # A SQLite file's WAL checkpoints, made off the loop's thread (db/sqlite.py).
    checkpoints: sqlite.Checkpoints | None = field(init=False)

    def __post_init__(self) -> None:
        path = sqlite_file(self.engine)
        self.lookups = Lookups(self.engine, path if self.direct_reads else None)
        self.checkpoints = None if path is None else sqlite.Checkpoints(path)

    def start(self) -> None:
        """Start the background work a serving app needs (called once its loop runs)."""
        if self.checkpoints is not None:
            self.checkpoints.start()

    async def aclose(self) -> None:
        """Stop what ``start`` started; close the lookups' connection and the engine's pool."""
        if self.checkpoints is not None:
            await self.checkpoints.aclose()
        self.lookups.close()
        await self.engine.dispose()

    @classmethod
    def build(cls, settings: Settings, sqlite_module: Any = None) -> Context:
        """``sqlite_module``: the DBAPI module for SQLAlchemy's aiosqlite dialect (the
        transport's adapter, ``transport.sqlite_dbapi``), or None for the dialect's own."""
        engine = build_engine(settings.database_url, sqlite_module=sqlite_module)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=build_sessionmaker(engine),
            direct_reads=settings.sqlite_adapter == "fast",
            throttle=LoginThrottle(
                max_failures=settings.login_max_failures,
                window=settings.login_failure_window,
                delay=settings.login_delay_seconds,
                max_delay=settings.login_max_delay_seconds,
                address_max_failures=settings.login_address_max_failures,
            ),
        )
