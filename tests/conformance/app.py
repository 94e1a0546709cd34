"""The server the Socket.IO protocol's test suite expects, built from our transport.

The suite (``test-suite/`` of the socket.io-protocol repository) names its server's
configuration: a ping interval of 300 ms, a ping timeout of 200 ms, a ``maxPayload`` of
1,000,000 bytes, a connect timeout of 1 s, any origin; on the main namespace, each connection
is sent ``auth`` with the auth it gave, ``message`` is answered with ``message-back`` and the
same arguments, ``message-with-ack`` is acknowledged with its arguments; on ``/custom``, each
connection is sent ``auth``. Beyond the suite, ``/private`` refuses a connection without the
token ``let-me-in`` (the CONNECT_ERROR case).

It is built as the product builds its own (``realtime/server.py``): one ``Transport`` from the
settings, so ``SOURCEVAULT_TRANSPORT=fast|stock`` picks the same manager, Engine.IO server and
delivery path; served by ``socketio.ASGIApp`` under the uvicorn options and server class
``sourcevault serve`` uses. Only the handlers and the options the suite names differ.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import socketio
import uvicorn

from sourcevault.config import Settings
from sourcevault.realtime import transport
from sourcevault.realtime.transport import Transport
from tests.live import free_socket, serving

PING_INTERVAL = 0.3  # seconds; the suite's 300 ms
PING_TIMEOUT = 0.2
MAX_PAYLOAD = 1_000_000  # bytes, the handshake's maxPayload
PRIVATE_TOKEN = "let-me-in"

_tasks: set[asyncio.Future[Any]] = set()


def _soon(coro: Coroutine[Any, Any, Any]) -> None:
    """Runs ``coro`` once the connect handler has returned, so the ``auth`` event follows the
    CONNECT packet python-socketio sends after the handler (the suite's order)."""
    task = asyncio.ensure_future(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def build(settings: Settings) -> Transport:
    wire = Transport(
        settings,
        max_payload=settings.socket_max_payload,
        max_queued=settings.socket_max_queued,
        cors_allowed_origins="*",
        max_http_buffer_size=MAX_PAYLOAD,
        ping_interval=PING_INTERVAL,
        ping_timeout=PING_TIMEOUT,
        transports=["polling", "websocket"],
    )
    sio = wire.sio

    def send_auth(namespace: str) -> Any:
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
            _soon(sio.emit("auth", {} if auth is None else auth, to=sid, namespace=namespace))

        return connect

    async def message(sid: str, *args: Any) -> None:
        await sio.emit("message-back", args, to=sid)

    async def message_with_ack(sid: str, *args: Any) -> tuple[Any, ...]:
        return args

    async def private(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not isinstance(auth, dict) or auth.get("token") != PRIVATE_TOKEN:
            raise socketio.exceptions.ConnectionRefusedError("Not authorized")
        _soon(sio.emit("auth", auth, to=sid, namespace="/private"))

    sio.on("connect", send_auth("/"))
    sio.on("message", message)
    sio.on("message-with-ack", message_with_ack)
    sio.on("connect", send_auth("/custom"), namespace="/custom")
    sio.on("connect", private, namespace="/private")
    return wire


@asynccontextmanager
async def conformance_server(settings: Settings) -> AsyncIterator[str]:
    """The app on a free port as ``sourcevault serve`` runs it; yields its ``http://`` URL."""
    wire = build(settings)
    await wire.start()
    app = socketio.ASGIApp(wire.sio, socketio_path="socket.io")
    sock = free_socket()
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=2,
        **transport.uvicorn_options(settings),
    )
    try:
        async with serving(transport.server_class(settings)(config), sock) as url:
            yield url
    finally:
        await wire.aclose()
