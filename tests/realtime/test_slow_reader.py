"""A client that stops reading must not grow the server's memory: python-engineio queues
without bound, so the server drops a socket whose queue is full, and the room carries on."""

from __future__ import annotations

import pytest

from sourcevault.auth.principal import Principal
from sourcevault.config import Settings
from sourcevault.db.base import utcnow
from sourcevault.sources.schemas import SourceCreate
from sourcevault.sources.service import create_source
from tests.conftest import make_settings
from tests.factories import Team
from tests.live import LiveServer
from tests.realtime.sockets import Socket, bare_socket

MAX_QUEUED = 50
EVENTS = 2000


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, socket_max_queued=MAX_QUEUED)


def queue_sizes(server: LiveServer) -> dict[str, int]:
    return {sid: s.queue.qsize() for sid, s in server.app.state.realtime.sio.eio.sockets.items()}


async def test_a_reader_that_stops_is_dropped_and_the_room_gets_everything(
    server: LiveServer, team: Team
) -> None:
    realtime = server.app.state.realtime
    stalled = await bare_socket(server, team.viewer.token, team.vault_id)
    normal = await Socket(server, team.contributor.token).connect()
    await normal.join(team.vault_id)
    author = Principal(team.owner.id, team.owner.name, team.owner.email, "s", utcnow())
    body = SourceCreate(title="bulk", annotation="x" * 8000)
    largest = 0
    for _ in range(EVENTS):
        await create_source(server.ctx, author, team.vault_id, body)
        largest = max([largest, *queue_sizes(server).values()])
    await normal.wait_for("source:created", lambda e: e["seq"] == EVENTS + 2, timeout=30)
    try:
        assert [e["seq"] for e in normal.events("source:created")] == list(range(3, EVENTS + 3))
        assert realtime.sio.dropped_slow == 1
        assert largest <= MAX_QUEUED  # the backlog never grew past the bound
        assert len(realtime.conns) == 1  # only the normal reader is left
        assert normal.sio.connected
    finally:
        await normal.close()
        stalled.transport.abort()
