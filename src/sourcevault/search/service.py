"""Searching sources: in one vault (``GET /api/vaults/{id}/sources?q=&tag=``) or in every
vault of the caller (``GET /api/search``).

Ranking. A source's score is the sum of the weights of the fields in which some term of the
query matches: title 8, tags 4, url 2, annotation 1 (so 1 to 15); ties go newest first, then
by id, as the plain listing orders. The score depends on the source and the query only, never
on the rest of the index, so it is the same on SQLite and PostgreSQL and does not move when
other sources are written.

Paging. The cursor of a ranked page is the last source's (score, createdAt, id), and the next
page starts strictly after it in that order, exactly as the plain listing's cursor does with
(createdAt, id): a page never repeats or skips a source that did not change in between. A
query without words (``q`` blank, or only punctuation) is no text filter: the listing is
newest first with the plain cursor. The two cursors are not interchangeable (422).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sourcevault.auth.principal import Principal
from sourcevault.db.base import iso
from sourcevault.errors import ValidationFailed
from sourcevault.search import text
from sourcevault.search.index import FTS, PG_DOCS, SQLITE_DOCS, TsVector
from sourcevault.sources.models import Source
from sourcevault.sources.schemas import SourceOut
from sourcevault.sources.service import decode_cursor, encode_cursor, source_out
from sourcevault.vaults.access import role_in
from sourcevault.vaults.models import Membership, Vault

MAX_TAGS = 20
MAX_TAG = 50


def clean_tags(tags: list[str]) -> list[str]:
    """The ``tag`` filters as tags are stored (trimmed), each checked like a source's tag."""
    if len(tags) > MAX_TAGS:
        raise _invalid("tag", f"At most {MAX_TAGS} tags")
    cleaned = []
    for tag in tags:
        tag = tag.strip()
        if not tag or len(tag) > MAX_TAG or "\x00" in tag:
            raise _invalid("tag", f"A tag is 1-{MAX_TAG} characters without NUL")
        cleaned.append(tag)
    return cleaned


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "message": message}], f"{field}: {message}")


