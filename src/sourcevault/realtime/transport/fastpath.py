"""The broadcast fast path: one encoding per event, written straight to each idle websocket.

Stock python-socketio delivers a room event by creating a task per recipient, which puts the
packet on that socket's Engine.IO queue, whose writer task wakes (through an ``asyncio.wait_for``
that is itself a task), takes it and hands it to the ASGI ``send``. Under fan-out that
machinery, not the writing, is most of the server's work. ``FastEmit.emit`` encodes the event
once and, for every recipient whose websocket writer is idle with nothing queued, calls the
ASGI ``send`` right away, in the emitting task. Every other recipient takes the stock route,
so nothing the application relies on changes:

* order: a socket with anything queued, or a writer busy sending, gets the event through its
  queue, behind what is already there; a direct write happens only when the writer holds
  nothing (it is parked waiting on an empty queue);
* slow readers: the ASGI ``send`` normally completes without suspending. When it does suspend
  (the server's transport buffer is full: the peer is not reading), it is finished in a task of
  its own, and until it has been the socket takes the queued route, where
  ``SocketServer._backlogged`` counts what piles up and drops the reader, as before;
* acks (an emit with a callback), binary payloads, polling clients, sockets not yet upgraded,
  closing, or past their ping timeout: the stock route, unchanged;
* rooms and evictions are untouched: this replaces only the loop at the end of
  ``AsyncManager.emit``; both managers (one instance, and several over Redis) deliver through
  it, and the eviction hook still runs after.

Under uvicorn, serving with ``ws=transport.WS_PROTOCOL`` (``DirectWebSocketProtocol``, uvicorn's own
websockets-sansio protocol plus a frame writer) goes one step further: the websocket frame too is
built once per emit, and each idle, writable recipient gets those bytes written to its
transport, with no ASGI message, no per-recipient framing; the frames a socket gets from one
``emit``, or from several inside one ``FastEmit.corked()`` scope (the events of one committed
outbox, or of a group commit's), leave in one ``transport.write`` when the scope ends; a scope
that defers (presence announcements) is written in the loop's next turn, with every other
emit of that turn.
When the transport is paused (its buffer is full), when the connection is closing, or when a
websocket extension was negotiated, it falls back to the ASGI route above, so the rules above
still hold. Under any other ASGI server the fast path stops at the ASGI ``send``.

A socket that opens on the websocket transport is also served here (``FastWebSocket._serve``
and ``DirectQueue``) instead of by python-engineio's websocket handler, without its writer and
reader tasks and queue; and the per-connection state the stack keeps is trimmed (the
environ's body class, the handshake's request, response and parser, the scope's raw headers,
uvicorn's receive queue and writable flag).

Its reaches under python-socketio, python-engineio, uvicorn, websockets and asyncio are the
ones the package docstring marks *fast* (``socketio-manager-emit``, ``engineio-asgi-driver``,
``engineio-socket``, ``asyncio-queue-getters``, ``asyncio-event-waiters``,
``asyncio-future-blocking``, ``uvicorn-sansio-protocol``, ``websockets-parser``), each with the
version it was written against and a canary; the realtime tests (ordering, slow readers,
heartbeat, revocation, leaks) cover the behaviour.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import engineio
import socketio
from engineio import packet as eio_packet
from engineio.async_drivers.asgi import WebSocket
from engineio.async_drivers.asgi import translate_request as _stock_translate
from socketio import packet as sio_packet
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, State

from sourcevault.logs import WEBSOCKET_LOGGER

log = logging.getLogger(__name__)
_ATTR = "_sourcevault_ws"  # where a socket keeps its FastWebSocket while it is open
_EXTENSION = "sourcevault.frames"  # the scope extension DirectWebSocketProtocol adds
# The most a socket's frames corked in one scope hold before they are written.
CORK_BYTES = 64 * 1024
_connections_log = logging.getLogger(WEBSOCKET_LOGGER)


class DirectWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, offering the app to write a finished frame.

    It puts itself in the connection's ASGI scope (``extensions["sourcevault.frames"]``),
    where ``FastWebSocket`` finds it. It logs to ``logs.WEBSOCKET_LOGGER``, a child of uvicorn's
    ``uvicorn.error``: records reach the same handlers, and ``sourcevault serve`` keeps that
    logger's line per accepted handshake out (logs.configure)."""

    # Every attribute uvicorn's protocol sets, as slots: past 30 attributes an instance's
    # ``__dict__`` stops sharing its keys with the class's other instances and takes a table
    # of its own per connection; slots take a word each. The names are uvicorn
    # 0.54's; one it adds later lands in the ``__dict__`` the base class still gives.
    __slots__ = (
        "_corked",  # frames taken in this cork scope, not yet written
        "_corked_bytes",
        "app",
        "app_state",
        "asgi_version",
        "client",
        "close_sent",
        "close_timeout",
        "close_timer",
        "config",
        "conn",
        "connections",
        "curr_msg_data_type",
        "default_headers",
        "disconnected",
        "frames",
        "handshake_complete",
        "handshake_initiated",
        "initial_response",
        "last_ping_rtt",
        "logger",
        "loop",
        "pending_ping_payload",
        "ping_interval",
        "ping_sent_at",
        "ping_timeout",
        "ping_timer",
        "pong_timer",
        "queue",
        "read_paused",
        "request",
        "response",
        "root_path",
        "scheme",
        "scope",
        "server",
        "tasks",
        "transport",
        "writable",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._corked: list[bytes] | None = None
        self._corked_bytes = 0
        super().__init__(*args, **kwargs)
        self.logger = _connections_log
        self.conn.logger = _connections_log  # websockets' own line: "connection open"
        # Kept for the connection's life: uvicorn's asyncio.Queue and asyncio.Event allocate
        # four deques that a websocket with one reader has no use for.
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Flag()
        self.writable.set()

    def connection_made(self, transport: Any) -> None:
        """As uvicorn's, but the addresses come from the HTTP protocol that hands the
        connection over (it is still the transport's protocol, and has just asked the socket
        for them): asking again costs two system calls and a socket object each."""
        http = transport.get_protocol()
        if getattr(http, "scheme", None) not in ("http", "https"):
            super().connection_made(transport)
            return
        self.connections.add(self)
        self.transport = transport
        self.server = http.server
        self.client = http.client
        self.scheme = "wss" if http.scheme == "https" else "ws"

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # only an accepted handshake has one
        if scope is not None:  # the app's task is created but has not run yet
            scope["extensions"][_EXTENSION] = self

    def start_keepalive(self) -> None:
        """Called once the handshake's response is written; the request and the response
        (their headers) are not needed after that, and would stay for as long as the
        connection is open: here, and in the frame of websockets' handshake parser (a
        generator that goes on parsing frames), which is replaced by a frame parser, as
        websockets itself replaces it when a connection closes."""
        super().start_keepalive()
        self.request = self.response = None  # type: ignore[assignment]
        conn = self.conn
        if not conn.reader.buffer:  # between frames, nothing read ahead: a fresh frame parser
            conn.parser = Protocol.parse(conn)  # whose frame no longer holds the request
            next(conn.parser)

    def _closed(self) -> bool:
        return bool(
            self.close_sent
            or self.disconnected
            or self.conn.state is not State.OPEN
            or self.transport.is_closing()
        )

    def write_frame(self, frame: bytes, cork: Cork) -> bool:
        """Take a whole unmasked frame to send when ``cork``'s scope ends, if the connection
        is open, its transport is not paused and no extension (compression) was negotiated;
        False when it did not take it.

        Frames taken in one scope are corked: they leave together in one ``transport.write``,
        so a burst of events costs a socket one system call, not one each. Once a frame is
        corked, every later frame of the scope joins it whatever the
        transport's state, so nothing overtakes it by another route; but past ``CORK_BYTES``
        what is corked is written at once, and the transport's state is asked again, so a
        reader that stopped reading is not handed an unbounded burst in one write."""
        corked = self._corked
        if corked is not None:
            if self._corked_bytes + len(frame) <= CORK_BYTES:
                corked.append(frame)
                self._corked_bytes += len(frame)
                cork.touch(self)
                return True
            self.uncork()  # then as if nothing were corked
        if self._closed() or not self.writable.is_set() or self.conn.extensions:
            return False
        self._corked = [frame]
        self._corked_bytes = len(frame)
        cork.add(self)
        return True

    def uncork(self) -> None:
        """Send what is corked (nothing once the connection is closing: the peer is gone or
        going, as when a frame is lost with a closed socket)."""
        frames, self._corked = self._corked, None
        if frames and not self._closed():
            self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))


