"""Import (a file's entries into a vault, as one mutation and one event) and export (a vault's
sources, read a page at a time).

An import reads the file and holds each entry to the contract's limits, off the event
loop's thread (a 10 MB BibTeX file is seconds of work), and sorts it: ``new``, ``duplicate``
(its URL is already in the vault, or earlier in the file) or ``invalid``, with the reason.
An entry over a limit is skipped as invalid, never cut to fit, so nothing is imported that
the user did not write. A dry run stops there and writes nothing. A real import inserts
every new entry in the one transaction of ``vault_mutation`` (the role check, the vault
lock, the gapless ``seq``, the audit row), and records one ``sources:imported`` event whose
``import`` is ``{count, format, sourceIds}``: the room gets one event, whatever the count.
The event names every new source, as the answer does (a 50,000-entry import's is about
1.7 MB); a rejoin's catch-up stops short of several such events (``audit.service``), and
clients read the vault's sources again on this event rather than one by one.
An import with nothing new changes nothing and announces nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from pydantic import ValidationError
from sqlalchemy import Table, and_, bindparam, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sourcevault.auth.principal import Principal
from sourcevault.context import Context
from sourcevault.db.base import UTCDateTime, iso, utcnow
from sourcevault.db.engine import read_session
from sourcevault.errors import ValidationFailed
from sourcevault.events import EventType, ImportPayload
from sourcevault.search import index as search_index
from sourcevault.sources.models import Source
from sourcevault.sources.schemas import SourceCreate
from sourcevault.sources.service import source_out
from sourcevault.transfer.readers import Entry, ImportFormat, read
from sourcevault.transfer.writers import WRITERS, ExportFormat
from sourcevault.unit_of_work import vault_mutation
from sourcevault.vaults.access import role_in
from sourcevault.vaults.models import Vault
from sourcevault.vaults.roles import Role, require_role

EXPORT_PAGE = 500
_INSERT_BATCH = 1000
_SOURCES = cast("Table", Source.__table__)

Status = Literal["new", "duplicate", "invalid"]


@dataclass
class Planned:
    index: int
    title: str | None
    url: str | None
    status: Status
    reason: str | None
    source: SourceCreate | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "title": self.title,
            "url": self.url,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass
class ImportResult:
    format: ImportFormat
    dry_run: bool
    entries: list[Planned]
    source_ids: list[str]

    @property
    def count(self) -> int:
        return sum(1 for e in self.entries if e.status == "new")

    def wire(self) -> dict[str, Any]:
        return {
            "import": {"count": self.count, "format": self.format, "sourceIds": self.source_ids},
            "dryRun": self.dry_run,
            "entries": [e.wire() for e in self.entries],
        }


def decode(body: bytes) -> str:
    """The file as text: UTF-8, a leading byte-order mark dropped. An empty body is refused:
    it is a file that did not arrive, not a file of no entries."""
    if not body:
        raise ValidationFailed([{"field": "body", "message": "No file: the body is empty"}])
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"The file is not UTF-8 text (byte {exc.start})"
        raise ValidationFailed([{"field": "body", "message": message}], message) from None
    if "\x00" in text:
        message = "The file holds a NUL character"
        raise ValidationFailed([{"field": "body", "message": message}], message)
    return text


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _check(index: int, entry: Entry) -> Planned:
    """Hold one entry to the contract's limits (those of ``POST .../sources``)."""
    title, url = _text(entry.title), _text(entry.url)
    if entry.problem is not None:
        return Planned(index, title, url, "invalid", entry.problem)
    tags = entry.tags
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        tags = list(dict.fromkeys(t.strip() for t in tags))  # a tag given twice is one tag
    fields = {"title": entry.title, "url": entry.url, "annotation": entry.annotation, "tags": tags}
    try:
        source = SourceCreate.model_validate(fields)
    except ValidationError as exc:
        error = ValidationFailed.from_pydantic(exc.errors())
        return Planned(index, title, url, "invalid", error.message)
    return Planned(index, source.title, source.url, "new", None, source)


def check(entries: list[Entry]) -> list[Planned]:
    """Each entry held to the contract's limits: ``new`` or ``invalid``."""
    return [_check(i, entry) for i, entry in enumerate(entries)]


