"""The domain's events, and the port they leave through.

A committed mutation is announced as an ``Event`` (the audit row, CONTRACT.md's ``Event``) to
the room of its vault; a ``Notice`` tells every socket of one user or one session that its
access changed. The services build both, the unit of work hands them to a ``Broadcaster``
after the commit, and the transport implements that port (``sourcevault.realtime``). This
module imports nothing of the project, so every layer may use it.

    Event = {seq, type, vaultId, actor: {userId, userName, role}, at, source | vault | member}

The payload key of an event is the part of its type before the colon (``source:created``
carries ``source``). The payload types below are the wire shapes of ``SourceOut``,
``VaultOut`` and ``MemberOut``, serialized by alias (tests/test_events.py holds them equal);
a role is one of ``Role``'s values, as a string, the way it reads back from the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol, TypeAlias, TypedDict

log = logging.getLogger(__name__)


class EventType(StrEnum):
    """The kinds of committed change, named as on the wire: the contract's eight, and
    ``sources:imported``, one event for a whole import."""

    SOURCE_CREATED = "source:created"
    SOURCE_UPDATED = "source:updated"
    SOURCE_DELETED = "source:deleted"
    VAULT_UPDATED = "vault:updated"
    VAULT_DELETED = "vault:deleted"
    MEMBER_ADDED = "member:added"
    MEMBER_UPDATED = "member:updated"
    MEMBER_REMOVED = "member:removed"
    SOURCES_IMPORTED = "sources:imported"

    @property
    def key(self) -> PayloadKey:
        """The event's payload key: ``source``, ``vault``, ``member`` or ``import``."""
        return _KEYS[self.value.partition(":")[0]]


PayloadKey = Literal["source", "vault", "member", "import"]
_KEYS: dict[str, PayloadKey] = {
    "source": "source",
    "vault": "vault",
    "member": "member",
    "sources": "import",
}

SourceEventType: TypeAlias = Literal[
    EventType.SOURCE_CREATED, EventType.SOURCE_UPDATED, EventType.SOURCE_DELETED
]
VaultEventType: TypeAlias = Literal[EventType.VAULT_UPDATED, EventType.VAULT_DELETED]
MemberEventType: TypeAlias = Literal[
    EventType.MEMBER_ADDED, EventType.MEMBER_UPDATED, EventType.MEMBER_REMOVED
]
ImportEventType: TypeAlias = Literal[EventType.SOURCES_IMPORTED]


class Creator(TypedDict):
    userId: str
    userName: str


class SourcePayload(TypedDict):
    """A source as ``GET /api/sources/{id}`` shows it; on delete, its last state."""

    id: str
    vaultId: str
    title: str
    url: str | None
    annotation: str | None
    tags: list[str]
    version: int
    createdBy: Creator
    createdAt: str
    updatedAt: str


class VaultPayload(TypedDict):
    """The vault, with ``role`` the actor's and ``seq`` the event's."""

    id: str
    name: str
    description: str | None
    role: str
    seq: int
    createdAt: str
    updatedAt: str


class MemberPayload(TypedDict):
    """The member added, changed or removed."""

    userId: str
    name: str
    email: str
    role: str
    joinedAt: str


class ImportPayload(TypedDict):
    """What one import added: the clients read the sources themselves."""

    count: int
    format: str
    sourceIds: list[str]


class Actor(TypedDict):
    """Who made the change, and their role at the time."""

    userId: str
    userName: str
    role: str


class _Event(TypedDict):
    seq: int
    vaultId: str
    actor: Actor
    at: str


class SourceEvent(_Event):
    type: SourceEventType
    source: SourcePayload


class VaultEvent(_Event):
    type: VaultEventType
    vault: VaultPayload


class MemberEvent(_Event):
    type: MemberEventType
    member: MemberPayload


# "import" is a Python keyword, so this one is spelled out.
ImportEvent = TypedDict(
    "ImportEvent",
    {
        "seq": int,
        "vaultId": str,
        "actor": Actor,
        "at": str,
        "type": ImportEventType,
        "import": ImportPayload,
    },
)


Event: TypeAlias = SourceEvent | VaultEvent | MemberEvent | ImportEvent


# -- notices: to every socket of one user or one session --------------------------------------


class NoticeType(StrEnum):
    ROLE_CHANGED = "vault:role-changed"
    ACCESS_REVOKED = "vault:access-revoked"
    SESSION_EXPIRED = "session:expired"


class RoleChangedData(TypedDict):
    vaultId: str
    role: str


class AccessRevokedData(TypedDict):
    vaultId: str
    reason: Literal["removed", "vault_deleted"]


class SessionExpiredData(TypedDict):
    reason: Literal["expired", "logged_out"]


NoticeData: TypeAlias = RoleChangedData | AccessRevokedData | SessionExpiredData


def vault_room(vault_id: str) -> str:
    """Where a vault's events go: every socket that joined it."""
    return f"vault:{vault_id}"


def user_room(user_id: str) -> str:
    """Every socket of one user."""
    return f"user:{user_id}"


def session_room(session_id: str) -> str:
    """Every socket opened with one session."""
    return f"session:{session_id}"


@dataclass(frozen=True)
class Notice:
    """A message to every socket in ``room`` (``user:{id}`` or ``session:{id}``).

    The transport applies its consequence to those sockets: after ``vault:access-revoked``
    they leave the vault's room, after ``session:expired`` they are disconnected."""

    room: str
    name: NoticeType
    data: NoticeData


def role_changed(user_id: str, vault_id: str, role: str) -> Notice:
    return Notice(
        user_room(user_id), NoticeType.ROLE_CHANGED, RoleChangedData(vaultId=vault_id, role=role)
    )


def access_revoked(
    user_id: str, vault_id: str, reason: Literal["removed", "vault_deleted"]
) -> Notice:
    """Every socket of the user gets it and then leaves the vault's room."""
    data = AccessRevokedData(vaultId=vault_id, reason=reason)
    return Notice(user_room(user_id), NoticeType.ACCESS_REVOKED, data)


def session_expired(session_id: str, reason: Literal["expired", "logged_out"]) -> Notice:
    """Every socket of the session gets it and is then disconnected."""
    data = SessionExpiredData(reason=reason)
    return Notice(session_room(session_id), NoticeType.SESSION_EXPIRED, data)


# -- the port ----------------------------------------------------------------------------------


class Broadcaster(Protocol):
    """What the services hand committed changes to; the transport implements it."""

    async def publish(self, events: list[Event], notices: list[Notice]) -> None:
        """Deliver committed events (each to its vault's room), then the notices, in order."""


@dataclass
class Outbox:
    """What one transaction will announce once, and only once, it has committed."""

    events: list[Event] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


class NullBroadcaster:
    """Announces nothing: for a context with no sockets (the CLI, the demo seed)."""

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
