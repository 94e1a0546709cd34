"""The transport's side of the domain's ``Broadcaster`` port (``sourcevault.events``).

The services hand committed events and notices to the port; ``SocketBroadcaster`` emits each
event to its vault's room and each notice to its user's or session's room. Addressing sockets
through rooms, never through a dict in one process, is what lets the same calls work across
instances once a Redis manager carries them.
"""

from __future__ import annotations

from sourcevault.events import Event, EventType, Notice, vault_room
from sourcevault.realtime.transport import Transport


class SocketBroadcaster:
    """Delivers to the sockets of the transport's Socket.IO server, through its broker."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.sio = transport.sio

    async def publish(self, events: list[Event], notices: list[Notice]) -> None:
        with self.transport.corked():  # one write per socket for all the events
            for event in events:
                await self.sio.emit(event["type"], event, room=vault_room(event["vaultId"]))
        for notice in notices:
            await self.sio.emit(notice.name, notice.data, room=notice.room)
        for event in events:
            if event["type"] == EventType.VAULT_DELETED:
                await self.sio.close_room(vault_room(event["vaultId"]))