class _Inbox:
    """A websocket's receive queue in uvicorn's protocol (``put_nowait``, ``get``, ``empty``):
    a list and the one waiting reader, the ASGI app's ``receive``, which only one task calls
    at a time (the socket's reader)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> Any:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None
        return self._items.pop(0)


class _Flag(asyncio.Event):
    """``asyncio.Event`` keeping its waiters in a list (every use of them is append, remove
    and iteration): an empty deque is much larger, for a flag that is rarely waited
    on."""

    def __init__(self) -> None:
        super().__init__()
        self._waiters: list[asyncio.Future[Any]] = []  # type: ignore[assignment]


class Cork:
    """One server's sockets with frames corked, written when the outermost
    ``FastEmit.corked`` scope ends, or, for a scope that defers (``release``), in the loop's
    next turn.

    Deferring lets every emit of one turn share a socket's write: under load a turn runs many
    handlers (joins and leaves announced to one room), and their frames for a socket leave in
    one system call instead of one each. It is for what no one waits on at once: the task that
    emitted goes on (answering its request) before the turn ends, so a committed change's
    events are not deferred. Nothing overtakes corked frames meanwhile: every other route to a
    socket (its queue, the stock route, a full cork) uncorks it first, and a socket closed
    before the turn drops them, as a closed socket drops any write."""

    def __init__(self) -> None:
        self.pending: list[DirectWebSocketProtocol] = []  # every socket with corked frames
        # Those given a frame in the current scope when it does not defer: written when it
        # ends, with whatever a deferring scope corked for them before.
        self.now: dict[DirectWebSocketProtocol, None] = {}
        self.depth = 0
        self.defer = False  # the outermost scope's choice, which its inner scopes follow
        self._scheduled = False

    def enter(self, defer: bool) -> None:
        if not self.depth:
            self.defer = defer
        self.depth += 1

    def add(self, protocol: DirectWebSocketProtocol) -> None:
        """``protocol`` corked its first frame."""
        self.pending.append(protocol)
        self.touch(protocol)

    def touch(self, protocol: DirectWebSocketProtocol) -> None:
        """``protocol`` corked a frame."""
        if not self.defer:
            self.now[protocol] = None

    def release(self) -> None:
        """The outermost scope ended: what it corked is written now, or, when it defers, in
        the loop's next turn."""
        if not self.defer:
            now, self.now = self.now, {}
            _uncork(now)
            if not self._scheduled:  # nothing deferred waits: every pending one was written
                self.pending.clear()
            return
        if self._scheduled or not self.pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        pending, self.pending = self.pending, []
        _uncork(pending)


