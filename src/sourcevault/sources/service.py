"""Sources: the reads, and the three mutations every edge (REST, socket, CLI) calls."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from sourcevault.auth.principal import Principal
from sourcevault.context import Context
from sourcevault.db.base import iso, new_id, utcnow
from sourcevault.errors import Conflict, NotFound, ValidationFailed
from sourcevault.events import EventType
from sourcevault.search.index import index_inserted
from sourcevault.sources.models import Source
from sourcevault.sources.schemas import Creator, SourceCreate, SourceOut, SourceUpdate
from sourcevault.unit_of_work import Mutation, vault_mutation
from sourcevault.vaults.access import role_in
from sourcevault.vaults.models import Membership, Vault
from sourcevault.vaults.roles import Role


def source_out(source: Source) -> SourceOut:
    return SourceOut(
        id=source.id,
        vault_id=source.vault_id,
        title=source.title,
        url=source.url,
        annotation=source.annotation,
        tags=list(source.tags),
        version=source.version,
        created_by=Creator(user_id=source.created_by_id, user_name=source.created_by_name),
        created_at=source.created_at,
        updated_at=source.updated_at,
    )


def encode_cursor(source: Source) -> str:
    raw = json.dumps([iso(source.created_at), source.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, source_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when = datetime.fromisoformat(at)
        # Only what encode_cursor makes: an aware time, and an id a database can compare.
        if not isinstance(source_id, str) or len(source_id) > 64 or "\x00" in source_id:
            raise ValueError(cursor)
        if when.tzinfo is None:
            raise ValueError(cursor)
        when = when.astimezone(UTC)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed([{"field": "cursor", "message": "Invalid cursor"}]) from exc
    return when, source_id


async def list_sources(
    session: AsyncSession, user: Principal, vault_id: str, limit: int, cursor: str | None
) -> tuple[list[SourceOut], int, str | None]:
    """A page, newest first, and the vault's ``seq`` from the same snapshot."""
    await role_in(session, vault_id, user.user_id)
    seq = await session.scalar(select(Vault.seq).where(Vault.id == vault_id))
    query = select(Source).where(Source.vault_id == vault_id)
    if cursor:
        at, source_id = decode_cursor(cursor)
        query = query.where(
            or_(Source.created_at < at, and_(Source.created_at == at, Source.id < source_id))
        )
    rows = (
        await session.scalars(
            query.order_by(Source.created_at.desc(), Source.id.desc()).limit(limit + 1)
        )
    ).all()
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]) if len(rows) > limit else None
    return [source_out(s) for s in page], int(seq or 0), next_cursor


def _member_of_its_vault(user: Principal) -> ColumnElement[bool]:
    """Joined to a source lookup, so that only sources in the caller's vaults are found: the
    membership check and the lookup are one statement, and a source in another vault and no
    source at all take the same work."""
    return and_(Membership.vault_id == Source.vault_id, Membership.user_id == user.user_id)


async def _vault_of(ctx: Context, user: Principal, source_id: str) -> str:
    """The vault of a source the caller can see (the mutation reads the role again, locked)."""
    async with ctx.sessionmaker() as session:
        vault_id = await session.scalar(
            select(Source.vault_id)
            .join(Membership, _member_of_its_vault(user))
            .where(Source.id == source_id)
        )
    if vault_id is None:
        raise NotFound("Source not found")
    return vault_id


async def get_source(session: AsyncSession, user: Principal, source_id: str) -> SourceOut:
    source = await session.scalar(
        select(Source).join(Membership, _member_of_its_vault(user)).where(Source.id == source_id)
    )
    if source is None:
        raise NotFound("Source not found")
    return source_out(source)


_SOURCES = cast("Table", Source.__table__)
_INSERT = insert(_SOURCES)


async def create_source(
    ctx: Context, user: Principal, vault_id: str, data: SourceCreate
) -> SourceOut:
    """The source's row and its search index row are inserted by one prepared statement each,
    not through the ORM's flush (a creation's largest cost when it was)."""
    async with vault_mutation(ctx, user, vault_id, Role.CONTRIBUTOR) as m:
        now = utcnow()
        row = {
            "id": new_id(),
            "vault_id": vault_id,
            "title": data.title,
            "url": data.url,
            "annotation": data.annotation,
            "tags": list(data.tags),
            "version": 1,
            "created_by_id": user.user_id,
            "created_by_name": user.name,
            "created_at": now,
            "updated_at": now,
        }
        source = Source(**row)  # not added to the session: it is written here

        def write(session: Session) -> None:
            connection = session.connection()
            connection.execute(_INSERT, row)
            index_inserted(connection, source)

        await m.session.run_sync(write)
        out = source_out(source)
        m.record(EventType.SOURCE_CREATED, out.payload())
    return out


@asynccontextmanager
async def _source_mutation(ctx: Context, user: Principal, vault_id: str) -> AsyncIterator[Mutation]:
    """A contributor's mutation of a source; a non-member learns only that it is not found."""
    try:
        async with vault_mutation(ctx, user, vault_id, Role.CONTRIBUTOR) as m:
            yield m
    except NotFound:
        raise NotFound("Source not found") from None


async def _locked_source(m: Mutation, source_id: str) -> Source:
    source = await m.session.get(Source, source_id)
    if source is None or source.vault_id != m.vault.id:
        raise NotFound("Source not found")  # deleted or moved while we waited for the lock
    return source


async def update_source(
    ctx: Context, user: Principal, source_id: str, data: SourceUpdate
) -> SourceOut:
    """Apply the named fields as one new version. With ``data.version`` (the version the
    editor started from) no longer the source's, refuse with CONFLICT carrying the current
    source: nothing is written and nothing is announced."""
    vault_id = await _vault_of(ctx, user, source_id)
    async with _source_mutation(ctx, user, vault_id) as m:
        source = await _locked_source(m, source_id)
        if data.version is not None and data.version != source.version:
            raise Conflict(
                "The source was changed by someone else since you started editing it",
                {"source": source_out(source).wire()},
            )
        changes = {k: getattr(data, k) for k in data.model_fields_set if k != "version"}
        if all(getattr(source, k) == v for k, v in changes.items()):
            return source_out(source)  # nothing changed: no new version, nothing to announce
        for key, value in changes.items():
            setattr(source, key, value)
        source.version += 1
        source.updated_at = utcnow()
        out = source_out(source)
        m.record(EventType.SOURCE_UPDATED, out.payload())
    return out


async def delete_source(ctx: Context, user: Principal, source_id: str) -> None:
    vault_id = await _vault_of(ctx, user, source_id)
    async with _source_mutation(ctx, user, vault_id) as m:
        source = await _locked_source(m, source_id)
        out = source_out(source)
        await m.session.delete(source)
        m.record(EventType.SOURCE_DELETED, out.payload())
