"""The search index, written in the same flush, so the same transaction, as each source.

SQLite: ``source_search`` maps each source to an integer row id, and the FTS5 table
``source_search_fts`` holds the source's words under that row id (FTS5 keys its rows by
integer; a source's id is a string). PostgreSQL: ``source_search`` holds each source's
``tsvector``, under a GIN index. Both also hold the source's vault and creation time (neither
ever changes) and its tags, so that a search ranks its matches from the index alone. Deleting
a source deletes its index rows through the foreign key (``ON DELETE CASCADE``; on SQLite a
trigger then deletes the FTS5 row), so a vault's deletion, which cascades to its sources,
empties its part of the index too.

Inserts and updates are written by mapper events on ``Source``: whatever writes a source
through the ORM (every service, the demo, the benchmark's world) writes its index row in the
same flush. An insert past the ORM calls ``index_inserted`` (a creation, one source) or
``index_new`` (in bulk) in its transaction; an import on PostgreSQL prepares its chunks with
``pg_new`` and writes them with ``write_new``, to prepare the next while one is written.
The tables are created by the migration, per backend; they are not in the models' metadata
because they differ between the two.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    cast,
    column,
    event,
    insert,
    select,
    table,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import UserDefinedType

from sourcevault.db.base import UTCDateTime
from sourcevault.search.text import FIELDS, fts_columns, tsvector

if TYPE_CHECKING:
    # Not at run time: ``sourcevault.sources`` imports this module to install the listeners.
    from sourcevault.sources.models import Source


class TsVector(UserDefinedType[str]):
    """PostgreSQL's ``tsvector``, for the column and the casts: SQLAlchemy's own (``TSVECTOR``)
    would import its whole PostgreSQL dialect into every server, SQLite ones included, at
    start."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "TSVECTOR"


class Jsonb(UserDefinedType[list[str]]):
    """PostgreSQL's ``jsonb``, for the index row's copy of the tags, for the same reason: the
    driver takes it as JSON text (a search's tag filter casts to the dialect's own ``JSONB``,
    imported when it runs)."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "JSONB"

    def bind_processor(self, dialect: Any) -> Any:
        def process(value: list[str] | None) -> str | None:
            return None if value is None else json.dumps(value)

        return process


SQLITE_DOCS = Table(
    "source_search",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("source_id", String(32), nullable=False, unique=True),
    Column("vault_id", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("tags", JSON, nullable=False),
)
FTS = table(
    "source_search_fts", column("rowid"), *(column(name) for name, _rank, _weight in FIELDS)
)

PG_DOCS = Table(
    "source_search",
    MetaData(),
    Column("source_id", String(32), primary_key=True),
    Column("document", TsVector(), nullable=False),
    Column("vault_id", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("tags", Jsonb(), nullable=False),
)


def _place(source: Source) -> dict[str, Any]:
    return {
        "vault_id": source.vault_id,
        "created_at": source.created_at,
        "tags": _tags(source),
    }


def _tags(source: Source) -> list[str]:
    return list(source.tags or [])


def _fields(source: Source) -> tuple[str, list[str], str | None, str | None]:
    return source.title, list(source.tags or []), source.url, source.annotation


# Built once: a statement built per source spent more of a creation's time in SQLAlchemy's
# statement construction and cache-key generation than in the database.
_PLACE: dict[str, Any] = {name: bindparam(name) for name in ("vault_id", "created_at", "tags")}
_SQLITE_DOC = insert(SQLITE_DOCS).values(source_id=bindparam("source_id"), **_PLACE)
_SQLITE_TAGS = (
    update(SQLITE_DOCS)
    .where(SQLITE_DOCS.c.source_id == bindparam("sid"))
    .values(tags=bindparam("tags"))
)
_FTS_ROW = insert(FTS).values(
    rowid=bindparam("row_id"), **{name: bindparam(name) for name, _rank, _weight in FIELDS}
)
_FTS_UPDATE = (
    update(FTS)
    .where(
        FTS.c.rowid
        == select(SQLITE_DOCS.c.id)
        .where(SQLITE_DOCS.c.source_id == bindparam("sid"))
        .scalar_subquery()
    )
    .values(**{name: bindparam(f"new_{name}") for name, _rank, _weight in FIELDS})
)
_PG_DOC = insert(PG_DOCS).values(
    source_id=bindparam("source_id"),
    document=cast(bindparam("doc", type_=String), TsVector()),
    **_PLACE,
)
_PG_UPDATE = (
    update(PG_DOCS)
    .where(PG_DOCS.c.source_id == bindparam("sid"))
    .values(document=cast(bindparam("doc", type_=String), TsVector()), tags=bindparam("tags"))
)


def _inserted(_mapper: Any, connection: Connection, source: Source) -> None:
    if connection.dialect.name == "postgresql":
        doc = tsvector(*_fields(source))
        connection.execute(_PG_DOC, {"source_id": source.id, "doc": doc, **_place(source)})
        return
    row = connection.execute(_SQLITE_DOC, {"source_id": source.id, **_place(source)})
    row_id = row.inserted_primary_key[0] if row.inserted_primary_key else None
    connection.execute(_FTS_ROW, {"row_id": row_id, **fts_columns(*_fields(source))})


def _updated(_mapper: Any, connection: Connection, source: Source) -> None:
    if connection.dialect.name == "postgresql":
        doc = tsvector(*_fields(source))
        connection.execute(_PG_UPDATE, {"sid": source.id, "doc": doc, "tags": _tags(source)})
        return
    connection.execute(_SQLITE_TAGS, {"sid": source.id, "tags": _tags(source)})
    columns = fts_columns(*_fields(source))
    connection.execute(
        _FTS_UPDATE, {"sid": source.id, **{f"new_{k}": v for k, v in columns.items()}}
    )


def index_inserted(connection: Connection, source: Source) -> None:
    """Index a source inserted past the ORM's flush, one at a time (a creation), on the
    connection of its transaction; what the flush's listener does for the ORM's."""
    _inserted(None, connection, source)


# An import's index rows on PostgreSQL, a chunk of them in one statement: each column bound
# once as an array (the tags as one JSON array of the sources' tag arrays, encoded in one
# call), so the database plans and runs one INSERT ... SELECT per chunk rather than one
# execution per row, and SQLAlchemy processes a handful of parameters rather than a row's
# each. The documents are ``tsvector`` literals, made by ``tsvector`` as a source's own are.
_PG_NEW = text(
    "INSERT INTO source_search (source_id, document, vault_id, created_at, tags)"
    " SELECT n.source_id, CAST(n.document AS tsvector), n.vault_id, n.created_at,"
    " CAST(n.tags AS jsonb)"
    " FROM ROWS FROM (unnest(CAST(:ids AS text[])), unnest(CAST(:documents AS text[])),"
    " unnest(CAST(:vault_ids AS text[])), unnest(CAST(:created_at AS timestamptz[])),"
    " json_array_elements(CAST(:tags AS json)))"
    " AS n(source_id, document, vault_id, created_at, tags)"
)


def pg_new(sources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The parameters of the statement ``write_new`` runs on PostgreSQL for ``sources`` (what
    ``index_new`` takes): pure work, safe to do on another thread while the database is busy
    with the previous chunk."""
    return {
        "ids": [s["id"] for s in sources],
        "documents": [
            tsvector(s["title"], list(s["tags"]), s["url"], s["annotation"]) for s in sources
        ],
        "vault_ids": [s["vault_id"] for s in sources],
        "created_at": [s["created_at"] for s in sources],
        "tags": json.dumps([list(s["tags"]) for s in sources]),
    }