def _uncork(protocols: Iterable[DirectWebSocketProtocol]) -> None:
    for protocol in protocols:
        try:
            protocol.uncork()
        except Exception:  # the transport went away under us; its protocol cleans up
            log.debug("a corked websocket write failed", exc_info=True)


_finishing: set[asyncio.Task[None]] = set()


def _message(pkt: eio_packet.Packet) -> dict[str, Any]:
    """An Engine.IO packet as the ASGI ``websocket.send`` message that carries it."""
    encoded = pkt.encode()
    if isinstance(encoded, bytes):
        return {"type": "websocket.send", "bytes": encoded, "text": None}
    return {"type": "websocket.send", "bytes": None, "text": encoded}


class FastWebSocket(WebSocket):  # type: ignore[misc]
    """The ASGI driver's websocket, known to its Engine.IO socket and able to write at once.

    A socket that opens on the websocket transport (every client started with
    ``transports: ["websocket"]``, the Python client, the benchmark's) is served by
    ``_serve``, in place of python-engineio's ``AsyncSocket._websocket_handler``; a socket
    upgrading from polling keeps that handler. The stock handler runs a writer task per
    socket, parked on an ``asyncio.Queue`` through ``asyncio.wait_for`` (a task of its own
    each time), and reads each message through ``wait_for`` on yet another task: four tasks,
    two timers and a queue for every idle connection, and a task woken per packet sent.
    ``_serve`` reads in the connection's own task, and swaps the socket's queue for a
    ``DirectQueue``, which writes a packet at once when nothing is ahead of it and starts a
    writer task only while packets wait. The stock reader also gave up after a ping interval
    plus a ping timeout of silence; here a silent peer is found by python-engineio's service
    task, which closes its socket once a ping goes unanswered for the ping timeout, and
    whenever a socket closes (``SocketServer._handle_eio_disconnect``) its websocket is
    closed after the packets its ``close`` sends (``close_transport``)."""

    def __init__(self, handler: Any, server: Any) -> None:
        super().__init__(handler, server)
        self.pending: asyncio.Task[None] | None = None  # a direct write waiting to drain
        self.frames: DirectWebSocketProtocol | None = None

    @property
    def blocked(self) -> bool:
        """A direct write is waiting for the transport to drain."""
        return self.pending is not None

    async def __call__(self, environ: dict[str, Any]) -> Any:
        scope = environ.get("asgi.scope") or {}
        self.frames = scope.get("extensions", {}).get(_EXTENSION)
        sock = getattr(self.handler, "__self__", None)  # the Engine.IO socket it serves
        if sock is not None:
            setattr(sock, _ATTR, self)
        try:
            if sock is None or sock.connected:  # an upgrade from polling: the stock handler
                return await super().__call__(environ)
            self.asgi_receive = environ["asgi.receive"]
            self.asgi_send = environ["asgi.send"]
            await self.asgi_send({"type": "websocket.accept"})
            # The scope's raw headers stay with the connection (uvicorn's protocol and the
            # environ hold the scope) and are read by nothing from here on: every one is in
            # the environ, as a string, for python-socketio and the app.
            scope["headers"] = []
            await self._serve(sock)
            return ""
        finally:
            if sock is not None and getattr(sock, _ATTR, None) is self:
                delattr(sock, _ATTR)

    async def _serve(self, sock: Any) -> None:
        """``AsyncSocket._websocket_handler`` for a socket that opened on this websocket, read
        for read and close for close, with the writing done by a ``DirectQueue``."""
        server = sock.server
        sock.connected = True
        sock.upgraded = True
        queue = DirectQueue(self, sock.queue)  # takes over what is queued (the OPEN packet)
        sock.queue = queue
        limit = server.max_http_buffer_size
        try:
            while True:
                try:
                    data = await self.wait()
                except OSError:  # the peer is gone, or the websocket was closed
                    break
                if data is None or len(data) > limit:
                    break
                try:
                    pkt = eio_packet.Packet(encoded_packet=data)
                except Exception:  # not an Engine.IO packet: the session ends, as in stock
                    server.logger.info("%s: undecodable packet, closing", sock.sid)
                    break
                try:
                    await sock.receive(pkt)
                except engineio.exceptions.UnknownPacketError:
                    pass
                except engineio.exceptions.SocketIsClosedError:
                    break
                except Exception:  # as the stock handler: logged, and the connection stays
                    server.logger.exception("Unknown receive error")
        finally:
            queue.put_nowait(None)  # what is queued is written, then the websocket closed
            await queue.join()
            await sock.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)

    def write_now(self, message: dict[str, Any]) -> None:
        """Hand an ASGI ``websocket.send`` message to ``send``; if that has to wait, finish it
        in a task. The message is shared by every recipient of an emit (nothing mutates it)."""
        coro = self.asgi_send(message)
        try:
            waiting = coro.send(None)
        except StopIteration:
            return
        except Exception:  # the peer is gone; its reader notices and cleans up
            return
        task = asyncio.ensure_future(self._finish(coro, waiting))
        self.pending = task
        _finishing.add(task)
        task.add_done_callback(_finishing.discard)

    async def _finish(self, coro: Generator[Any, None, Any], waiting: Any) -> None:
        """Drive the suspended ``send`` to its end, as a task would have (``Task.__step``):
        wait for the future it yielded, taking it over as the task does (the blocking flag),
        then resume it, until it returns."""
        try:
            while True:
                try:
                    if waiting is None:  # a bare yield: give the loop one turn
                        await asyncio.sleep(0)
                    else:
                        waiting._asyncio_future_blocking = False
                        await waiting
                except BaseException as exc:
                    waiting = coro.throw(exc)
                else:
                    waiting = coro.send(None)
        except StopIteration:
            pass
        except Exception:  # the peer went away while we waited; its reader cleans up
            log.debug("a blocked websocket write ended in an error", exc_info=True)
        finally:
            self.pending = None


