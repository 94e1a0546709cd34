"""Search properties over random inputs (hypothesis), against one live server per backend:

* over random corpora and queries (words, phrases, prefixes, tags), the pages of a vault's
  search hold exactly the sources a brute-force filter finds, in the documented order;
* over random memberships, ``/api/search`` returns exactly the sources of the vaults the
  caller is a member of, never one of another vault;
* any query string at all is answered 200 with sources of the caller's vault only.

The brute force below is the README's definition of a match, written out plainly: a term
matches a field value when its words occur there one after another (the last one as a prefix
when the term ends in ``*``); every term must match; the score adds title 8, tags 4, url 2,
annotation 1 for each field some term matches in.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sourcevault.auth.principal import Principal
from sourcevault.db.base import utcnow
from sourcevault.search import service as search_service
from sourcevault.sources import service as sources
from sourcevault.sources.schemas import SourceCreate
from sourcevault.vaults import service as vaults
from sourcevault.vaults.roles import Role
from sourcevault.vaults.schemas import MemberAdd, VaultCreate
from tests import factories, services
from tests.conftest import BACKENDS, _truncate, make_settings
from tests.live import LiveServer, live_server
from tests.realtime.loop_thread import LoopThread

# -- the definition of a match, written out plainly --------------------------------------------


def plain_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    kept = "".join(c for c in folded if unicodedata.combining(c) == 0)

    def in_word(c: str) -> bool:
        return c.isalnum() or unicodedata.category(c)[0] == "M"

    return ["".join(run) for inside, run in itertools.groupby(kept, in_word) if inside]


@dataclass(frozen=True)
class PlainTerm:
    words: list[str]
    prefix: bool

    def in_value(self, value: str) -> bool:
        have, want = plain_words(value), self.words
        for start in range(len(have) - len(want) + 1):
            window = have[start : start + len(want)]
            if window[:-1] != want[:-1]:
                continue
            last = window[-1]
            if last == want[-1] or (self.prefix and last.startswith(want[-1])):
                return True
        return False


def field_values(source: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "title": [source["title"]],
        "tags": list(source["tags"]),
        "url": [source["url"] or ""],
        "annotation": [source["annotation"] or ""],
    }


WEIGHTS = {"title": 8, "tags": 4, "url": 2, "annotation": 1}


def expected(
    corpus: list[dict[str, Any]], terms: list[PlainTerm], tags: list[str]
) -> list[dict[str, Any]]:
    found = []
    for source in corpus:
        if not all(tag in source["tags"] for tag in tags):
            continue
        values = field_values(source)
        if not all(any(t.in_value(v) for vs in values.values() for v in vs) for t in terms):
            continue
        score = sum(
            weight
            for field, weight in WEIGHTS.items()
            if any(t.in_value(v) for t in terms for v in values[field])
        )
        found.append((score if terms else 0, source["createdAt"], source["id"], source))
    return [s for *_key, s in sorted(found, key=lambda f: f[:3], reverse=True)]


# -- one live server per backend, kept up across examples ---------------------------------------


@dataclass
class World:
    loop: LoopThread
    server: LiveServer
    http: httpx.AsyncClient
    owner: factories.Member

    def principal(self, m: factories.Member) -> Principal:
        return Principal(m.id, m.name, m.email, "property", utcnow())


@pytest.fixture(scope="module", params=["ranked at once", "ranked a score at a time"])
def ranking(request: pytest.FixtureRequest) -> Iterator[str]:
    """Both ways a page is ranked give the brute force's pages: over every match in one
    statement (a query of few matches), or one score at a time (a query of many), whatever
    the size of the corpus."""
    kept = search_service.FEW_MATCHES
    search_service.FEW_MATCHES = 10**9 if request.param == "ranked at once" else -1
    try:
        yield request.param
    finally:
        search_service.FEW_MATCHES = kept


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    pg_database: str | None,
) -> Iterator[World]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("search") / "sourcevault.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        if pg_database is None:
            services.missing("PostgreSQL on 127.0.0.1:5432")
        assert pg_database is not None
        url = services.pg_url(pg_database)
    loop = LoopThread()
    stack = contextlib.AsyncExitStack()

    async def up() -> World:
        if pg_database is not None and request.param == "postgres":
            await _truncate(pg_database)
        server = await stack.enter_async_context(live_server(make_settings(url)))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=server.url))
        owner = await factories.member(server, http, "Owner")
        stack.push_async_callback(owner.http.aclose)
        return World(loop, server, http, owner)

    made = loop.run(up())
    try:
        yield made
    finally:
        loop.run(stack.aclose())
        loop.close()


async def pages(who: factories.Member, path: str, params: dict[str, Any], limit: int) -> list[Any]:
    """Every page, following ``nextCursor``; each source once."""
    got: list[Any] = []
    cursor = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await who.http.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["sources"]) <= limit
        got.extend(body["sources"])
        cursor = body["nextCursor"]
        if cursor is None:
            return got


# -- random corpora against the brute force -----------------------------------------------------

# Few words, so that sources share them and phrases often meet a field's or a tag's edge.
VOCAB = [
    "alpha",
    "Beta",
    "délta",
    "DELTA",
    "net",
    "Networks",
    "42",
    "Straße",
    "strasse",
    "ﬁsh",
    "İz",
    "हिंदी",
]
SEPARATORS = [" ", "  ", "-", ".", ", ", "_", "/", "!", "'", "*", "&", "\n"]

word = st.sampled_from(VOCAB)
text = st.lists(st.tuples(word, st.sampled_from(SEPARATORS)), min_size=1, max_size=6).map(
    lambda parts: "".join(w + s for w, s in parts)
)
tag = st.lists(word, min_size=1, max_size=2).map(" ".join)
source_fields = st.fixed_dictionaries(
    {
        "title": text,
        "tags": st.lists(tag, max_size=3, unique=True),
        "url": st.none() | st.lists(word, max_size=3).map(lambda p: "https://x.org/" + "/".join(p)),
        "annotation": st.none() | text,
    }
)


@st.composite
def query_terms(draw: st.DrawFn) -> tuple[str, list[PlainTerm]]:
    """A query string, and what it means written as plain terms."""
    parts, terms = [], []
    for _ in range(draw(st.integers(0, 3))):
        raw = draw(st.lists(word, min_size=1, max_size=2))
        prefix = draw(st.booleans())
        if prefix:
            cut = draw(st.integers(1, len(raw[-1])))
            raw = [*raw[:-1], raw[-1][:cut]]
        form = draw(st.sampled_from(["quoted", "dotted"]))
        chunk = f'"{" ".join(raw)}"' if form == "quoted" else ".".join(raw)
        parts.append(chunk + ("*" if prefix else ""))
        plain = [w for r in raw for w in plain_words(r)]
        if plain:
            terms.append(PlainTerm(plain, prefix))
        parts.append(draw(st.sampled_from([" ", "  ", " & ", " ( ", " | ", " , "])))
    return "".join(parts), terms


async def corpus_against_brute_force(
    world: World,
    corpus: list[dict[str, Any]],
    queries: list[tuple[tuple[str, list[PlainTerm]], list[int], int]],
) -> None:
    ctx, owner = world.server.ctx, world.principal(world.owner)
    vault = await vaults.create_vault(ctx, owner, VaultCreate(name="corpus"))
    made = [
        (await sources.create_source(ctx, owner, vault.id, SourceCreate(**fields))).wire()
        for fields in corpus
    ]
    all_tags = sorted({t for s in made for t in s["tags"]})
    path = f"/api/vaults/{vault.id}/sources"
    for (q, terms), tag_picks, limit in queries:
        tags = sorted({all_tags[i % len(all_tags)] for i in tag_picks}) if all_tags else []
        params: dict[str, Any] = {"q": q, "tag": tags}
        got = await pages(world.owner, path, params, limit)
        want = expected(made, terms, tags)
        assert [s["id"] for s in got] == [s["id"] for s in want], (q, terms, tags)
        assert got == want


# Phrases that would reach across a field's edge and across two tags: never a match.
EDGES = (
    [{"title": "alpha", "tags": ["Beta net", "42"], "url": None, "annotation": "fish 42"}],
    [
        (('"alpha beta"', [PlainTerm(["alpha", "beta"], False)]), [], 2),
        (("net.42", [PlainTerm(["net", "42"], False)]), [], 2),
        (('"42 fi"*', [PlainTerm(["42", "fi"], True)]), [], 2),
    ],
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(corpus=EDGES[0], queries=EDGES[1])
@given(
    corpus=st.lists(source_fields, min_size=1, max_size=8),
    queries=st.lists(
        st.tuples(query_terms(), st.lists(st.integers(0, 50), max_size=2), st.integers(1, 4)),
        min_size=1,
        max_size=4,
    ),
)
def test_search_finds_what_a_brute_force_filter_finds_in_rank_order(
    ranking: str,
    world: World,
    corpus: list[dict[str, Any]],
    queries: list[tuple[tuple[str, list[PlainTerm]], list[int], int]],
) -> None:
    world.loop.run(corpus_against_brute_force(world, corpus, queries))


# -- random memberships: /api/search stays inside the caller's vaults ---------------------------

SEARCHERS = 3
VAULTS = 3


async def only_own_vaults(
    world: World,
    plan: list[list[str | None]],
    removals: list[tuple[int, int]],
    per_vault: list[int],
) -> None:
    ctx, owner = world.server.ctx, world.principal(world.owner)
    searchers = [await factories.member(world.server, world.http) for _ in range(SEARCHERS)]
    try:
        vault_ids = []
        for v, roles in enumerate(plan):
            vault = await vaults.create_vault(ctx, owner, VaultCreate(name=f"v{v}"))
            vault_ids.append(vault.id)
            for who, role in zip(searchers, roles, strict=True):
                if role is not None:
                    await vaults.add_member(
                        ctx, owner, vault.id, MemberAdd(email=who.email, role=Role(role))
                    )
        made: dict[str, set[str]] = {vid: set() for vid in vault_ids}
        for v, count in enumerate(per_vault):
            for n in range(count):
                fields = SourceCreate(title=f"shared words {n}", tags=["common"])
                made[vault_ids[v]].add(
                    (await sources.create_source(ctx, owner, vault_ids[v], fields)).id
                )
        for s, v in removals:
            if plan[v][s] is not None:
                await vaults.remove_member(ctx, owner, vault_ids[v], searchers[s].id)
                plan[v][s] = None
        for s, who in enumerate(searchers):
            mine = set().union(*(made[vid] for v, vid in enumerate(vault_ids) if plan[v][s]))
            for params in ({"q": "shared"}, {"q": "shar* words"}, {}, {"tag": "common"}):
                got = await pages(who, "/api/search", params, 2)
                assert len(got) == len({g["id"] for g in got})
                assert {g["id"] for g in got} == mine, (s, params)
    finally:
        for who in searchers:
            await who.http.aclose()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=st.lists(
        st.lists(
            st.sampled_from([None, "viewer", "contributor", "owner"]),
            min_size=SEARCHERS,
            max_size=SEARCHERS,
        ),
        min_size=VAULTS,
        max_size=VAULTS,
    ),
    removals=st.lists(
        st.tuples(st.integers(0, SEARCHERS - 1), st.integers(0, VAULTS - 1)), max_size=3
    ),
    per_vault=st.lists(st.integers(0, 3), min_size=VAULTS, max_size=VAULTS),
)
def test_search_everywhere_returns_only_the_callers_vaults(
    ranking: str,
    world: World,
    plan: list[list[str | None]],
    removals: list[tuple[int, int]],
    per_vault: list[int],
) -> None:
    world.loop.run(only_own_vaults(world, plan, removals, per_vault))


# -- any query string ---------------------------------------------------------------------------


async def any_query(world: World, queries: list[str]) -> None:
    ctx, owner = world.server.ctx, world.principal(world.owner)
    vault = await vaults.create_vault(ctx, owner, VaultCreate(name="fuzz"))
    mine = (await sources.create_source(ctx, owner, vault.id, SourceCreate(title="a b c"))).id
    path = f"/api/vaults/{vault.id}/sources"
    for q in queries:
        for target in (path, "/api/search"):
            response = await world.owner.http.get(target, params={"q": q, "limit": 100})
            assert response.status_code == 200, (q, response.text)
        found = (await world.owner.http.get(path, params={"q": q})).json()["sources"]
        assert {s["id"] for s in found} <= {mine}
    for raw in ("%FF%FE", "%ED%A0%80", "a%00b"):  # not UTF-8, a surrogate's bytes, a NUL
        for target in (path, "/api/search"):
            response = await world.owner.http.get(f"{target}?q={raw}")
            assert response.status_code in (200, 422), (raw, response.text)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    queries=st.lists(
        st.text(
            # Any character a URL can carry as UTF-8 (a lone surrogate cannot be encoded;
            # bytes that are not UTF-8 are tried below).
            alphabet=st.one_of(
                st.characters(exclude_categories=("Cs",)),
                st.sampled_from("\"*(){}:^&|!<->'\\ abcNEAR"),
            ),
            max_size=60,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_query_string_is_answered(world: World, queries: list[str]) -> None:
    world.loop.run(any_query(world, queries))