def encode_ranked_cursor(score: int, created_at: datetime, source_id: str) -> str:
    raw = json.dumps([score, iso(created_at), source_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_ranked_cursor(cursor: str) -> tuple[int, datetime, str]:
    try:
        score, at, source_id = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        when = datetime.fromisoformat(at)
        if type(score) is not int or not 0 <= score <= 15:
            raise ValueError(cursor)
        if not isinstance(source_id, str) or len(source_id) > 64 or "\x00" in source_id:
            raise ValueError(cursor)
        if when.tzinfo is None:
            raise ValueError(cursor)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid("cursor", "Invalid cursor") from exc
    return score, when.astimezone(UTC), source_id


def _tag_filter(dialect: str, tags: Any, tag: str) -> ColumnElement[bool]:
    """``tags`` (a JSON list: the source's, or the index row's copy) holds ``tag``."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB  # not at start: see TsVector

        return cast(tags, JSONB).contains([tag])
    each = func.json_each(tags).table_valued("value")
    return exists(select(literal_column("1")).select_from(each).where(each.c.value == tag))


def _matching(
    dialect: str, terms: list[text.Term]
) -> tuple[Any, Any, ColumnElement[bool], ColumnElement[int]]:
    """(the index table, what to select from (the index, on SQLite joined to the matches),
    the condition that every term matches, the score). No source's row is read: the index
    row holds the source's vault and creation time."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import TSQUERY  # not at start: see TsVector

        document = PG_DOCS.c.document

        def matches(query: str) -> ColumnElement[bool]:
            return document.op("@@", return_type=Boolean)(cast(query, TSQUERY))

        score: ColumnElement[int] = sum(
            (
                case((matches(text.ts_field_query(terms, letter)), weight), else_=0)
                for _field, weight, letter in text.FIELDS
            ),
            start=literal_column("0"),
        )
        return PG_DOCS, PG_DOCS, matches(text.tsquery(terms)), score

    # Each FTS5 match is made once, into a materialized CTE: as a plain IN subquery SQLite ran
    # it again for every source of the vault (5 s for 20,000 sources; 30 ms so).
    def hits(name: str, query: str) -> Any:
        table: ColumnElement[Any] = literal_column(FTS.name)
        found = select(FTS.c.rowid.label("id")).where(table.op("MATCH", return_type=Boolean)(query))
        return found.cte(name).prefix_with("MATERIALIZED")

    row_id = SQLITE_DOCS.c.id
    fts_score: ColumnElement[int] = sum(
        (
            case(
                (
                    row_id.in_(select(hits(f"{field}_hits", text.fts_field_match(terms, field)))),
                    weight,
                ),
                else_=0,
            )
            for field, weight, _letter in text.FIELDS
        ),
        start=literal_column("0"),
    )
    every = hits("all_hits", text.fts_match(terms))
    joined = every.join(SQLITE_DOCS, SQLITE_DOCS.c.id == every.c.id)
    return SQLITE_DOCS, joined, true(), fts_score


# The scores, best first, each with the fields that hold a term of the query and those that
# hold none: a source scores ``score`` exactly when its fields are so. The weights are powers of
# two, so each score is one set of fields.
TIERS: tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...] = tuple(
    (
        score,
        tuple(field for field, weight, _letter in text.FIELDS if score & weight),
        tuple(field for field, weight, _letter in text.FIELDS if not score & weight),
    )
    for score in range(15, 0, -1)
)
_LETTERS = {field: letter for field, _weight, letter in text.FIELDS}


def _tier(
    dialect: str, terms: list[text.Term], hit: tuple[str, ...], miss: tuple[str, ...]
) -> tuple[Any, Any, ColumnElement[bool]]:
    """(the index table, what to select from (the index, on SQLite joined to the matches), the
    condition): the sources that hold every term, a term in each field of ``hit`` and none in
    any field of ``miss``. Each backend's index answers it without reading the sources of
    other scores, so a page of the best scores of a common word reads few index rows."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import TSQUERY  # not at start: see TsVector

        document = PG_DOCS.c.document

        def matches(vector: ColumnElement[Any], query: str) -> ColumnElement[bool]:
            return vector.op("@@", return_type=Boolean)(cast(query, TSQUERY))

        def part(field: str) -> ColumnElement[Any]:
            # The field's words alone: one GIN index per field holds this very expression
            # (migration 3f6b2d8e1c47), so the weights need no check on the rows.
            weights: ColumnElement[Any] = literal_column(f"'{{{_LETTERS[field].lower()}}}'")
            return func.ts_filter(document, weights, type_=TsVector())

        any_term = text.ts_any_query(terms)
        condition = and_(
            matches(document, text.tsquery(terms)),
            *(matches(part(field), any_term) for field in hit),
            *(not_(matches(part(field), any_term)) for field in miss),
        )
        return PG_DOCS, PG_DOCS, condition

    # FTS5 sets the fields apart itself (AND, NOT and column filters), from its own lists; the
    # matches are made once, into a materialized CTE: as a plain IN subquery SQLite ran them
    # again for every source of the vault.
    expression = f"({text.fts_match(terms)})"
    for field in hit:
        expression = f"({expression}) AND ({text.fts_field_match(terms, field)})"
    for field in miss:
        expression = f"({expression}) NOT ({text.fts_field_match(terms, field)})"
    table: ColumnElement[Any] = literal_column(FTS.name)
    found = select(FTS.c.rowid.label("id")).where(
        table.op("MATCH", return_type=Boolean)(expression)
    )
    hits = found.cte("hits").prefix_with("MATERIALIZED")
    return SQLITE_DOCS, hits.join(SQLITE_DOCS, SQLITE_DOCS.c.id == hits.c.id), true()


Scope = Callable[[Any], ColumnElement[bool]]


async def _page(
    session: AsyncSession,
    scope: Scope,
    q: str | None,
    tags: list[str],
    limit: int,
    cursor: str | None,
    vaults: Select[Any] | None = None,
) -> tuple[list[SourceOut], str | None]:
    """``scope`` says which vaults, given a column holding a vault's id; ``vaults``, when it
    is more than one, selects their ids (the same vaults)."""
    dialect = session.get_bind().dialect.name
    wanted = clean_tags(tags)
    terms = text.parse(q or "")
    if not terms:
        tag_filters = [_tag_filter(dialect, Source.tags, tag) for tag in wanted]
        if vaults is not None and dialect == "postgresql":
            return await _newest_each(session, vaults, tag_filters, limit, cursor)
        return await _newest(session, [scope(Source.vault_id), *tag_filters], limit, cursor)
    # A tag narrows the matches (and the scores' statements would each read past the
    # sources without it): ranked at once.
    if wanted or await _few_matches(session, dialect, terms):
        return await _ranked_at_once(session, dialect, terms, scope, wanted, limit, cursor)
    return await _ranked(session, dialect, terms, scope, wanted, limit, cursor)


# Up to this many sources holding the query (in any vault), a page is ranked over all of them in
# one statement; past it, one score at a time (``_ranked``), which reads the few sources of the
# best scores instead of every match, at the cost of a statement per score. Either gives the
# same page.
FEW_MATCHES = 2000


async def _few_matches(session: AsyncSession, dialect: str, terms: list[text.Term]) -> bool:
    """Whether at most ``FEW_MATCHES`` sources hold every term: counted from the index, and no
    further than that."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import TSQUERY  # not at start: see TsVector

        query = cast(text.tsquery(terms), TSQUERY)
        some: Select[Any] = select(literal_column("1")).where(
            PG_DOCS.c.document.op("@@", return_type=Boolean)(query)
        )
    else:
        table: ColumnElement[Any] = literal_column(FTS.name)
        some = (
            select(literal_column("1"))
            .select_from(FTS)
            .where(table.op("MATCH", return_type=Boolean)(text.fts_match(terms)))
        )
    counted = select(func.count()).select_from(some.limit(FEW_MATCHES + 1).subquery())
    return int(await session.scalar(counted) or 0) <= FEW_MATCHES


def _after(cursor: str | None) -> list[ColumnElement[bool]]:
    """The plain listing's cursor as a condition: strictly after it, newest first."""
    if not cursor:
        return []
    at, source_id = decode_cursor(cursor)
    return [or_(Source.created_at < at, and_(Source.created_at == at, Source.id < source_id))]


async def _newest(
    session: AsyncSession, conditions: list[ColumnElement[bool]], limit: int, cursor: str | None
) -> tuple[list[SourceOut], str | None]:
    query = select(Source).where(*conditions, *_after(cursor))
    order = (Source.created_at.desc(), Source.id.desc())
    rows = (await session.scalars(query.order_by(*order).limit(limit + 1))).all()
    return _newest_page(rows, limit)


async def _newest_each(
    session: AsyncSession,
    vaults: Select[Any],
    conditions: list[ColumnElement[bool]],
    limit: int,
    cursor: str | None,
) -> tuple[list[SourceOut], str | None]:
    """The same listing over several vaults, on PostgreSQL: each vault's newest sources are
    read from its end of ``ix_sources_vault_created`` (``LATERAL``), then merged. Asked of
    ``vault_id IN (...)``, PostgreSQL read and sorted every source of the caller's vaults
    (a parallel scan of the table, 40-150 ms for 100,000 sources) to keep the newest few."""
    mine = vaults.subquery("mine")
    each = (
        select(Source)
        .where(Source.vault_id == mine.c.vault_id, *conditions, *_after(cursor))
        .order_by(Source.created_at.desc(), Source.id.desc())
        .limit(limit + 1)
        .lateral("each")
    )
    newest = aliased(Source, each)
    query = (
        select(newest)
        .select_from(mine)
        .join(each, true())
        .order_by(newest.created_at.desc(), newest.id.desc())
        .limit(limit + 1)
    )
    rows = (await session.scalars(query)).all()
    return _newest_page(rows, limit)


def _newest_page(rows: Sequence[Source], limit: int) -> tuple[list[SourceOut], str | None]:
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]) if len(rows) > limit else None
    return [source_out(s) for s in page], next_cursor


