"""What the services hand committed changes to. The services know only this interface.

An ``Event`` (the audit row) goes to the room ``vault:{id}``; a ``Notice`` goes to every socket
of one user or one session (rooms ``user:{id}`` and ``session:{id}``) and may make those sockets
leave a vault room or disconnect. Addressing sockets through rooms, never through a dict in one
process, is what lets the same calls work across instances once a Redis manager carries them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

Event = dict[str, Any]


def vault_room(vault_id: str) -> str:
    return f"vault:{vault_id}"


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def session_room(session_id: str) -> str:
    return f"session:{session_id}"


@dataclass(frozen=True)
class Notice:
    room: str
    name: str
    data: dict[str, Any]


def role_changed(user_id: str, vault_id: str, role: str) -> Notice:
    return Notice(user_room(user_id), "vault:role-changed", {"vaultId": vault_id, "role": role})


def access_revoked(user_id: str, vault_id: str, reason: str) -> Notice:
    """Every socket of the user gets it and then leaves the vault's room."""
    data = {"vaultId": vault_id, "reason": reason}
    return Notice(user_room(user_id), "vault:access-revoked", data)


def session_expired(session_id: str, reason: str) -> Notice:
    """Every socket of the session gets it and is then disconnected."""
    return Notice(session_room(session_id), "session:expired", {"reason": reason})


class Broadcaster(Protocol):
    async def publish(self, events: list[Event], notices: list[Notice]) -> None:
        """Deliver committed events (each to its vault's room), then the notices, in order."""


@dataclass
class Outbox:
    """What one transaction will announce once, and only once, it has committed."""

    events: list[Event] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


class NullBroadcaster:
    async def publish(self, events: list[Event], notices: list[Notice]) -> None:
        return None


async def deliver(broadcaster: Broadcaster, outbox: Outbox) -> None:
    """Hand a committed outbox over. A failure here must not fail the request: the change is
    committed and in the event log, where clients catch up by ``seq``."""
    if not outbox.events and not outbox.notices:
        return
    try:
        await broadcaster.publish(outbox.events, outbox.notices)
    except Exception:
        log.exception("broadcast failed after commit; clients will catch up from the event log")
