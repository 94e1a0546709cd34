"""An in-process server that can be stopped and started again on the same port."""

from __future__ import annotations

import contextlib
import socket

from sourcevault.config import Settings
from tests.live import LiveServer, free_socket, live_server


class Restartable:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        with contextlib.closing(free_socket()) as probe:
            self.port = int(probe.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.live: LiveServer | None = None
        self._running: contextlib.AbstractAsyncContextManager[LiveServer] | None = None

    async def start(self) -> LiveServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self._running = live_server(self.settings, sock)
        self.live = await self._running.__aenter__()
        return self.live

    async def stop(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            await running.__aexit__(None, None, None)
