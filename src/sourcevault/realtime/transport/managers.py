"""Client managers with evictions that ride the same channel as events.

A ``vault:access-revoked`` notice makes every socket in the addressed room (``user:{id}``)
leave ``vault:{vaultId}``; a ``session:expired`` notice disconnects every socket in the
addressed room (``session:{id}``). Each instance applies them to its own sockets as the
notice passes through, so with Redis an eviction reaches sockets on every instance, and it
reaches them in order with the events around it: no event published after a removal can
slip through to the removed user.

The brokers: ``LocalManager`` (memory) and ``RedisManager`` (Redis pub/sub) deliver through
``FastEmit`` and keep each socket's rooms (``_RoomIndex``), so that a disconnect does not test
every room of the server; ``StockLocalManager`` and ``StockRedisManager`` are python-socketio's
managers with the evictions only (``SOURCEVAULT_TRANSPORT=stock``).

The reaches ``socketio-pubsub-handle-emit`` and ``socketio-rooms`` of the package docstring
are here; tests/realtime/test_revocation.py and test_leaks.py cover the behaviour.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from sourcevault.events import NoticeType
from sourcevault.realtime.transport.fastpath import FastEmit
from sourcevault.realtime.transport.redis_link import RedisLink

log = logging.getLogger(__name__)

ACCESS_REVOKED = NoticeType.ACCESS_REVOKED
SESSION_EXPIRED = NoticeType.SESSION_EXPIRED
ROLE_CHANGED = NoticeType.ROLE_CHANGED
_NOTICES = (ACCESS_REVOKED, SESSION_EXPIRED, ROLE_CHANGED)


# Awaited, on each instance, with a notice and the sockets of this instance it reached (after
# any eviction it carries): how the presence of those sockets learns of a revocation or a new
# role (``Transport.on_notice``). On one instance it is done before the request that made the
# change answers.
NoticeListener = Callable[[str, Any, list[str]], Awaitable[None]]


class _Evictions:
    """Mixed into a python-socketio manager (which provides ``server`` and
    ``get_participants``) and a delivery (which provides ``emit_here``)."""

    server: Any
    get_participants: Any
    emit_here: Any
    notice_listener: NoticeListener | None = None

    async def _evict(self, event: str, data: Any, namespace: str | None, room: Any) -> None:
        if event not in _NOTICES or not isinstance(room, str):
            return
        namespace = namespace or "/"
        sids = [sid for sid, _eio in self.get_participants(namespace, room)]
        if event != ROLE_CHANGED:
            await self._apply(event, data, namespace, room, sids)
        if self.notice_listener is not None and sids:
            try:
                await self.notice_listener(event, data, sids)
            except Exception:
                log.exception("the notice listener failed on %s", event)

    async def _apply(
        self, event: str, data: Any, namespace: str, room: str, sids: list[str]
    ) -> None:
        for sid in sids:
            try:
                if event == ACCESS_REVOKED:
                    await self.server.leave_room(sid, f"vault:{data['vaultId']}", namespace)
                else:
                    await self.server.disconnect(sid, namespace, ignore_queue=True)
            except Exception:  # one broken socket must not stop the others' eviction
                log.exception("eviction of %s from %s failed", sid, room)

    async def notify_local(self, event: str, data: Any, room: str, namespace: str = "/") -> None:
        """Emit to this instance's sockets in ``room`` only, and apply the eviction here."""
        await self.emit_here(event, data, namespace, room)
        await self._evict(event, data, namespace, room)


class _Room(dict[str, str]):
    """A room's sockets, sid -> Engine.IO sid, for every room but the namespace's own.

    python-socketio makes each room a ``bidict``, two dicts and an object, even with one
    socket in it, for the reverse lookup it does only in its ``None`` room (``get_sid``);
    every socket has three rooms of its own (its sid, ``user:{id}``, ``session:{id}``).
    python-socketio reads other rooms as a mapping and through ``_fwdm`` (its
    ``get_participants``), which this gives."""

    __slots__ = ()

    @property
    def _fwdm(self) -> dict[str, str]:
        return self


