"""On PostgreSQL, connections the database closed are replaced before a request uses them.

A database restart, a failover or an administrator ending sessions leaves the pool holding
connections that are already closed. Each one is tried with one round trip when it is taken
from the pool, and a closed one is replaced there (db/engine.py), so no request answers 500
for it."""

from __future__ import annotations

import pytest

from tests import services
from tests.factories import Team
from tests.live import LiveServer
from tests.realtime.sockets import Socket


@pytest.fixture
def backend() -> str:
    return "postgres"


async def _end_server_sessions(database_url: str) -> int:
    """End every session connected to the test's database: how many there were."""
    database = database_url.rsplit("/", 1)[1]
    status = await services.pg_admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    )
    return int(status.split()[-1])


async def test_requests_after_the_database_ended_every_session_are_answered(
    server: LiveServer, team: Team, database_url: str
) -> None:
    owner = team.owner.http
    assert (await owner.get("/api/auth/session")).status_code == 200  # the pool holds some
    assert await _end_server_sessions(database_url) > 0

    session = await owner.get("/api/auth/session")
    assert session.status_code == 200, session.text
    created = await owner.post(f"/api/vaults/{team.vault_id}/sources", json={"title": "after"})
    assert created.status_code == 201, created.text
    listed = await team.viewer.http.get(f"/api/vaults/{team.vault_id}/sources")
    assert [s["title"] for s in listed.json()["sources"]] == ["after"]

    await _end_server_sessions(database_url)
    watcher = await Socket(server, team.viewer.token).connect()  # the token lookup, then a join
    try:
        joined = await watcher.join(team.vault_id)
        assert joined["ok"] is True, joined
    finally:
        await watcher.close()