def close_transport(sock: Any) -> None:
    """The Engine.IO socket ``sock`` is closing: if ``FastWebSocket._serve`` serves it, close
    its websocket once what its ``close`` sends is written (python-engineio leaves the
    websocket open, for the client to close or for the stock reader's timeout)."""
    queue = getattr(sock, "queue", None)
    if type(queue) is DirectQueue:
        queue.close_soon()


class DirectQueue:
    """The Engine.IO socket's send queue, for a socket ``FastWebSocket._serve`` serves.

    It has what python-engineio, python-socketio and this package use of the socket's
    ``asyncio.Queue`` (``put``, ``put_nowait``, ``get_nowait``, ``qsize``, ``empty``,
    ``task_done``, ``join``), with the same meaning: packets leave in the order they are put,
    ``None`` means "write what is queued, then close the websocket", ``qsize`` counts what
    waits (``SocketServer._backlogged`` drops a reader past its bound). A packet put while
    nothing waits and no write is pending is written at once, after whatever the fast path
    has corked for the socket; otherwise it waits for a writer task, which lives only until
    the queue is empty."""

    __slots__ = ("_closed", "_items", "_writer", "_ws")

    def __init__(self, ws: FastWebSocket, queued: asyncio.Queue[Any]) -> None:
        self._ws = ws
        self._items: list[Any] = []  # rarely more than empty: a list is smaller than a deque
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        while not queued.empty():
            self.put_nowait(queued.get_nowait())

    def idle(self) -> bool:
        """Nothing waits to be written and no write is pending: a frame may go straight out."""
        return not self._items and self._writer is None and self._ws.pending is None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, pkt: Any) -> None:
        if self._closed:
            return  # the websocket is closed or closing: nothing more goes out
        if pkt is not None and self.idle():
            ws = self._ws
            if ws.frames is not None:
                ws.frames.uncork()  # what the fast path corked goes first
            ws.write_now(_message(pkt))
            return
        self._items.append(pkt)
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write())

    async def put(self, pkt: Any) -> None:
        self.put_nowait(pkt)

    def close_soon(self) -> None:
        """Close the websocket after what is put in this turn of the loop (the socket is
        closing: its ``close`` may still put an Engine.IO CLOSE packet)."""
        asyncio.get_running_loop().call_soon(self.put_nowait, None)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    def task_done(self) -> None:
        pass

    async def join(self) -> None:
        """Until everything put has been written (or the peer has gone)."""
        ws = self._ws
        while self._writer is not None or ws.pending is not None:
            await asyncio.wait([t for t in (self._writer, ws.pending) if t is not None])

    async def _write(self) -> None:
        ws = self._ws
        items = self._items
        try:
            while True:
                if ws.pending is not None:  # a direct write is still draining: it goes first
                    await asyncio.wait([ws.pending])
                    continue
                if not items:
                    break
                pkt = items.pop(0)
                if pkt is None:
                    self._closed = True
                    items.clear()
                    await ws.close()
                    break
                await ws.asgi_send(_message(pkt))
        except Exception:  # the peer is gone: as the stock writer, close and stop
            self._closed = True
            items.clear()
            await ws.close()
        finally:
            self._writer = None