async def write_new(session: AsyncSession, params: dict[str, Any]) -> None:
    """Insert the index rows ``pg_new`` prepared, in the session's transaction (PostgreSQL)."""
    await session.execute(_PG_NEW, params)


async def index_new(session: AsyncSession, sources: list[dict[str, Any]]) -> None:
    """Index sources inserted without the ORM, in the session's transaction: one dict per
    source with its ``id``, ``vault_id``, ``created_at``, ``title``, ``tags``, ``url`` and
    ``annotation``."""
    if not sources:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await write_new(session, await asyncio.to_thread(pg_new, sources))
        return
    fields = [(s["title"], list(s["tags"]), s["url"], s["annotation"]) for s in sources]
    columns = await asyncio.to_thread(lambda: [fts_columns(*f) for f in fields])
    ids = [s["id"] for s in sources]
    await session.execute(
        insert(SQLITE_DOCS),
        [
            {
                "source_id": s["id"],
                "vault_id": s["vault_id"],
                "created_at": s["created_at"],
                "tags": list(s["tags"]),
            }
            for s in sources
        ],
    )
    found = await session.execute(
        select(SQLITE_DOCS.c.source_id, SQLITE_DOCS.c.id).where(SQLITE_DOCS.c.source_id.in_(ids))
    )
    row_ids: dict[str, int] = {source_id: row_id for source_id, row_id in found}
    rows = [{"rowid": row_ids[i], **c} for i, c in zip(ids, columns, strict=True)]
    await session.execute(insert(FTS), rows)


def install(source: type[Source]) -> None:
    """Listen for sources being written (once; called by ``sourcevault.sources`` with its
    model, so that this module imports nothing of that package)."""
    if not event.contains(source, "after_insert", _inserted):
        event.listen(source, "after_insert", _inserted)
        event.listen(source, "after_update", _updated)