def mark_duplicates(planned: list[Planned], existing: set[str]) -> list[Planned]:
    """A valid entry whose URL is in ``existing`` (the vault's) or earlier in the file is a
    duplicate; the first of a file's repeats is not. Entries without a URL never are."""
    first_at: dict[str, int] = {}
    for p in planned:
        if p.status != "new" or p.url is None:
            continue
        if p.url in existing:
            p.status, p.reason, p.source = "duplicate", "The URL is already in the vault", None
        elif p.url in first_at:
            reason = f"The URL is already in this file, at entry {first_at[p.url]}"
            p.status, p.reason, p.source = "duplicate", reason, None
        else:
            first_at[p.url] = p.index
    return planned


async def _urls_in(session: AsyncSession, vault_id: str, urls: set[str]) -> set[str]:
    """Which of ``urls`` the vault already holds: one pass over the vault's URLs (no index
    holds them, so a pass per batch of the file's URLs would read the vault many times)."""
    if not urls:
        return set()
    held = await session.scalars(
        select(Source.url).where(Source.vault_id == vault_id, Source.url.is_not(None))
    )
    return urls.intersection(held)


def _urls(planned: list[Planned]) -> set[str]:
    return {p.url for p in planned if p.status == "new" and p.url is not None}


def _read_and_check(fmt: ImportFormat, body: bytes, max_entries: int) -> list[Planned]:
    entries = read(fmt, decode(body))
    if len(entries) > max_entries:
        message = f"The file holds {len(entries)} entries; an import takes at most {max_entries}"
        raise ValidationFailed([{"field": "body", "message": message}], message)
    return check(entries)


async def import_sources(
    ctx: Context,
    user: Principal,
    vault_id: str,
    fmt: ImportFormat,
    receive: Callable[[], Awaitable[bytes]],
    *,
    dry_run: bool,
) -> ImportResult:
    """``receive`` reads the file; it is called once the caller may import, so a viewer's or
    a stranger's file is refused before it is read."""
    async with read_session(ctx.sessionmaker) as session:
        require_role(await role_in(session, vault_id, user.user_id), Role.CONTRIBUTOR)
    body = await receive()
    # Parsing and checking are seconds of work for a large file: off the loop's thread, and
    # before the vault is locked.
    planned = await asyncio.to_thread(_read_and_check, fmt, body, ctx.settings.import_max_entries)
    urls = _urls(planned)
    if dry_run:
        async with read_session(ctx.sessionmaker) as session:
            require_role(await role_in(session, vault_id, user.user_id), Role.CONTRIBUTOR)
            existing = await _urls_in(session, vault_id, urls)
        return ImportResult(fmt, True, mark_duplicates(planned, existing), [])

    async with vault_mutation(ctx, user, vault_id, Role.CONTRIBUTOR) as m:
        mark_duplicates(planned, await _urls_in(m.session, vault_id, urls))
        rows = _rows(planned, vault_id, user)
        if (await m.session.connection()).dialect.name == "postgresql":
            await _insert_pg(m.session, rows, vault_id, user)
        else:
            for start in range(0, len(rows), _INSERT_BATCH):
                batch = rows[start : start + _INSERT_BATCH]
                await m.session.execute(insert(_SOURCES), batch)
                await search_index.index_new(m.session, batch)  # past the ORM's listeners
        ids = [row["id"] for row in rows]
        if ids:
            payload = ImportPayload(count=len(ids), format=fmt.value, sourceIds=ids)
            m.record(EventType.SOURCES_IMPORTED, payload)
    return ImportResult(fmt, False, planned, ids)


# The sources of an import on PostgreSQL, a chunk in one statement: each column bound once
# as an array (the tags as one JSON array, encoded in one call), the rest once per chunk.
# Row by row (``executemany``), the database ran one execution per row and SQLAlchemy
# processed every row's parameters; the JSON text each row's tags get is the same either way.
_PG_CHUNK = 5000
_PG_SOURCES = text(
    "INSERT INTO sources (id, vault_id, title, url, annotation, tags, version,"
    " created_by_id, created_by_name, created_at, updated_at)"
    " SELECT n.id, CAST(:vault_id AS text), n.title, n.url, n.annotation, n.tags, 1,"
    " CAST(:by_id AS text), CAST(:by_name AS text), CAST(:now AS timestamptz),"
    " CAST(:now AS timestamptz)"
    " FROM ROWS FROM (unnest(CAST(:ids AS text[])), unnest(CAST(:titles AS text[])),"
    " unnest(CAST(:urls AS text[])), unnest(CAST(:annotations AS text[])),"
    " json_array_elements(CAST(:tags AS json)))"
    " AS n(id, title, url, annotation, tags)"
).bindparams(bindparam("now", type_=UTCDateTime))


