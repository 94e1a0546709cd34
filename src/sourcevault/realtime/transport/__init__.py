"""The transport: everything between the application's rooms, auth and handlers
(``realtime/server.py``) and the wire, for one instance and for several over Redis.

The seam
========
The application builds one ``Transport`` from the settings and uses nothing else of this
package but ``Timers`` (deadlines on one loop timer):

* ``transport.sio``, a python-socketio ``AsyncServer``, through its public API only: ``on``
  for handlers, ``enter_room`` / ``leave_room`` / ``close_room``, ``emit``, ``shutdown``;
* ``transport.corked(defer=False)``: the events emitted inside leave for each socket in one
  write (with ``defer``, in the loop's next turn, with the other deferred emits of this one);
* ``transport.notify_local(event, data, room)``: to this instance's sockets in ``room`` only,
  applying the eviction it carries (``vault:access-revoked`` leaves the vault's room,
  ``session:expired`` disconnects);
* ``transport.on_notice(listener)``: told, on each instance, which of its sockets a
  ``vault:access-revoked``, ``vault:role-changed`` or ``session:expired`` reached (presence);
* ``transport.start()``, ``aclose()``, ``health()``, ``redis``: the broker's life and health.

Whoever runs uvicorn (``sourcevault serve``, the tests' live server) takes its options from
``uvicorn_options(settings)`` and its server class from ``server_class(settings)``; the
database engine takes its SQLite driver module from ``sqlite_dbapi(settings)``.

Delivery, in the spirit of centrifuge: a broker carries a room event to every instance
(``LocalManager`` in memory, ``RedisManager`` over Redis pub/sub, ``redis_link.py``), and each
instance delivers it to its own sockets through one path, ``FastEmit`` (``fastpath.py``): the
event is encoded and framed once, and each socket's writer (``DirectQueue``, one per connection,
owning its queue: it writes at once when idle and runs a writer task only while packets wait)
takes it; a socket whose queue reaches ``socket_max_queued`` is dropped as a reader that
stopped reading (``engine.SocketServer``). A message heard from Redis is decoded once per
instance, by the broker's listener, whatever the number of sockets.

Two transports
==============
``SOURCEVAULT_TRANSPORT=fast`` (the default) is the above. ``stock`` runs python-socketio's own
delivery (a task per recipient through python-engineio's queue and writer task),
python-engineio's websocket handler and ping tasks, uvicorn's own websockets-sansio protocol and
``uvicorn.Server``: none of the reaches marked *fast* below. What stays in both is behaviour
the contract and the README promise, not speed: the socket guards (``engine.SocketServer``),
evictions riding the broker, and the Redis link that survives an outage.
``SOURCEVAULT_SQLITE_ADAPTER=fast`` (the default) runs SQLite through ``sqlite.py``'s adapter
and one-statement reads on a sqlite3 connection of their own; ``stock`` runs SQLAlchemy's
aiosqlite dialect as it ships.

Reaches under libraries
=======================
Each is written against the version named, which ``pyproject.toml`` pins, and has a canary of
the same name in tests/realtime/test_canaries.py that fails, naming it, when an upgrade moves
what it relies on.

- ``socketio-manager-emit`` (python-socketio 5.18, fast): ``FastEmit.emit`` replaces the loop
  of ``AsyncManager.emit`` and calls ``AsyncServer._send_eio_packet``; fastpath.py.
- ``socketio-pubsub-handle-emit`` (python-socketio 5.18, both): ``AsyncPubSubManager.
  _handle_emit`` hands on to ``super().emit`` (``FastEmit`` sits after it) and the eviction
  hook runs after it; managers.py.
- ``socketio-rooms`` (python-socketio 5.18, fast): rooms as plain dicts with ``_fwdm`` in place
  of ``bidict``, and ``BaseManager.basic_enter_room`` / ``basic_leave_room`` /
  ``basic_disconnect`` over ``rooms``, ``callbacks``, ``pending_connect`` and
  ``pending_disconnect``; managers.py.
- ``socketio-server-handlers`` (python-socketio 5.18, both): ``SocketServer`` overrides
  ``_engineio_server_class``, ``_handle_eio_disconnect``, ``_handle_eio_message``,
  ``_handle_event``, ``_send_eio_packet`` and ``_send_packet``; engine.py.
- ``socketio-redis-listener`` (python-socketio 5.18, both): ``RedisLink`` replaces
  ``AsyncRedisManager._redis_listen_with_retries`` and ``_publish``, sets the server's
  ``manager_initialized``, and counts the decodes of ``AsyncPubSubManager._thread`` through the
  manager's ``json``; redis_link.py.
- ``engineio-ping-task`` (python-engineio 4.15, fast): ``FastEngineServer`` intercepts
  ``start_background_task(AsyncSocket._send_ping)`` and sets ``last_ping``; engine.py.
- ``engineio-asgi-driver`` (python-engineio 4.15, fast): the server's ``_async`` table gets our
  ``websocket`` and ``translate_request``; ``FastWebSocket`` extends the ASGI driver's
  ``WebSocket``; fastpath.py.
- ``engineio-socket`` (python-engineio 4.15, both): an ``AsyncSocket``'s ``queue``,
  ``connected``, ``upgraded``, ``closing``, ``closed``, ``last_ping`` and ``close(wait, abort,
  reason)``, and, fast only, ``_websocket_handler`` replaced by ``FastWebSocket._serve``;
  fastpath.py, engine.py, redis_link.py.
- ``asyncio-queue-getters`` (CPython 3.11, fast): ``asyncio.Queue._queue`` and ``_getters`` tell
  whether a socket's writer is parked; fastpath.py.
- ``asyncio-event-waiters`` (CPython 3.11, fast): ``asyncio.Event._waiters`` as a list;
  fastpath.py.
- ``asyncio-future-blocking`` (CPython 3.11, fast): a suspended ``send`` is driven to its end
  as ``Task`` does, clearing ``_asyncio_future_blocking``; fastpath.py.
- ``uvicorn-sansio-protocol`` (uvicorn 0.54, fast): ``DirectWebSocketProtocol`` extends
  ``WebSocketsSansIOProtocol``, with its attributes as slots, and uses its ``transport``,
  ``writable``, ``queue``, ``close_sent``, ``disconnected``, ``conn``, ``request``,
  ``response``, ``scope``, ``connection_made``, ``handle_connect`` and ``start_keepalive``;
  fastpath.py.
- ``websockets-parser`` (websockets 17, fast): a connection's ``parser`` replaced by a fresh
  ``Protocol.parse`` once its ``reader.buffer`` is empty; fastpath.py.
- ``uvicorn-server-loop`` (uvicorn 0.54, fast): ``Server`` replaces ``uvicorn.Server``'s
  ``main_loop``, ``shutdown`` and ``handle_exit`` and watches ``server_state``'s
  ``connections`` and ``tasks``; serving.py.
- ``sqlalchemy-aiosqlite-adapter`` (SQLAlchemy 2.1, SQLite adapter fast): the aiosqlite
  adapter's cursor, connection and DBAPI classes subclassed (``_cursor_cls``,
  ``_connection``, ``_adapt_connection``, ``_handle_exception``, ``_soft_closed_memoized``,
  ``_async_soft_close``); sqlite.py.
- ``aiosqlite-execute`` (aiosqlite 0.22, SQLite adapter fast): ``Connection._execute`` on its
  ``_conn``, how aiosqlite itself queues a call on its thread; sqlite.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

import uvicorn

from sourcevault.config import Settings
from sourcevault.realtime.transport.engine import SocketServer
from sourcevault.realtime.transport.managers import (
    ACCESS_REVOKED,
    SESSION_EXPIRED,
    LocalManager,
    NoticeListener,
    RedisManager,
    StockLocalManager,
    StockRedisManager,
)
from sourcevault.realtime.transport.redis_link import RedisLink
from sourcevault.realtime.transport.timers import Timers

__all__ = [
    "ACCESS_REVOKED",
    "SESSION_EXPIRED",
    "Broker",
    "Timers",
    "Transport",
    "server_class",
    "sqlite_dbapi",
    "uvicorn_options",
]

# What ``sourcevault serve`` passes to uvicorn as ``ws`` in the fast transport.
WS_PROTOCOL = "sourcevault.realtime.transport.fastpath:DirectWebSocketProtocol"


class Broker(Protocol):
    """What a python-socketio client manager of this package adds to the stock one."""

    async def emit_here(self, event: str, data: Any, namespace: str, room: Any) -> None:
        """Deliver to this instance's sockets in ``room`` only."""

    async def notify_local(self, event: str, data: Any, room: str, namespace: str = "/") -> None:
        """Deliver to this instance's sockets in ``room`` and apply the eviction it carries."""


