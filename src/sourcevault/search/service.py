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
import functools
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
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
from sourcevault.db.base import UTCDateTime, iso
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


def _tag_filter(dialect: str, tags: Any, tag: Any) -> ColumnElement[bool]:
    """``tags`` (a JSON list: the source's, or the index row's copy) holds ``tag`` (a tag, or
    a parameter: on PostgreSQL a list of the one tag, on SQLite the tag)."""
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


def _fts_tier(terms: list[text.Term], hit: tuple[str, ...], miss: tuple[str, ...]) -> str:
    """FTS5's query for one score: every term, a term in each field of ``hit`` and none in any
    field of ``miss`` (FTS5 sets the fields apart itself: AND, NOT and column filters)."""
    expression = f"({text.fts_match(terms)})"
    for field in hit:
        expression = f"({expression}) AND ({text.fts_field_match(terms, field)})"
    for field in miss:
        expression = f"({expression}) NOT ({text.fts_field_match(terms, field)})"
    return expression


# The place a search looks in: ("vault", its id) or ("user", whose vaults).
Place = tuple[Literal["vault", "user"], str]


@functools.cache
def _tier_query(dialect: str, score: int, kind: str, tags: int, resumed: bool) -> Select[Any]:
    """The statement of one score's sources (ids and times, newest first), built once per
    shape and reused with its parameters: built per request, the up to 15 statements of a
    page cost more of a search's CPU time in SQLAlchemy's construction and cache keys than
    the database took to answer them. Parameters: ``vault`` or ``user`` (``kind``), ``tag0``
    ... (``tags`` of them), ``n`` (the limit), ``at`` and ``sid`` when ``resumed`` (after the
    cursor), and on PostgreSQL ``every`` and ``some`` (the query, every term and any term),
    on SQLite ``match`` (``_fts_tier``).

    The sources hold every term, a term in each field of the score and none in the others.
    Each backend's index answers it without reading the sources of other scores, so a page
    of the best scores of a common word reads few index rows."""
    _score, hit, miss = TIERS[15 - score]
    docs: Any
    joined: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import TSQUERY  # not at start: see TsVector

        document = PG_DOCS.c.document
        every = cast(bindparam("every", type_=String), TSQUERY)
        some = cast(bindparam("some", type_=String), TSQUERY)

        def matches(vector: ColumnElement[Any], query: ColumnElement[Any]) -> ColumnElement[bool]:
            return vector.op("@@", return_type=Boolean)(query)

        def part(field: str) -> ColumnElement[Any]:
            # The field's words alone: one GIN index per field holds this very expression
            # (migration 3f6b2d8e1c47), so the weights need no check on the rows.
            weights: ColumnElement[Any] = literal_column(f"'{{{_LETTERS[field].lower()}}}'")
            return func.ts_filter(document, weights, type_=TsVector())

        docs, joined = PG_DOCS, PG_DOCS
        condition = and_(
            matches(document, every),
            *(matches(part(field), some) for field in hit),
            *(not_(matches(part(field), some)) for field in miss),
        )
    else:
        # The matches are made once, into a materialized CTE: as a plain IN subquery SQLite
        # ran them again for every source of the vault.
        table: ColumnElement[Any] = literal_column(FTS.name)
        found = select(FTS.c.rowid.label("id")).where(
            table.op("MATCH", return_type=Boolean)(bindparam("match", type_=String))
        )
        hits = found.cte("hits").prefix_with("MATERIALIZED")
        docs, joined = SQLITE_DOCS, hits.join(SQLITE_DOCS, SQLITE_DOCS.c.id == hits.c.id)
        condition = true()
    if kind == "vault":
        scope = docs.c.vault_id == bindparam("vault", type_=String)
    else:
        mine = select(Membership.vault_id).where(
            Membership.user_id == bindparam("user", type_=String)
        )
        scope = docs.c.vault_id.in_(mine)
    query = (
        select(docs.c.source_id, docs.c.created_at)
        .select_from(joined)
        .where(condition, scope)
        .where(*(_tag_filter(dialect, docs.c.tags, _tag_param(dialect, n)) for n in range(tags)))
    )
    if resumed:
        at, source_id = bindparam("at", type_=UTCDateTime), bindparam("sid", type_=String)
        query = query.where(
            or_(
                docs.c.created_at < at,
                and_(docs.c.created_at == at, docs.c.source_id < source_id),
            )
        )
    query = query.order_by(docs.c.created_at.desc(), docs.c.source_id.desc())
    return query.limit(bindparam("n", type_=Integer))


def _tag_param(dialect: str, n: int) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB  # not at start: see TsVector

        return bindparam(f"tag{n}", type_=JSONB)
    return bindparam(f"tag{n}", type_=String)


Scope = Callable[[Any], ColumnElement[bool]]


async def _page(
    session: AsyncSession,
    scope: Scope,
    q: str | None,
    tags: list[str],
    limit: int,
    cursor: str | None,
    place: Place,
    vaults: Select[Any] | None = None,
) -> tuple[list[SourceOut], str | None]:
    """``scope`` says which vaults, given a column holding a vault's id, and ``place`` says
    the same as parameters; ``vaults``, when it is more than one, selects their ids."""
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
    return await _ranked(session, dialect, terms, place, wanted, limit, cursor)


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
    place: Place,
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
    kind, who = place
    common: dict[str, Any] = {kind: who}
    for n, tag in enumerate(tags):
        common[f"tag{n}"] = [tag] if dialect == "postgresql" else tag
    if dialect == "postgresql":
        common["every"], common["some"] = text.tsquery(terms), text.ts_any_query(terms)
    found: list[tuple[str, datetime, int]] = []
    for score, hit, miss in TIERS:
        if score > first:
            continue
        resumed = after is not None and score == first
        query = _tier_query(dialect, score, kind, len(tags), resumed)
        params = {**common, "n": limit + 1 - len(found)}
        if dialect != "postgresql":
            params["match"] = _fts_tier(terms, hit, miss)
        if resumed and after is not None:
            params["at"], params["sid"] = after
        rows = await session.execute(query, params)
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
        session, lambda vault: vault == vault_id, q, tags, limit, cursor, ("vault", vault_id)
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
    scope: Scope = lambda vault: vault.in_(mine)  # noqa: E731
    return await _page(session, scope, q, tags, limit, cursor, ("user", user.user_id), mine)
