"""One canary per reach under a library that the transport package lists in its docstring
(src/sourcevault/realtime/transport/__init__.py). Each checks that what the reach relies on is
still where it was in the version it was written against, and fails naming the reach when an
upgrade moves it, before the behaviour tests fail in less obvious ways."""

from __future__ import annotations

import asyncio
import collections
import dis
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import aiosqlite
import engineio
import pytest
import socketio
import uvicorn
from engineio import async_socket
from engineio.async_drivers import asgi as engineio_asgi
from socketio.async_pubsub_manager import AsyncPubSubManager
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection, AsyncAdapt_dbapi_cursor
from sqlalchemy.dialects.sqlite import aiosqlite as sqlalchemy_aiosqlite
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.protocol import Protocol
from websockets.server import ServerProtocol

from sourcevault.realtime import transport
from sourcevault.realtime.transport.fastpath import DirectWebSocketProtocol

Check = Callable[[], None]
CANARIES: dict[str, Check] = {}


def canary(name: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        CANARIES[name] = check
        return check

    return register


def has(owner: Any, *names: str) -> None:
    missing = [name for name in names if not hasattr(owner, name)]
    assert not missing, f"{getattr(owner, '__qualname__', owner)} has no {', '.join(missing)}"


def params(function: Any, *names: str) -> None:
    found = list(inspect.signature(function).parameters)
    missing = [name for name in names if name not in found]
    assert not missing, f"{function.__qualname__} takes no {', '.join(missing)} (takes {found})"


def source_has(function: Any, *needles: str) -> None:
    source = inspect.getsource(function)
    missing = [needle for needle in needles if needle not in source]
    assert not missing, f"{function.__qualname__} no longer does {', '.join(missing)}"


def stored_attributes(cls: type) -> set[str]:
    """The attributes the methods of ``cls`` and its bases set on ``self``."""
    names: set[str] = set()
    for klass in cls.__mro__:
        for function in vars(klass).values():
            if inspect.isfunction(function):
                names |= {
                    i.argval for i in dis.get_instructions(function) if i.opname == "STORE_ATTR"
                }
    return names


@canary("socketio-manager-emit")
def _manager_emit() -> None:
    params(socketio.AsyncManager.emit, "event", "data", "namespace", "room", "skip_sid", "callback")
    source_has(socketio.AsyncManager.emit, "get_participants", "_send_eio_packet")
    has(socketio.AsyncServer(async_mode="asgi"), "_send_eio_packet", "packet_class", "eio")
    has(socketio.AsyncManager, "get_participants", "set_server")


@canary("socketio-pubsub-handle-emit")
def _pubsub_handle_emit() -> None:
    has(AsyncPubSubManager, "_handle_emit", "_thread")
    source_has(AsyncPubSubManager._handle_emit, "super().emit(")
    source_has(AsyncPubSubManager.emit, "self._handle_emit(message)", "self._publish(")
    source_has(AsyncPubSubManager._thread, "self._handle_emit(data)")


@canary("socketio-rooms")
def _rooms() -> None:
    manager = socketio.AsyncManager()
    has(manager, "rooms", "callbacks", "pending_connect", "pending_disconnect")
    params(socketio.AsyncManager.basic_enter_room, "sid", "namespace", "room", "eio_sid")
    params(socketio.AsyncManager.basic_leave_room, "sid", "namespace", "room")
    params(socketio.AsyncManager.basic_disconnect, "sid", "namespace")
    source_has(socketio.AsyncManager.get_participants, "_fwdm")
    source_has(socketio.AsyncManager.basic_enter_room, "bidict()")


@canary("socketio-server-handlers")
def _server_handlers() -> None:
    for name in ("_handle_eio_disconnect", "_handle_eio_message", "_handle_event"):
        has(socketio.AsyncServer, name)
    params(socketio.AsyncServer._handle_eio_message, "eio_sid", "data")
    params(socketio.AsyncServer._handle_eio_disconnect, "eio_sid", "reason")
    params(socketio.AsyncServer._handle_event, "eio_sid", "namespace", "id", "data")
    params(socketio.AsyncServer._send_eio_packet, "eio_sid", "eio_pkt")
    params(socketio.AsyncServer._send_packet, "eio_sid", "pkt")
    source_has(socketio.base_server.BaseServer.__init__, "self._engineio_server_class()")
    has(socketio.AsyncServer, "reserved_events")


@canary("socketio-redis-listener")
def _redis_listener() -> None:
    listen = socketio.AsyncRedisManager._redis_listen_with_retries
    assert inspect.isasyncgenfunction(listen), "_redis_listen_with_retries is no async generator"
    source_has(socketio.AsyncRedisManager._listen, "self._redis_listen_with_retries()")
    has(socketio.AsyncRedisManager, "_publish")
    source_has(socketio.AsyncRedisManager.__init__, "self.redis_url = ")
    source_has(AsyncPubSubManager.initialize, "self.thread = ")
    source_has(AsyncPubSubManager._thread, "self.json.loads(message)")  # ``decoded`` counts it
    source_has(socketio.AsyncServer._handle_eio_connect, "self.manager_initialized")


@canary("engineio-ping-task")
def _ping_task() -> None:
    has(async_socket.AsyncSocket, "_send_ping", "schedule_ping")
    source_has(async_socket.AsyncSocket.schedule_ping, "start_background_task(self._send_ping)")
    source_has(async_socket.AsyncSocket._send_ping, "self.last_ping = ", "packet.PING")


@canary("engineio-asgi-driver")
def _asgi_driver() -> None:
    server = engineio.AsyncServer(async_mode="asgi")
    assert {"websocket", "translate_request"} <= set(server._async), "the _async table moved"
    assert server._async["websocket"] is engineio_asgi.WebSocket
    assert server._async["translate_request"] is engineio_asgi.translate_request
    params(engineio_asgi.WebSocket.__init__, "handler", "server")
    has(engineio_asgi.WebSocket, "__call__", "wait", "close")
    source_has(engineio_asgi.WebSocket.__call__, "self.asgi_receive = ", "self.asgi_send = ")


@canary("engineio-socket")
def _socket() -> None:
    sock = async_socket.AsyncSocket(engineio.AsyncServer(async_mode="asgi"), "sid")
    has(sock, "queue", "connected", "upgraded", "closing", "closed", "last_ping", "server")
    assert isinstance(sock.queue, asyncio.Queue), "the socket's queue is no asyncio.Queue"
    params(async_socket.AsyncSocket.close, "wait", "abort", "reason")
    has(async_socket.AsyncSocket, "receive", "_websocket_handler")
    source_has(async_socket.AsyncSocket._upgrade_websocket, "self._websocket_handler")


@canary("asyncio-queue-getters")
async def _queue_getters() -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    has(queue, "_queue", "_getters")
    assert isinstance(queue._queue, collections.deque)  # type: ignore[attr-defined]
    getter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    waiting = queue._getters  # type: ignore[attr-defined]
    assert waiting and not all(f.done() for f in waiting), "a parked get() is not in _getters"
    getter.cancel()


@canary("asyncio-event-waiters")
def _event_waiters() -> None:
    has(asyncio.Event(), "_waiters")
    source_has(asyncio.Event.wait, "self._waiters.append(", "self._waiters.remove(")
    source_has(asyncio.Event.set, "for fut in self._waiters")


@canary("asyncio-future-blocking")
async def _future_blocking() -> None:
    future = asyncio.get_running_loop().create_future()
    has(future, "_asyncio_future_blocking")
    waiting = future.__await__()
    assert next(waiting) is future and future._asyncio_future_blocking, (
        "awaiting a future no longer yields it with _asyncio_future_blocking set"
    )
    future.cancel()


@canary("uvicorn-sansio-protocol")
def _sansio_protocol() -> None:
    stored = {
        i.argval
        for i in dis.get_instructions(WebSocketsSansIOProtocol.__init__)
        if i.opname == "STORE_ATTR"
    }
    unslotted = stored - set(DirectWebSocketProtocol.__slots__)
    assert not unslotted, f"uvicorn's __init__ sets attributes not in our slots: {unslotted}"
    used = {"transport", "writable", "queue", "close_sent", "disconnected", "conn", "scope"}
    used |= {"request", "response"}
    missing = used - stored_attributes(WebSocketsSansIOProtocol)
    assert not missing, f"uvicorn's protocol no longer sets {missing}"
    has(WebSocketsSansIOProtocol, "connection_made", "handle_connect", "start_keepalive")


@canary("websockets-parser")
def _parser() -> None:
    assert inspect.isgeneratorfunction(Protocol.parse), "Protocol.parse is no generator"
    connection = ServerProtocol()
    has(connection, "parser", "reader")
    has(connection.reader, "buffer")


@canary("uvicorn-server-loop")
def _server_loop() -> None:
    has(uvicorn.Server, "main_loop", "on_tick", "shutdown", "handle_exit")
    has(uvicorn.Server(uvicorn.Config(app=None)), "force_exit", "should_exit", "server_state")
    source_has(uvicorn.Server._serve, "self.main_loop()", "self.shutdown(sockets=sockets)")
    params(uvicorn.Server.on_tick, "counter")
    state = ServerState()
    assert isinstance(state.connections, set) and isinstance(state.tasks, set)
    source_has(
        uvicorn.Server.shutdown,
        "self.servers",
        "self.server_state.connections",
        "connection.shutdown()",
        "self.lifespan.shutdown()",
    )
    source_has(uvicorn.Server.__init__, "self.server_state = ServerState()")


@canary("sqlalchemy-aiosqlite-adapter")
def _aiosqlite_adapter() -> None:
    cursor_slots = set(AsyncAdapt_dbapi_cursor.__slots__)
    expected = {"_adapt_connection", "_connection", "_cursor", "_rows", "_soft_closed_memoized"}
    assert expected <= cursor_slots, f"the adapter cursor's slots are {cursor_slots}"
    has(sqlalchemy_aiosqlite.AsyncAdapt_aiosqlite_cursor, "_async_soft_close", "execute")
    has(sqlalchemy_aiosqlite.AsyncAdapt_aiosqlite_connection, "_cursor_cls", "_handle_exception")
    assert issubclass(
        sqlalchemy_aiosqlite.AsyncAdapt_aiosqlite_connection, AsyncAdapt_dbapi_connection
    )
    has(sqlalchemy_aiosqlite.AsyncAdapt_aiosqlite_dbapi, "connect")


@canary("aiosqlite-execute")
def _aiosqlite_execute() -> None:
    assert inspect.iscoroutinefunction(aiosqlite.Connection._execute), "_execute moved"
    params(aiosqlite.Connection._execute, "fn")
    assert isinstance(inspect.getattr_static(aiosqlite.Connection, "_conn"), property)
    source_has(aiosqlite.Connection.__init__, "self._connection")


def listed() -> Iterator[str]:
    """The reaches the transport package's docstring lists, by name."""
    yield from re.findall(r"^- ``([a-z0-9-]+)``", transport.__doc__ or "", re.MULTILINE)


def test_every_listed_reach_has_a_canary() -> None:
    assert sorted(listed()) == sorted(CANARIES)


@pytest.mark.parametrize("reach", sorted(CANARIES))
async def test_canary(reach: str) -> None:
    try:
        outcome = CANARIES[reach]()
        if inspect.isawaitable(outcome):
            await outcome
    except (AssertionError, AttributeError, TypeError, OSError) as exc:
        pytest.fail(
            f"the reach {reach!r} (realtime/transport/__init__.py) moved in this version of its "
            f"library: {exc}",
            pytrace=False,
        )


async def test_a_canary_names_the_reach_an_upgrade_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(async_socket.AsyncSocket, "_send_ping")
    with pytest.raises(pytest.fail.Exception, match=r"'engineio-ping-task'.*_send_ping"):
        await test_canary("engineio-ping-task")
