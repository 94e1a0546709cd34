"""Reading the event log: a page of a vault's events after a ``seq``, and a joining socket's
catch-up. The log is written by the unit of work (``sourcevault.unit_of_work``), one row per
committed change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from sourcevault.audit.models import AuditEvent
from sourcevault.context import Context
from sourcevault.errors import NotFound
from sourcevault.events import Event
from sourcevault.vaults.models import Membership, Vault
from sourcevault.vaults.roles import Role

_EVENTS = cast("Table", AuditEvent.__table__)


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


# What a joining socket's catch-up carries at most, as JSON; the events past it are left to
# REST (``hasMore``). A python-socketio client takes at most 4 MB in one message, and one
# large import's event (every new source's id) can be a few MB on its own.
MISSED_BYTES = 1024 * 1024


def _page(rows: Sequence[Any], limit: int) -> tuple[list[Event], bool]:
    return [row[0] for row in rows[:limit]], len(rows) > limit


def _within(events: list[Event], has_more: bool, budget: int) -> tuple[list[Event], bool]:
    """The first events whose JSON fits ``budget`` bytes (always the first one)."""
    for n, event in enumerate(events):
        budget -= len(json.dumps(event, separators=(",", ":")))
        if budget < 0 and n:
            return events[:n], True
    return events, has_more


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
    after ``after`` (none when ``after`` is None), at most ``limit`` and ``MISSED_BYTES``,
    and whether more exist.

    Run by ``ctx.lookups``: without ``after``, one statement; with it, the events are read in
    the same snapshot as the role and the seq."""
    params = {"vault_id": vault_id, "user_id": user_id}
    if after is None:
        return (*_role_and_seq(await ctx.lookups.first_row(_ROLE_AND_SEQ, params)), [], False)
    role_and_seq, rows = await ctx.lookups.snapshot(
        [(_ROLE_AND_SEQ, params), (_EVENTS_AFTER, _events_params(vault_id, after, limit))]
    )
    role, seq = _role_and_seq(role_and_seq[0] if role_and_seq else None)
    return (role, seq, *_within(*_page(rows, limit), MISSED_BYTES))


def _role_and_seq(row: Any) -> tuple[Role, int]:
    if row is None:
        raise NotFound("Vault not found")
    return Role(row[0]), int(row[1])
