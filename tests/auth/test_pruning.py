"""Expired sessions leave the database on a schedule, with no request touching them."""

from __future__ import annotations

import asyncio
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


async def sessions_of(server: LiveServer, user_id: str) -> int:
    async with server.ctx.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(AuthSession).where(AuthSession.user_id == user_id)
        )
    return int(count or 0)


async def test_expired_sessions_are_deleted_while_live_ones_stay(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    gone = await factories.member(server, client)
    kept = await factories.member(server, client)
    async with write_session(server.ctx.sessionmaker) as session:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == gone.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await sessions_of(server, gone.id) == 1

    # No request from here on until the row is gone: only the server's own schedule runs.
    async with asyncio.timeout(5):
        while await sessions_of(server, gone.id):
            await asyncio.sleep(PRUNE_INTERVAL / 2)

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
