"""The Socket.IO and Engine.IO servers: python-socketio's and python-engineio's, with the guards
python-socketio leaves to the application and, in the fast transport, pings from one timer.

The reaches (listed in the package docstring, canary-tested): ``SocketServer`` overrides
python-socketio's ``_engineio_server_class``, ``_handle_eio_disconnect``,
``_handle_eio_message``, ``_handle_event``, ``_send_eio_packet`` and ``_send_packet``, and
reads ``reserved_events``; ``FastEngineServer`` intercepts python-engineio's
``start_background_task(AsyncSocket._send_ping)`` and sets the socket's ``last_ping``.
Written against python-socketio 5.18 and python-engineio 4.12-4.15.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import engineio
import orjson
import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from sourcevault.errors import ValidationFailed
from sourcevault.realtime.transport.fastpath import close_transport
from sourcevault.realtime.transport.timers import Timers

log = logging.getLogger(__name__)


class FastEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """python-engineio's server, pinging each socket from one timer instead of a task each.

    python-engineio starts a task per socket that sleeps out the ping interval, then sends a
    PING (``AsyncSocket._send_ping``), again after every PONG: a task, its coroutine and its
    sleep for every idle connection. Here each socket's next ping is a deadline on one
    ``Timers``, which does what the task does after its sleep. And a task left sleeping after
    its socket closed held the socket, and its queue, for up to a ping interval; the deadline is
    cancelled at disconnect. Written against python-engineio 4.12-4.15 (``schedule_ping``
    calls ``start_background_task(self._send_ping)``); the heartbeat tests show pings go out
    and a peer that stops answering them is dropped.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ping_timers = Timers(self._ping)

    def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        sock = getattr(target, "__self__", None)
        if getattr(target, "__name__", "") != "_send_ping" or sock is None:
            return super().start_background_task(target, *args, **kwargs)
        self.ping_timers.set(sock.sid, self.ping_interval)
        return None

    def _ping(self, sid: str) -> None:
        """``AsyncSocket._send_ping`` after its sleep (its ``send`` only queues the packet)."""
        sock = self.sockets.get(sid)
        if sock is not None and not sock.closing and not sock.closed:
            sock.last_ping = time.time()
            sock.queue.put_nowait(eio_packet.Packet(eio_packet.PING))

    def cancel_ping(self, sid: str) -> None:
        self.ping_timers.cancel(sid)


class _Json:
    """How ``FastPacket`` writes and reads JSON: orjson's ``dumps`` (the same compact JSON as
    ``json.dumps(data, separators=(",", ":"))``, its non-ASCII characters as UTF-8 rather than
    escaped), falling back to the standard library's for what orjson refuses (integers past 64
    bits, keys that are not strings); reading stays the standard library's, so what a client
    may send is unchanged."""

    @staticmethod
    def dumps(data: Any, **kwargs: Any) -> str:
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            return json.dumps(data, **kwargs)

    loads = staticmethod(json.loads)


class FastPacket(sio_packet.Packet):  # type: ignore[misc]
    """The fast transport's Socket.IO packet, given to python-socketio as its ``serializer``
    (its documented way to change how packets are encoded): JSON by ``_Json``, and the check
    for binary attachments, which python-socketio makes on every packet it builds (a join's
    ack carries the vault's whole presence), asks orjson first, and otherwise walks the data
    once, without a list per level."""

    json = _Json

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        try:  # what orjson writes holds no bytes (it refuses them): the usual answer, at once
            orjson.dumps(data)
            return False
        except TypeError:
            pass
        pending = [data]
        while pending:
            item = pending.pop()
            if isinstance(item, bytes | bytearray):
                return True
            if isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, dict):
                pending.extend(item.values())
        return False


class SocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """``AsyncServer`` with the guards python-socketio leaves to the application, kept in both
    transports (they are behaviour the contract and the README promise, not speed).

    * A message over ``max_payload`` is refused with an ack (or dropped if it wants none).
    * A client event named like a reserved one (``connect``) is ignored.
    * A socket whose Engine.IO send queue holds ``max_queued`` packets is a reader that
      stopped reading (python-engineio's queue is unbounded): it is dropped and its backlog
      freed, instead of growing the server's memory while the room carries on.

    With ``fast``, its packets are ``FastPacket``, its Engine.IO server is
    ``FastEngineServer`` and a closing socket's websocket is closed by the fast path
    (``close_transport``); without, python-socketio's and python-engineio's own.
    """

    def __init__(
        self, *args: Any, max_payload: int, max_queued: int, fast: bool = True, **kwargs: Any
    ) -> None:
        self.fast = fast  # read by _engineio_server_class, during the base class's __init__
        if fast:
            kwargs.setdefault("serializer", FastPacket)
        super().__init__(*args, **kwargs)
        self.max_payload = max_payload
        self.max_queued = max_queued
        self.dropped_slow = 0

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return FastEngineServer if self.fast else engineio.AsyncServer

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            if self.fast:
                self.eio.cancel_ping(eio_sid)
                sock = self.eio.sockets.get(eio_sid)
                if sock is not None:
                    close_transport(sock)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            if isinstance(data, str | bytes) and len(data) > self.max_payload:
                await self._refuse_oversize(eio_sid, data)
                return
            await super()._handle_eio_message(eio_sid, data)
        except Exception:  # a malformed packet is ignored; the connection stays
            log.debug("ignored a malformed packet from %s", eio_sid, exc_info=True)

    async def _handle_event(self, eio_sid: str, namespace: str, id: Any, data: Any) -> None:
        # A client EVENT named "connect" or "disconnect" would otherwise run the server's own
        # connection handlers (python-socketio dispatches it like any event).
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            return
        if data[0] in self.reserved_events:
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _refuse_oversize(self, eio_sid: str, data: Any) -> None:
        pkt = self.packet_class(encoded_packet=data)
        if pkt.packet_type == sio_packet.EVENT and pkt.id is not None:
            error = ValidationFailed(
                [{"field": "payload", "message": f"larger than {self.max_payload} bytes"}],
                "Payload too large",
            )
            ack = self.packet_class(
                sio_packet.ACK,
                namespace=pkt.namespace,
                id=pkt.id,
                data=[{"ok": False, "error": error.body()}],
            )
            await self._send_packet(eio_sid, ack)

    async def _send_eio_packet(self, eio_sid: str, eio_pkt: Any) -> None:
        if not self._backlogged(eio_sid):
            await super()._send_eio_packet(eio_sid, eio_pkt)

    async def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        if not self._backlogged(eio_sid):
            await super()._send_packet(eio_sid, pkt)

    def _backlogged(self, eio_sid: str) -> bool:
        sock = self.eio.sockets.get(eio_sid)
        if sock is None or sock.queue.qsize() < self.max_queued:
            return False
        if not sock.closing:
            self.dropped_slow += 1
            log.warning("dropping slow reader %s (%d packets queued)", eio_sid, sock.queue.qsize())
            task = asyncio.ensure_future(self._drop(eio_sid))
            _background.add(task)
            task.add_done_callback(_background.discard)
        return True

    async def _drop(self, eio_sid: str) -> None:
        sock = self.eio.sockets.get(eio_sid)
        if sock is None:
            return
        await sock.close(wait=False, abort=True, reason=self.reason.SERVER_DISCONNECT)
        self.eio.sockets.pop(eio_sid, None)
        while not sock.queue.empty():  # free the backlog now, not when the peer goes away
            sock.queue.get_nowait()
            sock.queue.task_done()
        sock.queue.put_nowait(None)  # lets the writer task end once its send returns


_background: set[asyncio.Future[Any]] = set()
