"""Client managers with evictions that ride the same channel as events.

A ``vault:access-revoked`` notice makes every socket in the addressed room (``user:{id}``)
leave ``vault:{vaultId}``; a ``session:expired`` notice disconnects every socket in the
addressed room (``session:{id}``). Each instance applies them to its own sockets as the
notice passes through, so with Redis an eviction reaches sockets on every instance, and it
reaches them in order with the events around it: no event published after a removal can
slip through to the removed user.

This reaches under python-socketio's manager API (``AsyncManager.emit`` and
``AsyncPubSubManager._handle_emit``); it was written against python-socketio 5.18, which
``pyproject.toml`` pins, and tests/realtime/test_revocation.py covers it.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio

from sourcevault.realtime.fastpath import FastEmit
from sourcevault.realtime.redis_link import RedisLink

log = logging.getLogger(__name__)

ACCESS_REVOKED = "vault:access-revoked"
SESSION_EXPIRED = "session:expired"


class _Evictions:
    """Mixed into a python-socketio manager (which provides ``server`` and
    ``get_participants``)."""

    server: Any
    get_participants: Any

    async def _evict(self, event: str, data: Any, namespace: str | None, room: Any) -> None:
        if event not in (ACCESS_REVOKED, SESSION_EXPIRED) or not isinstance(room, str):
            return
        namespace = namespace or "/"
        sids = [sid for sid, _eio in self.get_participants(namespace, room)]
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
        await socketio.AsyncManager.emit(self, event, data, namespace, room=room)
        await self._evict(event, data, namespace, room)


class LocalManager(_Evictions, FastEmit, socketio.AsyncManager):  # type: ignore[misc]
    """One instance: rooms in this process."""

    async def emit(
        self, event: str, data: Any, namespace: str, room: Any = None, **kwargs: Any
    ) -> None:
        await super().emit(event, data, namespace, room=room, **kwargs)
        await self._evict(event, data, namespace, kwargs.get("to") or room)


class RedisManager(_Evictions, RedisLink):
    """Several instances: every emit goes through Redis, and each instance evicts its own."""

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        await super()._handle_emit(message)
        data = message.get("data")
        payload = data[0] if isinstance(data, list) and data else data
        await self._evict(
            message.get("event", ""), payload, message.get("namespace"), message.get("room")
        )
