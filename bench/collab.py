"""Scenarios of ours alone, with absolute targets: S1 (search) and I1 (import).

S1 writes a corpus straight into the server's database before it measures: the rows as the
import writes them (one bulk insert per batch) and their search index through
``search.index.index_new``, the function the import calls, so the index is the product's. The
corpus is made from a fixed seed: titles, annotations, URLs and tags drawn from a vocabulary
whose words are used with Zipf-like frequencies, so a query may match a few sources or tens of
thousands of them. The searcher is a member of the large vault and of a small one, and not of
a third vault whose sources hold the same words (``/api/search`` must pass them over).

I1 posts a CSV file (our export's columns; the same entries as JSON would pass the 10 MB
limit) to ``POST /api/vaults/{id}/import`` and times the request, from the first byte sent to
the answer.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import httpx
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import async_sessionmaker

from bench.procs import BenchError, cpu_seconds
from bench.report import summarize
from bench.world import BenchVault, World, make_world
from sourcevault.db.base import utcnow
from sourcevault.db.engine import build_engine
from sourcevault.search.index import index_new
from sourcevault.sources.models import Source
from sourcevault.vaults.models import Membership
from sourcevault.vaults.roles import Role

if TYPE_CHECKING:
    from bench.scenarios import Run, Sizes

_SOURCES = cast("Table", Source.__table__)
_BATCH = 2000

# Common words of research titles, most frequent first; the rest of the vocabulary is made.
COMMON = [
    "learning",
    "network",
    "analysis",
    "data",
    "model",
    "deep",
    "neural",
    "study",
    "system",
    "graph",
    "language",
    "review",
    "survey",
    "method",
    "evaluation",
    "search",
    "protocol",
    "web",
    "climate",
    "health",
    "quantum",
    "social",
    "theory",
    "distributed",
    "memory",
    "vision",
    "robust",
    "efficient",
    "privacy",
    "security",
    "energy",
]
SYLLABLES = [
    "ka",
    "ri",
    "to",
    "me",
    "sa",
    "lu",
    "no",
    "vi",
    "de",
    "pa",
    "ro",
    "ti",
    "ne",
    "mu",
    "la",
    "so",
    "fe",
    "gi",
]
TAGS = [f"topic-{n}" for n in range(40)] + ["to-read", "cited", "draft", "important"]


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words = list(COMMON)
    made: set[str] = set(words)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in made:
            made.add(word)
            words.append(word)
    return words


class Corpus:
    """Deterministic sources and queries over one vocabulary."""

    def __init__(self, seed: int = 17, size: int = 5000) -> None:
        self.rng = random.Random(seed)  # noqa: S311  (a corpus made again alike, no secret)
        self.words = vocabulary(size, self.rng)
        # Zipf-Mandelbrot: the word of rank r (from 0) is drawn with weight 1 / (r + 20), so
        # the commonest word is in about one source in eight and most words in a handful.
        self.cumulative = list(itertools.accumulate(1 / (rank + 20) for rank in range(size)))

    def _text(self, low: int, high: int) -> str:
        count = self.rng.randint(low, high)
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=count))

    def source(self, n: int) -> dict[str, Any]:
        rng = self.rng
        title = self._text(3, 9).capitalize()
        path = "/".join(rng.choices(self.words, cum_weights=self.cumulative, k=2))
        annotation = self._text(5, 30) if rng.random() < 0.5 else None
        tags = sorted(set(rng.choices(TAGS, k=rng.randint(0, 3))))
        return {
            "title": title,
            "url": f"https://papers.example.org/{path}/{n}",
            "annotation": annotation,
            "tags": tags,
        }

    def queries(self) -> list[tuple[str, dict[str, Any]]]:
        """(kind, query parameters): words common to rare, two words, prefixes, a phrase,
        a tag with and without words."""
        w = self.words
        return [
            ("common word", {"q": w[0]}),
            ("common word", {"q": w[3]}),
            ("mid word", {"q": w[60]}),
            ("mid word", {"q": w[400]}),
            ("rare word", {"q": w[3000]}),
            ("two words", {"q": f"{w[0]} {w[1]}"}),
            ("two words", {"q": f"{w[5]} {w[150]}"}),
            ("prefix", {"q": w[0][:4] + "*"}),
            ("prefix", {"q": w[200][:3] + "*"}),
            ("phrase", {"q": f'"{w[0]} {w[1]}"'}),
            ("phrase", {"q": f'"{w[2]} {w[4]}"'}),
            ("word and tag", {"q": w[1], "tag": TAGS[0]}),
            ("tag", {"tag": TAGS[3]}),
        ]


async def seed_sources(
    database_url: str,
    vaults: list[tuple[BenchVault, int]],
    corpus: Corpus,
    members: Sequence[tuple[str, str]] = (),
) -> float:
    """Write ``count`` sources into each vault (as the import writes them, index included)
    and the extra viewer memberships ``(vault_id, user_id)``; returns the seconds taken."""
    started = time.monotonic()
    engine = build_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    now = utcnow()
    try:
        async with sessions() as session, session.begin():
            if members:
                await session.execute(
                    insert(Membership),
                    [
                        {"vault_id": v, "user_id": u, "role": Role.VIEWER.value, "joined_at": now}
                        for v, u in members
                    ],
                )
            for vault, count in vaults:
                owner = vault.owner
                for start in range(0, count, _BATCH):
                    rows = []
                    for n in range(start, min(start + _BATCH, count)):
                        # Oldest first, a second apart, ending now.
                        at = now - timedelta(seconds=count - n)
                        ms = int(at.timestamp() * 1000)
                        rows.append(
                            {
                                **corpus.source(n),
                                "id": f"{ms:012x}{corpus.rng.getrandbits(80):020x}",
                                "vault_id": vault.id,
                                "version": 1,
                                "created_by_id": owner.id,
                                "created_by_name": owner.name,
                                "created_at": at,
                                "updated_at": at,
                            }
                        )
                    await session.execute(insert(_SOURCES), rows)
                    await index_new(session, rows)
    finally:
        await engine.dispose()
    return time.monotonic() - started


@dataclass(frozen=True)
class CollabSizes:
    s1_sources: int = 100_000
    s1_rounds: int = 20  # each round sends every query of the mix to both routes
    i1_entries: int = 50_000


def sizes(run_sizes: Sizes) -> CollabSizes:
    from bench.scenarios import QUICK  # here: bench.scenarios imports this module

    if run_sizes == QUICK:
        return CollabSizes(s1_sources=2000, s1_rounds=2, i1_entries=1000)
    return CollabSizes()


def _database_url(run: Run) -> str:
    env = run.server.env or {}
    if "SOURCEVAULT_DATABASE_URL" not in env:
        raise BenchError("the server's database is not known")
    return env["SOURCEVAULT_DATABASE_URL"]


async def _settle(database_url: str) -> None:
    """On PostgreSQL, what autovacuum does within a minute of a bulk load: the planner's
    statistics, and the GIN index's pending entries merged (a fresh import's are scanned one
    by one until then). SQLite has neither."""
    if not database_url.startswith("postgresql"):
        return
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def _pg_backends(database_url: str) -> list[int]:
    """The process ids of the PostgreSQL backends serving ``database_url``'s database (this
    machine's: their CPU time is read from ``/proc``); none on SQLite."""
    if not database_url.startswith("postgresql"):
        return []
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


