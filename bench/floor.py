"""B7's floor: what the database and its driver commit, with no web stack around them.

``python -m bench.floor URL VAULT_ID USER_ID COUNT CONCURRENCY`` writes ``COUNT`` source
creations into the vault of a migrated database, ``CONCURRENCY`` writers at once, each on a
connection of its own, one transaction per creation holding the rows a creation of ours
holds: the vault's next ``seq`` (gapless, in commit order: the vault's row is written first in
each transaction), the source row, its search index row(s), its audit event row. Nothing else:
no role check, no broadcast, no ORM, plain SQL through the driver our server uses (aiosqlite,
with the server's pragmas, and, as SQLite takes one writer at a time, the writers taking turns
in the process as ours do; asyncpg, where the vault's row lock orders them). It prints one JSON
line: ``{"writes", "seconds", "per_s", "cpu_ms_per_write"}``, the CPU being the whole process's
(the driver's threads included).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sourcevault.search.text import fts_columns, tsvector

TAGS = ["bench", "reading"]


def _source(i: int, user_id: str, vault_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return {
        "id": f"{int(time.time() * 1000):012x}{os.urandom(10).hex()}",
        "vault_id": vault_id,
        "title": f"Benchmark source {i}: a paper worth reading",
        "url": f"https://example.org/papers/{i}",
        "annotation": "Read it for the method section.",
        "tags": TAGS,
        "by": user_id,
        "at": now,
    }


def _event(source: dict[str, Any], seq: int) -> str:
    at = source["at"].strftime("%Y-%m-%dT%H:%M:%S.") + f"{source['at'].microsecond // 1000:03d}Z"
    wire = {
        "id": source["id"],
        "vaultId": source["vault_id"],
        "title": source["title"],
        "url": source["url"],
        "annotation": source["annotation"],
        "tags": source["tags"],
        "version": 1,
        "createdBy": {"userId": source["by"], "userName": "Bench"},
        "createdAt": at,
        "updatedAt": at,
    }
    actor = {"userId": source["by"], "userName": "Bench", "role": "owner"}
    return json.dumps(
        {
            "seq": seq,
            "type": "source:created",
            "vaultId": source["vault_id"],
            "actor": actor,
            "at": at,
            "source": wire,
        }
    )


Write = Callable[[int], Awaitable[None]]


@contextlib.asynccontextmanager
async def _sqlite(path: str, vault_id: str, user_id: str) -> AsyncIterator[Write]:
    import aiosqlite

    turn = asyncio.Lock()
    free: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
    opened = []
    for _ in range(8):
        db = await aiosqlite.connect(path, isolation_level=None, timeout=30)
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
            await db.execute(f"PRAGMA {pragma}")
        opened.append(db)
        free.put_nowait(db)

    async def write(i: int) -> None:
        s = _source(i, user_id, vault_id)
        naive = s["at"].replace(tzinfo=None)
        db = await free.get()
        try:
            async with turn:
                await db.execute("BEGIN IMMEDIATE")
                try:
                    cursor = await db.execute(
                        "UPDATE vaults SET seq = seq + 1 WHERE id = ? RETURNING seq", (vault_id,)
                    )
                    row = await cursor.fetchone()
                    await cursor.close()
                    assert row is not None
                    await db.execute(
                        "INSERT INTO sources (id, vault_id, title, url, annotation, tags, "
                        "version, created_by_id, created_by_name, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, 1, ?, 'Bench', ?, ?)",
                        (
                            s["id"],
                            vault_id,
                            s["title"],
                            s["url"],
                            s["annotation"],
                            json.dumps(s["tags"]),
                            user_id,
                            naive,
                            naive,
                        ),
                    )
                    cursor = await db.execute(
                        "INSERT INTO source_search (source_id, vault_id, created_at, tags) "
                        "VALUES (?, ?, ?, ?)",
                        (s["id"], vault_id, naive, json.dumps(s["tags"])),
                    )
                    row_id = cursor.lastrowid
                    columns = fts_columns(s["title"], s["tags"], s["url"], s["annotation"])
                    await db.execute(
                        "INSERT INTO source_search_fts (rowid, title, tags, url, annotation) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (
                            row_id,
                            columns["title"],
                            columns["tags"],
                            columns["url"],
                            columns["annotation"],
                        ),
                    )
                    await db.execute(
                        "INSERT INTO audit_events (vault_id, seq, type, actor_id, at, data) "
                        "VALUES (?, ?, 'source:created', ?, ?, ?)",
                        (vault_id, row[0], user_id, naive, _event(s, row[0])),
                    )
                    await db.execute("COMMIT")
                except BaseException:
                    await db.execute("ROLLBACK")
                    raise
        finally:
            free.put_nowait(db)

    try:
        yield write
    finally:
        for db in opened:
            await db.close()


@contextlib.asynccontextmanager
async def _postgres(dsn: str, vault_id: str, user_id: str) -> AsyncIterator[Write]:
    import asyncpg  # type: ignore[import-untyped]

    pool = await asyncpg.create_pool(dsn, min_size=8, max_size=8)

    async def write(i: int) -> None:
        s = _source(i, user_id, vault_id)
        document = tsvector(s["title"], s["tags"], s["url"], s["annotation"])
        async with pool.acquire() as conn, conn.transaction():
            seq = await conn.fetchval(
                "UPDATE vaults SET seq = seq + 1 WHERE id = $1 RETURNING seq", vault_id
            )
            await conn.execute(
                "INSERT INTO sources (id, vault_id, title, url, annotation, tags, version, "
                "created_by_id, created_by_name, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, 1, $7, 'Bench', $8, $8)",
                s["id"],
                vault_id,
                s["title"],
                s["url"],
                s["annotation"],
                json.dumps(s["tags"]),
                user_id,
                s["at"],
            )
            await conn.execute(
                "INSERT INTO source_search (source_id, document, vault_id, created_at, tags) "
                "VALUES ($1, $2::tsvector, $3, $4, $5)",
                s["id"],
                document,
                vault_id,
                s["at"],
                json.dumps(s["tags"]),
            )
            await conn.execute(
                "INSERT INTO audit_events (vault_id, seq, type, actor_id, at, data) "
                "VALUES ($1, $2, 'source:created', $3, $4, $5)",
                vault_id,
                seq,
                user_id,
                s["at"],
                _event(s, seq),
            )

    try:
        yield write
    finally:
        await pool.close()


def _writer(url: str, vault_id: str, user_id: str) -> contextlib.AbstractAsyncContextManager[Write]:
    if url.startswith("sqlite+aiosqlite:///"):
        return _sqlite(url.removeprefix("sqlite+aiosqlite:///"), vault_id, user_id)
    if url.startswith("postgresql+asyncpg://"):
        return _postgres(
            url.replace("postgresql+asyncpg://", "postgresql://", 1), vault_id, user_id
        )
    raise SystemExit(f"no floor for {url}")


async def floor(
    url: str, vault_id: str, user_id: str, count: int, concurrency: int
) -> dict[str, Any]:
    async with _writer(url, vault_id, user_id) as write:
        numbers = iter(range(count))

        async def writer() -> None:
            for i in numbers:
                await write(i)

        cpu0, t0 = time.process_time(), time.monotonic()
        await asyncio.gather(*(writer() for _ in range(concurrency)))
        t1, cpu1 = time.monotonic(), time.process_time()
    return {
        "writes": count,
        "seconds": t1 - t0,
        "per_s": count / (t1 - t0),
        "cpu_ms_per_write": (cpu1 - cpu0) * 1000 / count,
    }


def main() -> None:
    url, vault_id, user_id, count, concurrency = sys.argv[1:6]
    outcome = asyncio.run(floor(url, vault_id, user_id, int(count), int(concurrency)))
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main()