async def _ranked_at_once(
    session: AsyncSession,
    dialect: str,
    terms: list[text.Term],
    scope: Scope,
    tags: list[str],
    limit: int,
    cursor: str | None,
) -> tuple[list[SourceOut], str | None]:
    """The page ranked in one statement over every match, on the index rows alone (vault,
    tags, time, id, score), and only its sources read: for a query of few matches, the
    cheapest way."""
    docs, joined, matched, score = _matching(dialect, terms)
    tag_filters = [_tag_filter(dialect, docs.c.tags, tag) for tag in tags]
    ranked = (
        select(docs.c.source_id, docs.c.created_at, score.label("score"))
        .select_from(joined)
        .where(matched, scope(docs.c.vault_id), *tag_filters)
    )
    if cursor:
        last, at, source_id = decode_ranked_cursor(cursor)
        ranked = ranked.where(
            or_(
                score < last,
                and_(
                    score == last,
                    or_(
                        docs.c.created_at < at,
                        and_(docs.c.created_at == at, docs.c.source_id < source_id),
                    ),
                ),
            )
        )
    key: tuple[Any, ...] = (
        literal_column("score").desc(),
        docs.c.created_at.desc(),
        docs.c.source_id.desc(),
    )
    page_rows = ranked.order_by(*key).limit(limit + 1).subquery("page")
    query = (
        select(Source, page_rows.c.score)
        .join(page_rows, page_rows.c.source_id == Source.id)
        .order_by(page_rows.c.score.desc(), Source.created_at.desc(), Source.id.desc())
    )
    rows = (await session.execute(query)).all()
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last_source, last_score = page[-1]
        next_cursor = encode_ranked_cursor(int(last_score), last_source.created_at, last_source.id)
    return [source_out(source) for source, _score in page], next_cursor