class _NoBody:
    """A WebSocket handshake's ``wsgi.input``: it has no body."""

    async def read(self, length: int | None = None) -> bytes:
        return b""


_NO_BODY = _NoBody()


# The handshake's own headers: websockets has read them, and nothing after it does.
_HANDSHAKE_ONLY = frozenset(
    {"SEC-WEBSOCKET-KEY", "SEC-WEBSOCKET-VERSION", "SEC-WEBSOCKET-EXTENSIONS"}
)


async def translate_request(scope: dict[str, Any], receive: Any, send: Any) -> dict[str, Any]:
    """python-engineio's ASGI ``translate_request``, without its cost for a WebSocket.

    python-socketio keeps every connection's environ for as long as it is open, so what it
    holds is paid per connection. The stock function defines a class for the request body each
    time it runs (memory, and the time to build a class); a WebSocket handshake has no body,
    so it gets one shared ``wsgi.input``. It also copies constants nothing reads (the WSGI
    version and flags, server name and port, ``SCRIPT_NAME``, ``RAW_URI``) and the
    handshake's own ``Sec-WebSocket-Key``, ``-Version`` and ``-Extensions``; they are left
    out, which keeps the environ within a dict's smallest tables (with them, more
    per connection). What python-engineio, python-socketio and the app read is all there: the
    method, path, query string, remote address, URL scheme, the ASGI callables and scope, and
    every other header as ``HTTP_*`` (``Origin``, ``Cookie``, ``Host``, ``Upgrade``...).
    HTTP requests (the polling transport) take the stock function."""
    if scope["type"] != "websocket":
        return await _stock_translate(scope, receive, send)  # type: ignore[no-any-return]
    event = await receive()
    if event["type"] != "websocket.connect":
        return {}
    query_string = ""
    if scope.get("query_string"):
        with suppress(UnicodeDecodeError):
            query_string = scope["query_string"].decode("utf-8")
    environ: dict[str, Any] = {
        "wsgi.input": _NO_BODY,
        "REQUEST_METHOD": scope.get("method", "GET"),
        "PATH_INFO": scope["path"],
        "QUERY_STRING": query_string,
        "REMOTE_ADDR": "127.0.0.1",
        "asgi.receive": receive,
        "asgi.send": send,
        "asgi.scope": scope,
    }
    for raw_name, raw_value in scope["headers"]:
        try:
            name = raw_name.upper().decode("utf-8")
            value = raw_value.decode("utf-8")
        except UnicodeDecodeError:  # skipped, as the stock function does
            continue
        if name in _HANDSHAKE_ONLY:
            continue
        if name == "CONTENT-TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if name == "CONTENT-LENGTH":
            environ["CONTENT_LENGTH"] = value
            continue
        key = "HTTP_" + name.replace("-", "_")
        if key in environ:
            value = f"{environ[key]},{value}"
        environ[key] = value
    environ["wsgi.url_scheme"] = environ.get("HTTP_X_FORWARDED_PROTO", "http")
    return environ


