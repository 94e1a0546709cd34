"""What every service call needs, built once by ``create_app`` and passed down explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sourcevault.audit.ordering import VaultWriters
from sourcevault.auth.throttle import LoginThrottle
from sourcevault.config import Settings
from sourcevault.db.engine import Lookups, build_engine, build_sessionmaker
from sourcevault.metrics import Metrics
from sourcevault.realtime.broadcaster import Broadcaster, NullBroadcaster


@dataclass
class Context:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    broadcaster: Broadcaster = field(default_factory=NullBroadcaster)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    writers: VaultWriters = field(default_factory=VaultWriters)
    metrics: Metrics = field(default_factory=Metrics)
    # Where single-statement reads run (the token lookup; db/engine.py).
    lookups: Lookups = field(init=False)

    def __post_init__(self) -> None:
        self.lookups = Lookups(self.engine)

    async def aclose(self) -> None:
        """Close what ``build`` opened: the lookups' connection and the engine's pool."""
        self.lookups.close()
        await self.engine.dispose()

    @classmethod
    def build(cls, settings: Settings) -> Context:
        engine = build_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=build_sessionmaker(engine),
            throttle=LoginThrottle(
                max_failures=settings.login_max_failures,
                window=settings.login_failure_window,
                lockout=settings.login_lockout_seconds,
            ),
        )
