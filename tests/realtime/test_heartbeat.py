"""Engine.IO's heartbeat: the server pings every socket each ping interval; a client that
answers stays connected, one that stops answering is dropped after the ping timeout and its
membership of every room goes with it."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from sourcevault.config import Settings
from sourcevault.events import vault_room
from tests.conftest import make_settings
from tests.factories import Team
from tests.live import LiveServer
from tests.realtime.sockets import Socket, bare_socket

INTERVAL = 0.2  # seconds between pings
TIMEOUT = 0.4  # how long the server waits for the answer


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, socket_ping_interval=INTERVAL, socket_ping_timeout=TIMEOUT)


async def next_ping(ws: ClientConnection) -> None:
    while str(await asyncio.wait_for(ws.recv(), 10)) != "2":
        pass


async def read_until_closed(ws: ClientConnection) -> None:
    while True:
        await asyncio.wait_for(ws.recv(), 10)


async def test_a_client_that_answers_pings_stays_connected(server: LiveServer, team: Team) -> None:
    realtime = server.app.state.realtime
    ws = await bare_socket(server, team.viewer.token, team.vault_id)
    try:
        for _ in range(5):  # five intervals, each past the ping timeout of the one before
            await next_ping(ws)
            await ws.send("3")
        assert len(realtime.conns) == 1
        await ws.send("424" + json.dumps(["vault:join", {"vaultId": team.vault_id}]))
        while not str(await asyncio.wait_for(ws.recv(), 10)).startswith("434"):
            pass  # the connection still answers
    finally:
        await ws.close()


async def test_a_client_that_stops_answering_is_dropped_and_leaves_its_rooms(
    server: LiveServer, team: Team
) -> None:
    realtime = server.app.state.realtime
    ws = await bare_socket(server, team.viewer.token, team.vault_id)
    watcher = await Socket(server, team.contributor.token).connect()
    await watcher.join(team.vault_id)
    try:
        await next_ping(ws)  # and never answer it
        with pytest.raises(ConnectionClosed):
            await read_until_closed(ws)
        assert watcher.sio.connected  # the watcher answers its pings (python-socketio does)
        members = realtime.sio.manager.get_participants("/", vault_room(team.vault_id))
        assert len(list(members)) == 1
        assert len(realtime.conns) == 1
    finally:
        await watcher.close()