class Transport:
    """The Socket.IO server of one app, with the broker and the delivery its settings ask for.

    ``sio_options`` are python-socketio's ``AsyncServer`` options (CORS, ping, buffer size)."""

    def __init__(
        self, settings: Settings, *, max_payload: int, max_queued: int, **sio_options: Any
    ) -> None:
        self.fast = settings.transport == "fast"
        manager: Any
        if settings.redis_url is not None:
            redis_class = RedisManager if self.fast else StockRedisManager
            manager = redis_class(settings.redis_url.get_secret_value(), settings.redis_channel)
        else:
            manager = LocalManager() if self.fast else StockLocalManager()
        self.broker: Broker = manager
        self.redis: RedisLink | None = manager if isinstance(manager, RedisLink) else None
        self.sio = SocketServer(
            async_mode="asgi",
            client_manager=manager,
            max_payload=max_payload,
            max_queued=max_queued,
            fast=self.fast,
            **sio_options,
        )

    @contextlib.contextmanager
    def corked(self, defer: bool = False) -> Iterator[None]:
        """The fast path's cork (``FastEmit.corked``; ``defer``: written in the loop's next
        turn, with every other deferred emit of this one); nothing in the stock transport."""
        corked = getattr(self.sio.manager, "corked", None)
        if corked is None:
            yield
            return
        with corked(defer):
            yield

    def on_notice(self, listener: NoticeListener) -> None:
        """Await ``listener(event, data, sids)`` after each notice reaches sockets here."""
        self.sio.manager.notice_listener = listener

    async def notify_local(self, event: str, data: Any, room: str) -> None:
        await self.broker.notify_local(event, data, room)

    async def start(self) -> None:
        """Subscribe to Redis (when set) before the first request."""
        if self.redis is not None:
            await self.redis.start(self.sio)

    async def aclose(self) -> None:
        """Shut the Socket.IO server down, then send what is held for Redis and unsubscribe."""
        await self.sio.shutdown()
        if self.redis is not None:
            await self.redis.aclose()

    async def health(self) -> str | None:
        """``"ok"`` or why not, for the broker; None without Redis."""
        return None if self.redis is None else await self.redis.health()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The ``uvicorn.Config`` options every uvicorn that serves the app is given. Engine.IO
    pings every socket already, so uvicorn's own websocket keepalive is off, and so is
    compression. Proxy headers are believed only from the trusted proxies, and no ``server``
    header names uvicorn."""
    ws = WS_PROTOCOL if settings.transport == "fast" else "websockets-sansio"
    trusted = settings.trusted_proxies
    return {
        "ws": ws,
        "ws_per_message_deflate": False,
        "ws_ping_interval": None,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": list(trusted) or None,
        "server_header": False,
    }


def server_class(settings: Settings) -> type[uvicorn.Server]:
    """``serving.Server`` in the fast transport, ``uvicorn.Server`` in the stock one."""
    if settings.transport != "fast":
        return uvicorn.Server
    from sourcevault.realtime.transport.serving import Server

    return Server


def sqlite_dbapi(settings: Settings) -> Any | None:
    """The DBAPI module SQLAlchemy's aiosqlite dialect is to use (``module=``): this package's
    adapter, or None for SQLAlchemy's own."""
    if settings.sqlite_adapter != "fast" or not settings.database_url.startswith(
        "sqlite+aiosqlite:"
    ):
        return None
    from sourcevault.realtime.transport import sqlite

    return sqlite.dbapi()