async def _ranked(
    session: AsyncSession,
    dialect: str,
    terms: list[text.Term],
    scope: Scope,
    tags: list[str],
    limit: int,
    cursor: str | None,
) -> tuple[list[SourceOut], str | None]:
    """The page is ranked on the index rows alone, one score at a time, best first, newest
    first within a score, until it is full: the sources of lower scores are never read (a
    common word's page reads the few hundred sources of its best scores, not the thousands
    that hold it somewhere). Only the page's sources are then read."""
    first, after = 15, None
    if cursor:
        first, at, source_id = decode_ranked_cursor(cursor)
        after = (at, source_id)
    found: list[tuple[str, datetime, int]] = []
    for score, hit, miss in TIERS:
        if score > first:
            continue
        docs, joined, matched = _tier(dialect, terms, hit, miss)
        query = (
            select(docs.c.source_id, docs.c.created_at)
            .select_from(joined)
            .where(matched, scope(docs.c.vault_id))
            .where(*(_tag_filter(dialect, docs.c.tags, tag) for tag in tags))
        )
        if after is not None and score == first:
            at, source_id = after
            query = query.where(
                or_(
                    docs.c.created_at < at,
                    and_(docs.c.created_at == at, docs.c.source_id < source_id),
                )
            )
        query = query.order_by(docs.c.created_at.desc(), docs.c.source_id.desc())
        rows = await session.execute(query.limit(limit + 1 - len(found)))
        found.extend((source_id, at, score) for source_id, at in rows)
        if len(found) > limit:
            break
    page = found[:limit]
    ids = [source_id for source_id, _at, _score in page]
    read = (await session.scalars(select(Source).where(Source.id.in_(ids)))).all() if ids else []
    sources: dict[str, Source] = {source.id: source for source in read}
    next_cursor = None
    if len(found) > limit:
        last_id, last_at, last_score = page[-1]
        next_cursor = encode_ranked_cursor(last_score, last_at, last_id)
    # One snapshot: every source of the page is there (``get_db``'s read transaction).
    return [source_out(sources[i]) for i in ids if i in sources], next_cursor


async def search_vault(
    session: AsyncSession,
    user: Principal,
    vault_id: str,
    q: str | None,
    tags: list[str],
    limit: int,
    cursor: str | None,
) -> tuple[list[SourceOut], int, str | None]:
    """A vault's sources matching ``q`` and every tag, best first, and the vault's ``seq``
    from the same snapshot."""
    await role_in(session, vault_id, user.user_id)
    seq = await session.scalar(select(Vault.seq).where(Vault.id == vault_id))
    sources, next_cursor = await _page(
        session, lambda vault: vault == vault_id, q, tags, limit, cursor
    )
    return sources, int(seq or 0), next_cursor


async def search_all(
    session: AsyncSession,
    user: Principal,
    q: str | None,
    tags: list[str],
    limit: int,
    cursor: str | None,
) -> tuple[list[SourceOut], str | None]:
    """The same, over every vault the caller is a member of, and no other."""
    mine = select(Membership.vault_id).where(Membership.user_id == user.user_id)
    return await _page(session, lambda vault: vault.in_(mine), q, tags, limit, cursor, mine)
