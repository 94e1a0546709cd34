"""The transport's side of the domain's ``Broadcaster`` port (``sourcevault.events``).

The services hand committed events and notices to the port; ``SocketBroadcaster`` emits each
event to its vault's room and each notice to its user's or session's room. Addressing sockets
through rooms, never through a dict in one process, is what lets the same calls work across
instances once a Redis manager carries them.
"""

from __future__ import annotations

import contextlib

import socketio

from sourcevault.events import Event, EventType, Notice, vault_room


class SocketBroadcaster:
    """Delivers to the sockets of a python-socketio server, through its client manager."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def publish(self, events: list[Event], notices: list[Notice]) -> None:
        # One write per socket for all the events (the fast path's cork; fastpath.py).
        corked = getattr(self.sio.manager, "corked", contextlib.nullcontext)
        with corked():
            for event in events:
                await self.sio.emit(event["type"], event, room=vault_room(event["vaultId"]))
        for notice in notices:
            await self.sio.emit(notice.name, notice.data, room=notice.room)
        for event in events:
            if event["type"] == EventType.VAULT_DELETED:
                await self.sio.close_room(vault_room(event["vaultId"]))
