"""The uvicorn server ``sourcevault serve`` runs in the fast transport: uvicorn's own,
stopping without its pauses.

uvicorn 0.54 (pinned in pyproject.toml) looks for a stop signal at its tick, every 0.1 s. Once
it sees one, it stops accepting, asks every connection to close (a websocket is sent its close
frame, an idle keep-alive connection is closed, a busy one finishes its response first),
sleeps 0.1 s whatever happened, then looks every 0.1 s until the connections and the tasks
running requests are gone (within ``timeout_graceful_shutdown``), and runs the app's lifespan
shutdown. Those pauses are spent even by an idle server, and a restart waits them out before
the new process can start. ``Server`` takes the same
steps, in the same order and with the same limit, waking at the signal and as the last
connection and the last task leave (uvicorn's protocols leave its sets through ``remove`` and
``discard``, which ``_Draining`` watches).

The reach ``uvicorn-server-loop`` of the package docstring: written against uvicorn 0.54's
``Server`` (``main_loop``, ``on_tick``, ``handle_exit``, ``shutdown``, ``server_state``,
``force_exit``); tests/test_serve.py and the shutdown tests under tests/multi cover it. With
``SOURCEVAULT_TRANSPORT=stock``, ``serve`` runs ``uvicorn.Server`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from types import FrameType
from typing import Any

import uvicorn

log = logging.getLogger("uvicorn.error")  # where uvicorn's own shutdown lines go

TICK = 0.1  # uvicorn's: the Date header and the request limit are checked at each


class _Draining(set[Any]):
    """A set that says when it is left empty."""

    def __init__(self) -> None:
        super().__init__()
        self.emptied = asyncio.Event()

    def remove(self, item: Any) -> None:
        super().remove(item)
        if not self:
            self.emptied.set()

    def discard(self, item: Any) -> None:
        super().discard(item)
        if not self:
            self.emptied.set()


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        # Before any protocol exists: each takes the sets from here when it is made.
        self._connections = self.server_state.connections = _Draining()
        self._tasks = self.server_state.tasks = _Draining()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """uvicorn's (a second Ctrl+C forces the exit), then wake the main loop at once: the
        signal handler runs between two bytecodes, so the loop is told thread-safely."""
        super().handle_exit(sig, frame)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._stop.set()
        if self.force_exit:  # stop waiting for connections and tasks
            self._connections.emptied.set()
            self._tasks.emptied.set()

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), TICK)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        log.info("Shutting down")
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            await asyncio.wait_for(self._gone(), self.config.timeout_graceful_shutdown)
        except TimeoutError:
            tasks = self.server_state.tasks
            log.error("Cancel %s running task(s), timeout graceful shutdown exceeded", len(tasks))
            for task in tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _gone(self) -> None:
        """Until the connections, then the request tasks, are gone (or the exit is forced)."""
        if self._connections and not self.force_exit:
            log.info("Waiting for connections to close. (CTRL+C to force quit)")
            await self._until_empty(self._connections)
        if self._tasks and not self.force_exit:
            log.info("Waiting for background tasks to complete. (CTRL+C to force quit)")
            await self._until_empty(self._tasks)
        for server in self.servers:
            await server.wait_closed()

    async def _until_empty(self, items: _Draining) -> None:
        while items and not self.force_exit:
            items.emptied.clear()
            await items.emptied.wait()
