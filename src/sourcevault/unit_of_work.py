"""The unit of work: the one path every mutation of a vault takes.

``vault_mutation`` opens a write transaction, locks the vault row (so the vault's writers are
serialized and ``seq`` is gapless in commit order), reads the caller's membership from the
database and checks the role. The body changes rows and calls ``Mutation.record`` once per
change. On a clean exit the body's rows are flushed, its events stamped and written to the
audit log, and the transaction commits; only then does the outbox go to the broadcaster. On
any error it rolls back and nothing is announced.

It lives at the top of the package, not in ``audit`` or ``db``, because it ties several
domains together (the vault's lock and membership, the role check, the audit log, the outbox)
and every service that changes a vault (``vaults``, ``sources``) goes through it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import cast, overload

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from sourcevault.audit.models import AuditEvent
from sourcevault.audit.ordering import Part
from sourcevault.auth.principal import Principal
from sourcevault.context import Context
from sourcevault.db.base import iso, utcnow
from sourcevault.db.engine import write_session
from sourcevault.errors import NotFound
from sourcevault.events import (
    Actor,
    Event,
    EventType,
    ImportEvent,
    ImportEventType,
    ImportPayload,
    MemberEvent,
    MemberEventType,
    MemberPayload,
    Notice,
    Outbox,
    SourceEvent,
    SourceEventType,
    SourcePayload,
    VaultEvent,
    VaultEventType,
    VaultPayload,
    deliver,
)
from sourcevault.vaults.models import Membership, Vault
from sourcevault.vaults.roles import Role, require_role

Payload = SourcePayload | VaultPayload | MemberPayload | ImportPayload


@dataclass
class Mutation:
    session: AsyncSession
    vault: Vault
    actor: Principal
    role: Role
    outbox: Outbox = field(default_factory=Outbox)

    @overload
    def record(
        self, type_: SourceEventType, payload: SourcePayload | Callable[[], SourcePayload]
    ) -> SourceEvent: ...

    @overload
    def record(
        self, type_: VaultEventType, payload: VaultPayload | Callable[[], VaultPayload]
    ) -> VaultEvent: ...

    @overload
    def record(
        self, type_: MemberEventType, payload: MemberPayload | Callable[[], MemberPayload]
    ) -> MemberEvent: ...

    @overload
    def record(
        self, type_: ImportEventType, payload: ImportPayload | Callable[[], ImportPayload]
    ) -> ImportEvent: ...

    def record(self, type_: EventType, payload: Payload | Callable[[], Payload]) -> Event:
        """Add one change, as the event that will be broadcast; it is stamped and written to the
        log when the body is done (``_log``).

        ``payload`` may be a callable, called after ``seq`` moves, for payloads that carry it.
        The new ``seq`` is written by ``_log`` in one statement, not by the ORM's flush (a
        creation would otherwise flush the vault for it alone).
        """
        set_committed_value(self.vault, "seq", self.vault.seq + 1)
        actor = Actor(userId=self.actor.user_id, userName=self.actor.name, role=self.role)
        body = payload() if callable(payload) else payload
        event = cast(
            "Event",
            {
                "seq": self.vault.seq,
                "type": type_.value,
                "vaultId": self.vault.id,
                "actor": actor,
                "at": "",  # stamped by _log
                type_.key: body,
            },
        )
        self.outbox.events.append(event)
        return event

    def notify(self, notice: Notice) -> None:
        """Add a notice, sent after the events once the transaction has committed."""
        self.outbox.notices.append(notice)


@asynccontextmanager
async def vault_mutation(
    ctx: Context, actor: Principal, vault_id: str, needed: Role
) -> AsyncIterator[Mutation]:
    """A write to one vault by ``actor``, who must hold at least the role ``needed``.

    Raises ``NotFound`` when the vault does not exist or the actor is not its member, and
    ``InsufficientPermissions`` when their role is too low, before the body runs."""

    async def member_role(session: AsyncSession, vault: Vault) -> Role:
        role = await session.scalar(_ROLE, {"vault_id": vault.id, "user_id": actor.user_id})
        if role is None:
            raise NotFound("Vault not found")
        return require_role(role, needed)

    async with _locked_write(ctx, actor, vault_id, member_role) as mutation:
        yield mutation


@asynccontextmanager
async def vault_entry(
    ctx: Context, actor: Principal, vault_id: str, role: Role
) -> AsyncIterator[Mutation]:
    """``vault_mutation`` for someone who need not be a member yet: a user accepting an invite.

    The same lock, transaction, log and hand-over after the commit; no membership is read or
    required (the body decides, under the vault's lock, whether the actor may enter), and the
    actor acts with ``role``, the role the change gives them."""

    async def given(_session: AsyncSession, _vault: Vault) -> Role:
        return role

    async with _locked_write(ctx, actor, vault_id, given) as mutation:
        yield mutation


# The statements of every mutation, built once (building one per call, and its cache key,
# cost more than SQLite takes to run it).
_VAULTS = cast("Table", Vault.__table__)
_LOCK = select(Vault).where(Vault.id == bindparam("vault_id")).with_for_update()
_ROLE = select(Membership.role).where(
    Membership.vault_id == bindparam("vault_id"), Membership.user_id == bindparam("user_id")
)
_SEQ = update(_VAULTS).where(_VAULTS.c.id == bindparam("vault_id")).values(seq=bindparam("to"))


# The most writers one transaction takes (the leader and those it hands it to); whoever waits
# beyond them leads the next.
GROUP = 16


@dataclass
class _Shared:
    """What a leader hands to the parts of its transaction."""

    session: AsyncSession
    vault: Vault
    outboxes: list[Outbox]  # each part's that stands, in commit order, the leader's first
    broken: bool = False  # a part could not undo its changes: the transaction must not commit


@asynccontextmanager
async def _locked_write(
    ctx: Context,
    actor: Principal,
    vault_id: str,
    role_of: Callable[[AsyncSession, Vault], Awaitable[Role]],
) -> AsyncIterator[Mutation]:
    """The vault's row locked in a write transaction, the actor's role decided by ``role_of``
    under that lock; the body's events logged before the commit and handed over after it.

    Writers of one vault queue in this process (``VaultWriters``). The first leads a
    transaction; once its own body is done, it hands that transaction to the writers waiting
    behind it, one at a time, each of which runs its body in a savepoint of its own (``_part``:
    one that fails undoes only its own changes, and announces nothing), then commits them all.
    Each writer learns of its success only after that commit, and every part's events are
    handed over after it, in commit order, by the leader. ``seq`` stays gapless in commit
    order, each event is logged in the transaction of its change, and nothing is announced
    before its commit; what changes is that one commit (and one delivery burst per socket)
    serves a group of writers."""
    part = await ctx.writers.enter(vault_id)
    if part is not None:
        async with _part(part, actor, role_of) as mutation:
            yield mutation
        return
    parts: list[Part] = []
    try:
        async with write_session(ctx.sessionmaker) as session:
            vault = await session.scalar(_LOCK, {"vault_id": vault_id})
            if vault is None:
                raise NotFound("Vault not found")
            mutation = Mutation(session, vault, actor, await role_of(session, vault))
            yield mutation
            await _log(mutation)
            shared = _Shared(session, vault, [mutation.outbox])
            while len(parts) < GROUP - 1 and not shared.broken:
                part = ctx.writers.next_part(vault_id, shared)
                if part is None:
                    break
                parts.append(part)
                await _ended(part)
            if shared.broken:
                raise RuntimeError("a part of the transaction could not be undone")
        ctx.metrics.write_commits.inc()
        ctx.metrics.writes_committed.inc(len(shared.outboxes))
        await _hand_over(ctx, shared.outboxes)
    except BaseException as exc:
        for part in parts:
            part.settle(exc)
        raise
    else:
        for part in parts:
            part.settle()
    finally:
        ctx.writers.leave(vault_id)


async def _hand_over(ctx: Context, outboxes: list[Outbox]) -> None:
    """The committed outboxes of a group, in commit order: their events in one hand-over (one
    write per socket for the group) unless one carries notices, which must go out between
    its own events and the next part's (a member removed is out of the room before the next
    change is announced)."""
    if len(outboxes) > 1 and not any(o.notices for o in outboxes):
        await deliver(ctx.broadcaster, Outbox(events=[e for o in outboxes for e in o.events]))
        return
    for outbox in outboxes:
        await deliver(ctx.broadcaster, outbox)


async def _ended(part: Part) -> None:
    """Wait for a part to end, even when the leader is cancelled meanwhile (its writer is
    using the transaction), then let the cancellation through."""
    cancelled = False
    while not part.done.done():
        try:
            await asyncio.shield(part.done)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


@asynccontextmanager
async def _part(
    part: Part, actor: Principal, role_of: Callable[[AsyncSession, Vault], Awaitable[Role]]
) -> AsyncIterator[Mutation]:
    """A writer's body inside the transaction a leader handed over, in a savepoint: on an
    error only its own changes are undone. It returns once the leader has committed."""
    shared: _Shared = part.shared
    session, vault = shared.session, shared.vault
    seq = vault.seq
    stands = False
    try:
        savepoint = await session.begin_nested()
        try:
            mutation = Mutation(session, vault, actor, await role_of(session, vault))
            yield mutation
            await _log(mutation)
            await savepoint.commit()
        except BaseException:
            try:
                await savepoint.rollback()
            except BaseException:
                shared.broken = True
                raise
            raise
        stands = True
    finally:
        if stands:
            shared.outboxes.append(mutation.outbox)
        else:
            set_committed_value(vault, "seq", seq)
        part.finish(stands)
    await part.committed


_EVENTS = cast("Table", AuditEvent.__table__)
_EVENT = insert(_EVENTS)


async def _log(m: Mutation) -> None:
    """Write the body's events to the log, the last thing before the commit: its own changes
    are flushed first, then the vault's new ``seq`` is written and the events are stamped with
    ``at`` and inserted, so ``at`` is the moment the change is about to commit."""
    events = m.outbox.events
    if not events:
        return
    await m.session.flush()
    await m.session.execute(_SEQ, {"vault_id": m.vault.id, "to": m.vault.seq})
    at = utcnow()
    stamp = iso(at)
    rows = []
    for event in events:
        event["at"] = stamp
        rows.append(
            {
                "vault_id": event["vaultId"],
                "seq": event["seq"],
                "type": event["type"],
                "actor_id": m.actor.user_id,
                "at": at,
                "data": event,
            }
        )
    await m.session.execute(_EVENT, rows[0] if len(rows) == 1 else rows)