class _RoomIndex:
    """Each socket's rooms, kept beside python-socketio's rooms -> sockets table.

    python-socketio finds the rooms of a socket that disconnects (``basic_disconnect``, and
    ``get_rooms``) by testing every room of the namespace for it. Every socket has rooms of its
    own (its sid, ``user:{id}``, ``session:{id}``), so that is a cost per disconnect that grows
    with the number of sockets connected, and with many connected it dominates. Here a
    disconnect leaves exactly the rooms the socket is in; the rest of ``basic_disconnect`` is
    python-socketio 5.18's."""

    rooms: Any
    callbacks: Any
    pending_connect: Any
    pending_disconnect: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (namespace, sid) -> its rooms (a dict, to keep the order they were entered in)
        self.rooms_of: dict[tuple[str, str], dict[Any, None]] = {}

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        rooms = self.rooms.get(namespace)
        if (
            room is not None
            and rooms is not None
            and room not in rooms
            and (sid == room or room not in rooms.get(None, ()))  # else python-socketio refuses
        ):
            rooms[room] = _Room()
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        self.rooms_of.setdefault((namespace, sid), {})[room] = None

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        rooms = self.rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.pop(room, None)
            if not rooms:
                del self.rooms_of[(namespace, sid)]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        return [room for room in self.rooms_of.get((namespace, sid), ()) if room is not None]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        if namespace not in self.rooms:
            return
        for room in list(self.rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        self.rooms_of.pop((namespace, sid), None)
        if sid in self.callbacks:
            del self.callbacks[sid]
        pending = self.pending_connect.get(namespace)
        if pending is not None and sid in pending:
            pending.remove(sid)
            if not pending:
                del self.pending_connect[namespace]
        pending = self.pending_disconnect.get(namespace)
        if pending is not None and sid in pending:
            pending.remove(sid)
            if not pending:
                del self.pending_disconnect[namespace]


class _LocalEvictions(_Evictions):
    """One instance: each emit is applied here, eviction included."""

    async def emit(
        self, event: str, data: Any, namespace: str, room: Any = None, **kwargs: Any
    ) -> None:
        await super().emit(event, data, namespace, room=room, **kwargs)  # type: ignore[misc]
        await self._evict(event, data, namespace, kwargs.get("to") or room)


class _PubSubEvictions(_Evictions):
    """Several instances: every emit goes through Redis, and each instance evicts its own as
    the message passes through ``_handle_emit`` (its own emits included)."""

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        await super()._handle_emit(message)  # type: ignore[misc]
        data = message.get("data")
        payload = data[0] if isinstance(data, list) and data else data
        await self._evict(
            message.get("event", ""), payload, message.get("namespace"), message.get("room")
        )


class _StockDelivery:
    """python-socketio's own delivery: a task per recipient, through its Engine.IO queue."""

    async def emit_here(self, event: str, data: Any, namespace: str, room: Any) -> None:
        await socketio.AsyncManager.emit(self, event, data, namespace, room=room)


class LocalManager(_LocalEvictions, _RoomIndex, FastEmit):
    """One instance: rooms in this process, delivered by the fast path."""


class RedisManager(_PubSubEvictions, _RoomIndex, RedisLink, FastEmit):
    """Several instances over Redis, delivered by the fast path.

    ``FastEmit`` comes after the pub/sub manager in the method order, so what
    ``AsyncPubSubManager._handle_emit`` hands on (an emit of this instance's, or a message
    heard from Redis) is delivered to this instance's sockets as on one instance."""


class StockLocalManager(_LocalEvictions, _StockDelivery, socketio.AsyncManager):  # type: ignore[misc]
    """One instance, python-socketio's rooms and delivery (``SOURCEVAULT_TRANSPORT=stock``)."""


class StockRedisManager(_PubSubEvictions, _StockDelivery, RedisLink):
    """Several instances over Redis, python-socketio's rooms and delivery."""
