from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from tests.live import LiveServer
from tests.realtime.sockets import Socket

OpenSocket = Callable[..., Coroutine[Any, Any, Socket]]


@pytest.fixture
async def open_socket(server: LiveServer) -> AsyncIterator[OpenSocket]:
    """``await open_socket(token)``: a connected socket, closed when the test ends."""
    opened: list[Socket] = []

    async def open_(token: str | None, **kwargs: Any) -> Socket:
        sock = Socket(server, token, **kwargs)
        opened.append(sock)
        return await sock.connect()

    yield open_
    for sock in opened:
        await sock.close()