_done = asyncio.Future.done


def _writer_idle(queue: Any) -> bool:
    """Nothing queued, and the socket's writer parked on ``get()``: it holds no packet (for a
    ``DirectQueue``: nothing waits and nothing is being written)."""
    if type(queue) is DirectQueue:
        return queue.idle()
    return not queue._queue and not all(map(_done, queue._getters))


class FastEmit(socketio.AsyncManager):  # type: ignore[misc]
    """python-socketio's ``AsyncManager`` with the delivery above. A pub/sub manager put before
    it in the bases (``RedisManager``) has its ``_handle_emit`` reach this ``emit``, so events
    published here and events heard from Redis take the same path: each Redis message is
    decoded once per instance (by the manager's listener), encoded and framed once, and
    written to each recipient."""

    server: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cork = Cork()
        # Deliveries by route, for /metrics: written by the emit itself, or through the queue.
        self.delivered = {"direct": 0, "queued": 0}

    def set_server(self, server: Any) -> None:
        """Called as python-socketio builds its server, once its Engine.IO server exists:
        the drivers are in place before the first connection. (``initialize``, the other
        hook, runs at the first connection, after its request was translated.)"""
        super().set_server(server)
        eio = server.eio
        # Per server, not the driver module's shared table: other servers keep the stock class.
        eio._async = {
            **eio._async,
            "websocket": FastWebSocket,
            "translate_request": translate_request,
        }

    @contextmanager
    def corked(self, defer: bool = False) -> Iterator[None]:
        """Frames the fast path takes inside are written per socket in one write, when the
        outermost scope ends, or with ``defer`` in the loop's next turn, with those of every
        other scope of the turn (``Cork``). Every emit opens one; ``SocketBroadcaster.publish``
        opens one around the events it is handed. A socket that has to take the queued route
        is uncorked first, so nothing overtakes its corked frames."""
        cork = self.cork
        cork.enter(defer)
        try:
            yield
        finally:
            cork.depth -= 1
            if not cork.depth:
                cork.release()

    async def emit_here(self, event: str, data: Any, namespace: str, room: Any) -> None:
        """Deliver to this instance's sockets in ``room`` only (never published to Redis)."""
        await FastEmit.emit(self, event, data, namespace, room=room)

    async def emit(
        self, event: str, data: Any, namespace: str, room: Any = None, **kwargs: Any
    ) -> None:
        """``AsyncManager.emit`` (same arguments), delivering as the module docstring says."""
        stock = super().emit
        room = kwargs.pop("to", None) or room
        skip_sid = kwargs.pop("skip_sid", None)
        if kwargs.get("callback") is not None or namespace not in getattr(self, "rooms", {}):
            await stock(event, data, namespace, room=room, skip_sid=skip_sid, **kwargs)
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        pkt = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *args])
        encoded = pkt.encode()
        if isinstance(encoded, list):  # binary attachments: the stock route
            await stock(event, data, namespace, room=room, skip_sid=skip_sid, **kwargs)
            return
        frame = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        text = frame.encode()
        message = {"type": "websocket.send", "bytes": None, "text": text}
        wire = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        sockets = self.server.eio.sockets
        timeout = self.server.eio.ping_timeout
        now = time.time()
        queued = []
        direct = 0
        with self.corked():
            for sid, eio_sid in list(self.get_participants(namespace, room)):
                if sid in skip:
                    continue
                sock = sockets.get(eio_sid)
                ws = getattr(sock, _ATTR, None)
                if (
                    ws is None
                    or ws.blocked
                    or not sock.upgraded
                    or sock.closing
                    or sock.closed
                    or (sock.last_ping and now - sock.last_ping > timeout)
                    or not _writer_idle(sock.queue)
                ):
                    if ws is not None and ws.frames is not None:
                        ws.frames.uncork()  # what it has corked goes before what it queues
                    queued.append(eio_sid)
                    continue
                if ws.frames is None or not ws.frames.write_frame(wire, self.cork):
                    ws.write_now(message)
                direct += 1
        self.delivered["direct"] += direct
        self.delivered["queued"] += len(queued)
        for eio_sid in queued:  # the stock route: the socket's queue, its checks, its writer
            await self.server._send_eio_packet(eio_sid, frame)
