"""The raw wire for the conformance cases: Engine.IO over HTTP long-polling (httpx) and over
WebSocket (the ``websockets`` client), no Socket.IO client in between. Every wait is bounded;
none sleeps except the heartbeat cases, whose subject is time.

The server pings every 300 ms, and on a loaded machine a case can outlast that: but in the
heartbeat cases, a PING met while reading is answered and skipped, as a client would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

TIMEOUT = 5.0
SEPARATOR = "\x1e"  # between the packets of a polling payload (Engine.IO v4)


class Polling:
    """An HTTP long-polling session against ``/socket.io/``."""

    def __init__(self, http: httpx.AsyncClient, sid: str | None = None) -> None:
        self.http = http
        self.sid = sid

    @property
    def url(self) -> str:
        return f"/socket.io/?EIO=4&transport=polling&sid={self.sid}"

    async def open(self) -> dict[str, Any]:
        """The handshake; returns the OPEN packet's fields."""
        response = await self.http.get("/socket.io/?EIO=4&transport=polling")
        assert response.status_code == 200, response.text
        assert response.text.startswith("0"), response.text
        opened: dict[str, Any] = json.loads(response.text[1:])
        self.sid = opened["sid"]
        return opened

    async def get(self) -> httpx.Response:
        return await self.http.get(self.url)

    async def post(self, body: str) -> httpx.Response:
        return await self.http.post(self.url, content=body.encode())

    async def payload(self) -> str:
        """The next payload but its PINGs (each answered; a payload of PINGs only is not one:
        the next is taken)."""
        while True:
            response = await self.get()
            assert response.status_code == 200, response.text
            packets = response.text.split(SEPARATOR)
            for _ in range(packets.count("2")):
                assert (await self.post("3")).status_code == 200
            if rest := [pkt for pkt in packets if pkt != "2"]:
                return SEPARATOR.join(rest)

    async def packets(self, count: int) -> list[str]:
        """The next ``count`` packets that are not PINGs, answering each PING with a PONG."""
        received: list[str] = []
        while len(received) < count:
            response = await self.get()
            assert response.status_code == 200, response.text
            for pkt in response.text.split(SEPARATOR):
                if pkt == "2":
                    assert (await self.post("3")).status_code == 200
                else:
                    received.append(pkt)
        return received


class Ws:
    """A raw Engine.IO WebSocket: ``recv`` answers the server's PINGs unless told not to."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def recv(self, pong: bool = True, timeout: float = TIMEOUT) -> str | bytes:
        """The next message within ``timeout`` seconds (PINGs answered meanwhile)."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.ws.recv()
                if pong and message == "2":
                    await self.ws.send("3")
                    continue
                return message

    async def handshake(self) -> dict[str, Any]:
        message = await self.recv()
        assert isinstance(message, str) and message.startswith("0"), message
        opened: dict[str, Any] = json.loads(message[1:])
        return opened

    async def closed_within(self, seconds: float) -> bool:
        """Whether the server closes the connection within ``seconds``, answering its PINGs
        meanwhile (so that a close is not a heartbeat's)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        try:
            while (left := deadline - loop.time()) > 0:
                await self.recv(timeout=left)
        except ConnectionClosed:
            return True
        except TimeoutError:
            return False
        return False

    async def socketio_connect(self, namespace: str = "") -> None:
        """The Socket.IO handshake on an opened Engine.IO connection: CONNECT, then the
        ``auth`` event the suite's server sends."""
        prefix = f"{namespace}," if namespace else ""
        await self.send(f"40{prefix}")
        assert (await self.recv()).startswith(f"40{prefix}")  # type: ignore[union-attr]
        assert await self.recv() == f'42{prefix}["auth",{{}}]'


def ws_url(base: str, query: str) -> str:
    return base.replace("http://", "ws://", 1) + f"/socket.io/?{query}"


@asynccontextmanager
async def websocket(base: str, query: str = "EIO=4&transport=websocket") -> AsyncIterator[Ws]:
    async with connect(
        ws_url(base, query), compression=None, ping_interval=None, open_timeout=TIMEOUT
    ) as ws:
        yield Ws(ws)


@asynccontextmanager
async def socketio(base: str) -> AsyncIterator[Ws]:
    """A WebSocket connected to the main namespace, past the ``auth`` event."""
    async with websocket(base) as ws:
        await ws.handshake()
        await ws.socketio_connect()
        yield ws


async def refused(base: str, query: str) -> bool:
    """Whether a WebSocket to ``query`` is refused or closed before an OPEN packet."""
    try:
        async with connect(ws_url(base, query), ping_interval=None, open_timeout=TIMEOUT) as ws:
            message = await asyncio.wait_for(ws.recv(), TIMEOUT)
            return not str(message).startswith("0")
    except (InvalidHandshake, ConnectionClosed):
        return True
