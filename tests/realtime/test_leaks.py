"""No leaks: after 500 connect, join, disconnect cycles the server's sockets, rooms, per-socket
state, expiry timers and asyncio tasks are back where they started."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from bidict import BidictBase

from sourcevault.events import user_room
from tests.factories import Team
from tests.live import LiveServer
from tests.realtime.sockets import Socket, bare_socket

CYCLES = 500
IDLE = 20


@pytest.fixture
def backend() -> str:
    return "sqlite"


def footprint(server: LiveServer) -> dict[str, Any]:
    realtime = server.app.state.realtime
    manager = realtime.sio.manager
    rooms = manager.rooms.get("/", {})
    found = {
        "engineio sockets": len(realtime.sio.eio.sockets),
        "rooms": sorted(r for r in rooms if r is not None),
        "connections": len(realtime.conns),
        "sessions watched for expiry": len(realtime._expiry.sockets),
        "environ": len(realtime.sio.environ),
        "tasks": len(tasks(server)),
    }
    if realtime.transport.fast:  # what only the fast transport keeps
        found["rooms by socket"] = len(manager.rooms_of)
        found["ping timers"] = len(realtime.sio.eio.ping_timers)
    return found


def tasks(server: LiveServer) -> set[asyncio.Task[Any]]:
    """The loop's tasks. In the stock transport python-engineio's ping task of a closed socket
    sleeps out its ping interval before it ends (the fast transport cancels its deadline at
    disconnect): it is left out here, as it does end by itself."""
    found = asyncio.all_tasks()
    if server.app.state.realtime.transport.fast:
        return found
    return {t for t in found if t.get_coro().__qualname__ != "AsyncSocket._send_ping"}


async def settled(server: LiveServer, baseline: dict[str, Any], timeout: float = 10) -> Any:
    """The footprint once it is back at ``baseline`` (disconnects finish in the background),
    or whatever it is when ``timeout`` runs out."""

    async def poll() -> None:
        # Server-side clean-up has no event to await; look until it is done or time is up.
        while footprint(server) != baseline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(poll(), timeout)
    return footprint(server)


async def quiet(server: LiveServer) -> dict[str, Any]:
    """The footprint once no socket is left and the task count has stopped changing."""
    previous: dict[str, Any] = {}
    for _ in range(100):
        now = footprint(server)
        if now == previous and now["connections"] == 0:
            return now
        previous = now
        await asyncio.sleep(0.1)
    return previous


async def test_connect_join_disconnect_cycles_leave_nothing_behind(
    server: LiveServer, team: Team
) -> None:
    # One cycle first: the first connection starts the server's long-lived service tasks.
    probe = await Socket(server, team.owner.token).connect()
    await probe.join(team.vault_id)
    await probe.close()
    baseline = await quiet(server)
    assert baseline["engineio sockets"] == baseline["connections"] == 0
    for n in range(CYCLES):
        sock = await Socket(server, team.viewer.token if n % 2 else team.owner.token).connect()
        await sock.join(team.vault_id)
        await sock.close()
    assert await settled(server, baseline) == baseline
    realtime = server.app.state.realtime
    timers = [realtime._expiry.timers]
    if realtime.transport.fast:
        timers.append(realtime.sio.eio.ping_timers)
    for timer in timers:
        assert len(timer.heap) <= 2 * len(timer) + 65  # stale entries are swept


@pytest.mark.fast_transport
async def test_an_idle_joined_connection_holds_one_task(server: LiveServer, team: Team) -> None:
    """Its websocket's: no writer, reader, timeout or ping task per socket (the bare clients
    themselves run none)."""
    warm = await bare_socket(server, team.owner.token, team.vault_id)
    baseline = await quiet_tasks()
    sockets = [await bare_socket(server, team.viewer.token, team.vault_id) for _ in range(IDLE)]
    try:
        assert await quiet_tasks() == baseline + IDLE
    finally:
        for ws in [warm, *sockets]:
            await ws.close()


async def quiet_tasks() -> int:
    """The number of tasks once it has stopped changing (handshakes finish in the background)."""
    previous = -1
    for _ in range(100):
        now = len(asyncio.all_tasks())
        if now == previous:
            return now
        previous = now
        await asyncio.sleep(0.1)
    return previous


@pytest.mark.fast_transport
async def test_an_idle_joined_connection_keeps_only_what_it_uses(
    server: LiveServer, team: Team
) -> None:
    """What each idle connection holds is paid ten thousand times over (the benchmark's B4):
    uvicorn's protocol keeps its state in slots, no dict of its own; the environ keeps no
    handshake-only header and stays within a dict's smallest tables; the socket's own rooms
    (its sid, its user's, its session's) are plain mappings."""
    ws = await bare_socket(server, team.viewer.token, team.vault_id)
    try:
        realtime = server.app.state.realtime
        (sock,) = realtime.sio.eio.sockets.values()
        protocol = sock._sourcevault_ws.frames
        assert protocol is not None and protocol.conn.state.name == "OPEN"
        assert vars(protocol) == {}
        environ = realtime.sio.environ[sock.sid]
        assert environ["HTTP_HOST"] == f"127.0.0.1:{server.port}"
        assert "HTTP_SEC_WEBSOCKET_KEY" not in environ
        assert len(environ) <= 21
        rooms = realtime.sio.manager.rooms["/"]
        (sid,) = rooms[None]
        own = [rooms[sid], rooms[user_room(team.viewer.id)]]
        assert not any(isinstance(room, BidictBase) for room in own)
        assert all(dict(room) == {sid: sock.sid} for room in own)
    finally:
        await ws.close()