def _pg_chunk(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A chunk's parameters: its sources' arrays, and its index rows' (``pg_new``)."""
    sources = {
        "ids": [r["id"] for r in rows],
        "titles": [r["title"] for r in rows],
        "urls": [r["url"] for r in rows],
        "annotations": [r["annotation"] for r in rows],
        "tags": json.dumps([r["tags"] for r in rows]),
    }
    return sources, search_index.pg_new(rows)


async def _insert_pg(
    session: AsyncSession, rows: list[dict[str, Any]], vault_id: str, user: Principal
) -> None:
    """Insert ``rows`` (``_rows``) and their index rows, a chunk at a time, in the session's
    transaction. The next chunk's parameters (its words, above all) are made on another
    thread while the database writes this one: the two take turns otherwise."""
    if not rows:
        return
    shared = {
        "vault_id": vault_id,
        "by_id": user.user_id,
        "by_name": user.name,
        "now": rows[0]["created_at"],
    }
    chunks = [rows[start : start + _PG_CHUNK] for start in range(0, len(rows), _PG_CHUNK)]
    ahead = asyncio.ensure_future(asyncio.to_thread(_pg_chunk, chunks[0]))
    try:
        for n in range(len(chunks)):
            sources, documents = await ahead
            if n + 1 < len(chunks):
                ahead = asyncio.ensure_future(asyncio.to_thread(_pg_chunk, chunks[n + 1]))
            await session.execute(_PG_SOURCES, {**shared, **sources})
            await search_index.write_new(session, documents)
    finally:
        ahead.cancel()  # a failed insert leaves the next chunk's parameters unused


def _rows(planned: list[Planned], vault_id: str, user: Principal) -> list[dict[str, Any]]:
    """The new sources' rows. They share one creation time; their ids keep the file's order
    (the time's milliseconds, then the position, then random bits), so a listing, newest
    first, shows them as if they had been added one by one from the top of the file."""
    now = utcnow()
    ms = int(now.timestamp() * 1000)
    rows = []
    for n, p in enumerate(e for e in planned if e.source is not None):
        assert p.source is not None
        rows.append(
            {
                "id": f"{ms:012x}{n:06x}{os.urandom(7).hex()}",
                "vault_id": vault_id,
                "title": p.source.title,
                "url": p.source.url,
                "annotation": p.source.annotation,
                "tags": list(p.source.tags),
                "version": 1,
                "created_by_id": user.user_id,
                "created_by_name": user.name,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


# -- export ----------------------------------------------------------------------------------


async def export_meta(ctx: Context, user: Principal, vault_id: str) -> dict[str, Any]:
    """Check that the caller may read the vault (before the answer starts) and describe it."""
    async with read_session(ctx.sessionmaker) as session:
        await role_in(session, vault_id, user.user_id)
        vault = await session.get(Vault, vault_id)
    assert vault is not None  # role_in found a membership, and a membership has its vault
    return {
        "exportedAt": iso(utcnow()),
        "vault": {"id": vault.id, "name": vault.name, "description": vault.description},
    }


async def export_text(
    ctx: Context, vault_id: str, fmt: ExportFormat, meta: dict[str, Any]
) -> AsyncIterator[str]:
    """The export, a page of sources at a time, oldest first, all from one snapshot."""
    writer = WRITERS[fmt]
    yield writer.head(meta)
    first = True
    async with read_session(ctx.sessionmaker) as session:
        after: tuple[Any, str] | None = None
        while True:
            query = select(Source).where(Source.vault_id == vault_id)
            if after is not None:
                at, last_id = after
                query = query.where(
                    or_(Source.created_at > at, and_(Source.created_at == at, Source.id > last_id))
                )
            page = (
                await session.scalars(
                    query.order_by(Source.created_at, Source.id).limit(EXPORT_PAGE)
                )
            ).all()
            if not page:
                break
            yield writer.page([source_out(s).wire() for s in page], first)
            first = False
            after = (page[-1].created_at, page[-1].id)
            session.expunge_all()
            if len(page) < EXPORT_PAGE:
                break
    yield writer.tail