def _cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:  # gone, or not on this machine
            continue
    return total


# -- S1: search over 100,000 sources ----------------------------------------------------------


def s1_world(_sizes: Sizes) -> World:
    """The searcher's large vault, a small vault of theirs, and a vault of someone else's."""
    return make_world("s1", 3, 0)


async def s1(run: Run) -> dict[str, Any]:
    n = sizes(run.sizes)
    big, small, other = run.world.vaults
    url = _database_url(run)
    corpus = Corpus()
    run.status(f"writing {n.s1_sources:,} sources and their index")
    seed_s = await seed_sources(
        url,
        [(big, n.s1_sources), (small, n.s1_sources // 100), (other, n.s1_sources // 10)],
        corpus,
        [(small.id, big.owner.id)],
    )
    await _settle(url)
    routes = {
        "vault": f"/api/vaults/{big.id}/sources",
        "all": "/api/search",
    }
    mix = corpus.queries()
    samples: dict[str, list[float]] = {route: [] for route in routes}
    by_kind: dict[str, list[float]] = {}
    headers = {"authorization": f"Bearer {big.owner.token}"}
    async with httpx.AsyncClient(base_url=run.server.url, headers=headers, timeout=60) as http:

        async def one(path: str, params: dict[str, Any]) -> float:
            started = time.perf_counter()
            response = await http.get(path, params=params)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise BenchError(f"GET {path} answered {response.status_code}: {response.text}")
            return elapsed

        run.status("warming up")
        for _kind, params in mix:
            for path in routes.values():
                await one(path, params)
        run.status(f"{n.s1_rounds * len(mix) * len(routes):,} searches")
        backends = await _pg_backends(url)  # the server's pool, opened by the warm-up
        cpu0, db_cpu0 = cpu_seconds(run.server.pid), _cpu_of(backends)
        for _ in range(n.s1_rounds):
            for kind, params in mix:
                for route, path in routes.items():
                    elapsed = await one(path, params)
                    samples[route].append(elapsed)
                    by_kind.setdefault(f"{route}: {kind}", []).append(elapsed)
        cpu, db_cpu = cpu_seconds(run.server.pid) - cpu0, _cpu_of(backends) - db_cpu0
    requests = sum(len(v) for v in samples.values())
    return {
        "sources": n.s1_sources,
        "seed_seconds": seed_s,
        "requests": requests,
        "vault": summarize(samples["vault"]),
        "all": summarize(samples["all"]),
        "kinds": {kind: summarize(values) for kind, values in by_kind.items()},
        # CPU time per search: the server process (SQLite's work included), and on PostgreSQL
        # also the backends that served it. Unlike the latencies, it hardly depends on what
        # else the machine runs.
        "server_cpu_ms_per_request": cpu * 1000 / requests,
        "database_cpu_ms_per_request": db_cpu * 1000 / requests,
        "cpu_ms_per_request": (cpu + db_cpu) * 1000 / requests,
        "complete": True,
    }


# -- I1: a 50,000-entry import ----------------------------------------------------------------


def i1_world(_sizes: Sizes) -> World:
    return make_world("i1", 1, 0)


def csv_file(corpus: Corpus, entries: int) -> bytes:
    """A CSV file (our export's columns) of ``entries`` sources, each URL distinct."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["title", "url", "annotation", "tags"])
    for n in range(entries):
        fields = corpus.source(n)
        writer.writerow(
            [fields["title"], fields["url"], fields["annotation"] or "", "|".join(fields["tags"])]
        )
    return out.getvalue().encode()


async def i1(run: Run) -> dict[str, Any]:
    n = sizes(run.sizes)
    vault = run.world.vaults[0]
    corpus = Corpus(seed=1)
    warm, body = csv_file(Corpus(seed=2), 100), csv_file(corpus, n.i1_entries)
    path = f"/api/vaults/{vault.id}/import"
    headers = {"authorization": f"Bearer {vault.owner.token}", "content-type": "text/csv"}
    async with httpx.AsyncClient(base_url=run.server.url, headers=headers, timeout=600) as http:
        run.status("warming up")
        (await http.post(path, params={"format": "csv"}, content=warm)).raise_for_status()
        run.status(f"importing {n.i1_entries:,} entries")
        backends = await _pg_backends(_database_url(run))
        cpu0, db_cpu0 = cpu_seconds(run.server.pid), _cpu_of(backends)
        started = time.perf_counter()
        response = await http.post(path, params={"format": "csv"}, content=body)
        seconds = time.perf_counter() - started
        cpu, db_cpu = cpu_seconds(run.server.pid) - cpu0, _cpu_of(backends) - db_cpu0
    if response.status_code != 201:
        raise BenchError(f"the import answered {response.status_code}: {response.text[:300]}")
    count = response.json()["import"]["count"]
    return {
        "entries": n.i1_entries,
        "bytes": len(body),
        "seconds": seconds,
        "server_cpu_seconds": cpu,
        "database_cpu_seconds": db_cpu,  # PostgreSQL's backends; SQLite's is the server's
        "cpu_seconds": cpu + db_cpu,
        "complete": count == n.i1_entries,
    }
