"""Expired sessions leave the database on a schedule, with no request touching them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from sourcevault.auth.models import AuthSession
from sourcevault.config import Settings
from sourcevault.db.base import utcnow
from sourcevault.db.engine import write_session
from tests import factories
from tests.conftest import make_settings
from tests.live import LiveServer

PRUNE_INTERVAL = 0.1


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, session_prune_interval=PRUNE_INTERVAL)


class Pruned(logging.Handler):
    """Set once the server logs that it pruned sessions (it logs only when it deleted some)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.done = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("pruned "):
            self.done.set()


@pytest.fixture
def pruned() -> Iterator[Pruned]:
    logger = logging.getLogger("sourcevault.auth.pruning")
    handler, level = Pruned(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


async def sessions_of(server: LiveServer, user_id: str) -> int:
    async with server.ctx.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(AuthSession).where(AuthSession.user_id == user_id)
        )
    return int(count or 0)


async def test_expired_sessions_are_deleted_while_live_ones_stay(
    server: LiveServer, client: httpx.AsyncClient, pruned: Pruned
) -> None:
    gone = await factories.member(server, client)
    kept = await factories.member(server, client)
    assert await sessions_of(server, gone.id) == 1
    async with write_session(server.ctx.sessionmaker) as session:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == gone.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    # No request from here on until the server has pruned: only its own schedule runs.
    async with asyncio.timeout(5):
        await pruned.done.wait()

    assert await sessions_of(server, gone.id) == 0
    assert await sessions_of(server, kept.id) == 1
    response = await kept.http.get("/api/auth/session")
    assert response.status_code == 200, response.text
    response = await gone.http.get("/api/auth/session")
    assert response.status_code == 401
    await gone.http.aclose()
    await kept.http.aclose()


def test_sessions_are_pruned_hourly_unless_told_otherwise() -> None:
    assert make_settings("sqlite+aiosqlite://").session_prune_interval == 3600
    with pytest.raises(ValueError, match="greater than 0"):
        make_settings("sqlite+aiosqlite://", session_prune_interval=0)
