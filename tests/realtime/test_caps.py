"""Connection caps: one user, and one client address, may hold only so many sockets open on
an instance; past either cap the handshake is refused with RATE_LIMITED, whatever the
transport, and a closed socket frees its place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
import socketio

from tests import factories
from tests.conftest import make_settings
from tests.live import LiveServer, live_server
from tests.realtime.sockets import Socket

PER_USER = 2
PER_ADDRESS = 3


@pytest.fixture
def backend() -> str:
    return "sqlite"  # counted in memory, whatever the database


@pytest.fixture
async def capped(database_url: str) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        database_url, socket_max_per_user=PER_USER, socket_max_per_address=PER_ADDRESS
    )
    async with live_server(settings) as live:
        yield live


async def refused_with(server: LiveServer, token: str, transport: str) -> object:
    async with aiohttp.ClientSession() as http:
        sio = socketio.AsyncClient(reconnection=False, http_session=http)
        errors: list[object] = []
        sio.on("connect_error", lambda data: errors.append(data))
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(
                server.url, auth={"token": token}, transports=[transport], wait_timeout=5
            )
        await sio.disconnect()
    assert len(errors) == 1
    return errors[0]


async def until_open(server: LiveServer, count: int) -> None:
    """The server's disconnect handler runs after the client's close returns: look again,
    for up to five seconds."""
    realtime = server.app.state.realtime
    for _ in range(500):
        if len(realtime.conns) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(realtime.conns)} sockets open, expected {count}")


async def test_sockets_are_capped_per_user_and_per_address(capped: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=capped.url) as http:
        users = [await factories.register(http) for _ in range(3)]
        tokens = [await factories.token_for(http, u["email"]) for u in users]
    opened = []
    try:
        for _ in range(PER_USER):
            opened.append(await Socket(capped, tokens[0]).connect())
        for transport in ("websocket", "polling"):
            data = await refused_with(capped, tokens[0], transport)
            assert data == {
                "message": "RATE_LIMITED",
                "data": {
                    "code": "RATE_LIMITED",
                    "message": f"Too many open connections for this user (at most {PER_USER})",
                },
            }
        # Another user from the same address takes the last place the address has...
        opened.append(await Socket(capped, tokens[1]).connect())
        # ...and a third is refused for the address, though it has no socket yet.
        data = await refused_with(capped, tokens[2], "websocket")
        assert isinstance(data, dict) and data["message"] == "RATE_LIMITED"
        assert "from this address" in data["data"]["message"]
        assert all(sock.sio.connected for sock in opened)

        # A closed socket frees its place.
        await opened.pop(0).close()
        await until_open(capped, PER_ADDRESS - 1)
        opened.append(await Socket(capped, tokens[2]).connect())
        assert len(capped.app.state.realtime.conns) == PER_ADDRESS
    finally:
        for sock in opened:
            await sock.close()
