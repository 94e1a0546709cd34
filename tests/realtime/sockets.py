"""A real python-socketio client for tests, recording everything it receives, with awaits for
the events a test expects (never a sleep)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from typing import Any

import aiohttp
import socketio
from websockets.asyncio.client import ClientConnection, connect

from tests import factories
from tests.factories import Team
from tests.live import LiveServer

TIMEOUT = 5.0


class Socket:
    def __init__(self, server: LiveServer | str, token: str | None = None, **connect: Any) -> None:
        self.url = server if isinstance(server, str) else server.url
        self.token = token
        self.connect_kwargs = connect
        # Our own HTTP session, closed in close(): engineio leaves its own unclosed when a
        # connection is refused.
        self.http = aiohttp.ClientSession()
        self.sio = socketio.AsyncClient(reconnection=False, http_session=self.http)
        self.received: list[tuple[str, Any]] = []
        self._changed = asyncio.Condition()
        self.disconnected = asyncio.Event()
        self.sio.on("*", self._on_any)
        self.sio.on("disconnect", self._on_disconnect)

    async def _on_any(self, event: str, data: Any = None) -> None:
        async with self._changed:
            self.received.append((event, data))
            self._changed.notify_all()

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.disconnected.set()

    async def connect(self) -> Socket:
        auth = {"token": self.token} if self.token else None
        await self.sio.connect(
            self.url,
            auth=auth,
            transports=["websocket"],
            wait_timeout=TIMEOUT,
            **self.connect_kwargs,
        )
        return self

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, timeout=TIMEOUT)

    async def join(self, vault_id: str, after: int | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"vaultId": vault_id}
        if after is not None:
            payload["after"] = after
        ack = await self.call("vault:join", payload)
        assert ack["ok"], ack
        return dict(ack)

    async def wait_for(
        self, name: str, where: Callable[[Any], bool] = lambda _d: True, timeout: float = TIMEOUT
    ) -> Any:
        """The first received ``name`` event whose payload satisfies ``where``."""

        def found() -> Any:
            for event, data in self.received:
                if event == name and where(data):
                    return data
            return None

        async def wait() -> Any:
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None)
            return found()

        return await asyncio.wait_for(wait(), timeout)

    def events(self, name: str | None = None) -> list[Any]:
        return [d for e, d in self.received if name is None or e == name]

    def vault_events(self, vault_id: str) -> list[dict[str, Any]]:
        return [
            d
            for _e, d in self.received
            if isinstance(d, dict) and "seq" in d and d.get("vaultId") == vault_id
        ]

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        await self.http.close()


async def assert_cut_off(team: Team, stays: Socket, removed: Socket, own_vault_id: str) -> None:
    """After the viewer's removal from the team's vault: its events go on reaching those who
    stay, none reaches the removed socket, and rejoining is refused. Absence is shown by a
    barrier: an event of the viewer's own vault, which the removed socket gets after anything
    sent to it before."""
    after = await factories.source(team.owner, team.vault_id)
    await stays.wait_for("source:created", lambda e: e["source"]["id"] == after["id"])
    barrier = await factories.source(team.viewer, own_vault_id)
    await removed.wait_for("source:created", lambda e: e["source"]["id"] == barrier["id"])
    assert [e for e in removed.events("source:created") if e["vaultId"] == team.vault_id] == []
    rejoin = await removed.call("vault:join", {"vaultId": team.vault_id})
    assert rejoin["error"]["code"] == "ACCESS_DENIED"


async def connected(server: LiveServer, token: str, **kwargs: Any) -> Socket:
    return await Socket(server, token, **kwargs).connect()


async def bare_socket(server: LiveServer, token: str, vault_id: str) -> ClientConnection:
    """A bare Engine.IO/Socket.IO client over a websocket with a tiny receive buffer, joined
    to the vault, that reads nothing more until the test calls ``recv`` (if ever): the kernel's
    buffers fill and the server's writes to it have to wait."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    ws = await connect(
        f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket",
        sock=sock,
        max_queue=1,
        compression=None,
        ping_interval=None,  # Engine.IO pings; no websocket keepalive task of the client's own
    )
    assert str(await ws.recv()).startswith("0")  # Engine.IO open
    await ws.send("40" + json.dumps({"token": token}))
    assert str(await ws.recv()).startswith("40")  # Socket.IO connect
    await ws.send("421" + json.dumps(["vault:join", {"vaultId": vault_id}]))
    while True:  # the vault:joined event may come before the ack
        frame = str(await ws.recv())
        if frame.startswith("431"):
            assert json.loads(frame[3:])[0]["ok"] is True
            return ws
