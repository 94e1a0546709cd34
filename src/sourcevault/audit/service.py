"""The one path every mutation of a vault takes.

``vault_mutation`` opens a write transaction, locks the vault row (so the vault's writers are
serialized and ``seq`` is gapless in commit order), reads the caller's membership from the
database and checks the role. The body changes rows and calls ``Mutation.record`` once per
change. On a clean exit the body's rows are flushed, its events stamped and written to the log,
and the transaction commits; only then does the outbox go to the broadcaster. On any error it
rolls back and nothing is announced.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from sourcevault.audit.models import AuditEvent
from sourcevault.auth.principal import Principal
from sourcevault.context import Context
from sourcevault.db.base import iso, utcnow
from sourcevault.db.engine import write_session
from sourcevault.errors import NotFound
from sourcevault.realtime.broadcaster import Event, Notice, Outbox, deliver
from sourcevault.vaults.models import Membership, Vault
from sourcevault.vaults.roles import Role, require_role


@dataclass
class Mutation:
    session: AsyncSession
    vault: Vault
    actor: Principal
    role: Role
    outbox: Outbox = field(default_factory=Outbox)

    def record(
        self, type_: str, key: str, payload: dict[str, Any] | Callable[[], dict[str, Any]]
    ) -> Event:
        """Add one change, as the event that will be broadcast; it is stamped and written to the
        log when the body is done (``_log``).

        ``payload`` may be a callable, called after ``seq`` moves, for payloads that carry it.
        """
        self.vault.seq += 1
        event: Event = {
            "seq": self.vault.seq,
            "type": type_,
            "vaultId": self.vault.id,
            "actor": {"userId": self.actor.user_id, "userName": self.actor.name, "role": self.role},
            "at": None,  # stamped by _log
            key: payload() if callable(payload) else payload,
        }
        self.outbox.events.append(event)
        return event

    def notify(self, notice: Notice) -> None:
        self.outbox.notices.append(notice)


@asynccontextmanager
async def vault_mutation(
    ctx: Context, actor: Principal, vault_id: str, needed: Role
) -> AsyncIterator[Mutation]:
    async with ctx.writers.hold(vault_id):
        async with write_session(ctx.sessionmaker) as session:
            vault = await session.scalar(
                select(Vault).where(Vault.id == vault_id).with_for_update()
            )
            membership = None
            if vault is not None:
                membership = await session.get(Membership, (vault_id, actor.user_id))
            if vault is None or membership is None:
                raise NotFound("Vault not found")
            mutation = Mutation(session, vault, actor, require_role(membership.role, needed))
            yield mutation
            await _log(mutation)
        await deliver(ctx.broadcaster, mutation.outbox)


@asynccontextmanager
async def vault_entry(
    ctx: Context, actor: Principal, vault_id: str, role: Role
) -> AsyncIterator[Mutation]:
    """``vault_mutation`` for someone who need not be a member yet: a user accepting an invite.

    The same lock, transaction, log and hand-over after the commit; no membership is read or
    required (the body decides, under the vault's lock, whether the actor may enter), and the
    actor acts with ``role``, the role the change gives them."""
    async with ctx.writers.hold(vault_id):
        async with write_session(ctx.sessionmaker) as session:
            vault = await session.scalar(
                select(Vault).where(Vault.id == vault_id).with_for_update()
            )
            if vault is None:
                raise NotFound("Vault not found")
            mutation = Mutation(session, vault, actor, role)
            yield mutation
            await _log(mutation)
        await deliver(ctx.broadcaster, mutation.outbox)


_EVENTS = cast("Table", AuditEvent.__table__)


async def _log(m: Mutation) -> None:
    """Write the body's events to the log, the last thing before the commit: its own changes
    are flushed first, then the events are stamped with ``at`` and inserted. ``at`` is the
    moment the change is about to commit, and between it and the broadcast there is only that
    insert and the ``COMMIT`` (the ORM's flush of the body's rows, 0.6 ms at the median, came
    after it before)."""
    events = m.outbox.events
    if not events:
        return
    await m.session.flush()
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
    await m.session.execute(insert(_EVENTS), rows)


# ``seq`` is a 32-bit integer column; no event lies beyond it, and a larger ``after`` would
# not even bind on PostgreSQL (or, past 64 bits, on SQLite).
MAX_SEQ = 2**31 - 1


# The events of a vault after a seq, oldest first: built once, run by the REST listing and by
# a joining socket's catch-up. ``limit`` is one more than a page, to tell whether more exist.
_EVENTS_AFTER = (
    select(_EVENTS.c.data)
    .where(_EVENTS.c.vault_id == bindparam("vault_id"), _EVENTS.c.seq > bindparam("after"))
    .order_by(_EVENTS.c.seq)
    .limit(bindparam("limit", type_=Integer))
)


def _events_params(vault_id: str, after: int, limit: int) -> dict[str, Any]:
    return {"vault_id": vault_id, "after": min(after, MAX_SEQ), "limit": limit + 1}


def _page(rows: Sequence[Any], limit: int) -> tuple[list[Event], bool]:
    return [row[0] for row in rows[:limit]], len(rows) > limit


async def list_events(
    session: AsyncSession, vault_id: str, after: int, limit: int
) -> tuple[list[Event], bool]:
    rows = (await session.execute(_EVENTS_AFTER, _events_params(vault_id, after, limit))).all()
    return _page(rows, limit)


# A joining member's role and the vault's seq: built once, run at every vault:join.
_MEMBERSHIPS = Membership.__table__
_VAULTS = Vault.__table__
_ROLE_AND_SEQ = (
    select(_MEMBERSHIPS.c.role, _VAULTS.c.seq)
    .select_from(_MEMBERSHIPS.join(_VAULTS, _VAULTS.c.id == _MEMBERSHIPS.c.vault_id))
    .where(
        _MEMBERSHIPS.c.vault_id == bindparam("vault_id"),
        _MEMBERSHIPS.c.user_id == bindparam("user_id"),
    )
)


async def catch_up(
    ctx: Context, user_id: str, vault_id: str, after: int | None, limit: int
) -> tuple[Role, int, list[Event], bool]:
    """For a joining socket, from one snapshot: its role, the vault's ``seq``, and the events
    after ``after`` (none when ``after`` is None), at most ``limit``, and whether more exist.

    Run by ``ctx.lookups``: without ``after``, one statement; with it, the events are read in
    the same snapshot as the role and the seq."""
    params = {"vault_id": vault_id, "user_id": user_id}
    if after is None:
        return (*_role_and_seq(await ctx.lookups.first_row(_ROLE_AND_SEQ, params)), [], False)
    role_and_seq, rows = await ctx.lookups.snapshot(
        [(_ROLE_AND_SEQ, params), (_EVENTS_AFTER, _events_params(vault_id, after, limit))]
    )
    role, seq = _role_and_seq(role_and_seq[0] if role_and_seq else None)
    return (role, seq, *_page(rows, limit))


def _role_and_seq(row: Any) -> tuple[Role, int]:
    if row is None:
        raise NotFound("Vault not found")
    return Role(row[0]), int(row[1])
