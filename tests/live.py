"""A real server for tests: the app under uvicorn on a free port, in the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from sourcevault.app import create_app
from sourcevault.audit.models import AuditEvent
from sourcevault.config import Settings
from sourcevault.context import Context
from sourcevault.events import Broadcaster, Event, Notice
from sourcevault.realtime import transport


@dataclass
class LiveServer:
    url: str
    port: int
    app: FastAPI
    uvicorn: uvicorn.Server

    @property
    def ctx(self) -> Context:
        ctx: Context = self.app.state.ctx
        return ctx


def free_socket() -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets whose proto says TCP, and
    # without it every small response waits out a 40 ms delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serving(server: uvicorn.Server, sock: socket.socket) -> AsyncIterator[str]:
    """``server`` on ``sock`` until the block ends, in this event loop: its ``http://`` URL
    once it has started."""
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


@asynccontextmanager
async def live_server(
    settings: Settings, sock: socket.socket | None = None
) -> AsyncIterator[LiveServer]:
    app = create_app(settings)
    sock = sock or free_socket()
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
        **transport.uvicorn_options(settings),  # as `sourcevault serve` runs it
    )
    server = uvicorn.Server(config)
    async with serving(server, sock) as url:
        yield LiveServer(url, sock.getsockname()[1], app, server)


@dataclass
class Published:
    event: Event
    committed: bool


class Recorder:
    """Stands between the services and the real broadcaster: records every hand-over and
    whether the event's audit row was already committed (visible to a fresh session)."""

    def __init__(self, ctx: Context, inner: Broadcaster) -> None:
        self.ctx = ctx
        self.inner = inner
        self.published: list[Published] = []
        self.notices: list[Notice] = []

    @property
    def events(self) -> list[Event]:
        return [p.event for p in self.published]

    async def publish(self, events: list[Event], notices: list[Notice]) -> None:
        from sqlalchemy import select

        async with self.ctx.sessionmaker() as session:
            for event in events:
                row = await session.scalar(
                    select(AuditEvent.id).where(
                        AuditEvent.vault_id == event["vaultId"], AuditEvent.seq == event["seq"]
                    )
                )
                self.published.append(Published(event, row is not None))
        self.notices.extend(notices)
        await self.inner.publish(events, notices)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]


def record(server: LiveServer) -> Recorder:
    recorder = Recorder(server.ctx, server.ctx.broadcaster)
    server.ctx.broadcaster = recorder
    return recorder
