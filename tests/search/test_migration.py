"""Upgrading a database that already holds sources indexes them: they are found at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from sourcevault.db.base import utcnow
from sourcevault.db.engine import build_engine, write_session
from sourcevault.db.migrate import upgrade
from sourcevault.vaults.models import Membership
from tests import factories, services
from tests.conftest import BACKENDS, make_settings
from tests.live import live_server

BEFORE_SEARCH = "83bbd69a2c7f"  # the revision before the search index


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    if not services.pg_available():
        services.missing("PostgreSQL on 127.0.0.1:5432")
    name = f"sourcevault_migrate_{uuid.uuid4().hex[:8]}"
    asyncio.run(services.pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield services.pg_url(name)
    finally:
        asyncio.run(services.pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _old_rows(url: str) -> None:
    engine = build_engine(url)
    now = utcnow().replace(tzinfo=None) if url.startswith("sqlite") else utcnow()
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO vaults (id, name, seq, created_at, updated_at)"
                    " VALUES ('v1', 'Old vault', 0, :now, :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                text(
                    "INSERT INTO sources (id, vault_id, title, url, annotation, tags, version,"
                    " created_by_id, created_by_name, created_at, updated_at) VALUES ('s1', 'v1',"
                    " 'Indexed by the upgrade', NULL, 'Written before search existed',"
                    " '[\"legacy tag\"]', 1, 'u0', 'Someone', :now, :now)"
                ),
                {"now": now},
            )
    finally:
        await engine.dispose()


async def _search(url: str, tag: str | None = None) -> list[list[str]]:
    async with (
        live_server(make_settings(url)) as server,
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        reader = await factories.member(server, http)
        async with write_session(server.ctx.sessionmaker) as session:
            session.add(Membership(vault_id="v1", user_id=reader.id, role="viewer"))
        found = []
        for q in ("upgrade", "existed", '"legacy tag"', "nothing"):
            params = {"q": q} if tag is None else {"q": q, "tag": tag}
            answer = await reader.http.get("/api/vaults/v1/sources", params=params)
            assert answer.status_code == 200, answer.text
            found.append([s["id"] for s in answer.json()["sources"]])
        await reader.http.aclose()
        return found


def test_sources_written_before_the_upgrade_are_found_after_it(empty_database: str) -> None:
    upgrade(empty_database, BEFORE_SEARCH)
    asyncio.run(_old_rows(empty_database))
    upgrade(empty_database)
    assert asyncio.run(_search(empty_database)) == [["s1"], ["s1"], ["s1"], []]


SEARCH_WITHOUT_ORDER = "99f0e167527e"  # the index before it held each source's vault and time


async def _rows_in_two_vaults(url: str) -> None:
    engine = build_engine(url)
    now = utcnow().replace(tzinfo=None) if url.startswith("sqlite") else utcnow()
    rows = [("s1", "v1", now - timedelta(days=2)), ("s2", "v1", now), ("s3", "v2", now)]
    try:
        async with engine.begin() as conn:
            for vault_id in ("v1", "v2"):
                await conn.execute(
                    text(
                        "INSERT INTO vaults (id, name, seq, created_at, updated_at)"
                        " VALUES (:id, 'Old vault', 0, :now, :now)"
                    ),
                    {"id": vault_id, "now": now},
                )
            for source_id, vault_id, at in rows:
                await conn.execute(
                    text(
                        "INSERT INTO sources (id, vault_id, title, url, annotation, tags, version,"
                        " created_by_id, created_by_name, created_at, updated_at) VALUES (:id,"
                        " :vault, 'Indexed by the upgrade', NULL, NULL, :tags, 1, 'u0', 'Someone',"
                        " :at, :at)"
                    ),
                    {
                        "id": source_id,
                        "vault": vault_id,
                        "at": at,
                        "tags": '["kept"]' if source_id == "s1" else "[]",
                    },
                )
    finally:
        await engine.dispose()


def test_sources_indexed_before_the_index_held_their_vault_are_ranked_in_it(
    empty_database: str,
) -> None:
    upgrade(empty_database, BEFORE_SEARCH)
    asyncio.run(_rows_in_two_vaults(empty_database))
    upgrade(empty_database, SEARCH_WITHOUT_ORDER)  # indexes them, without vault or time
    upgrade(empty_database)
    # Found in their own vault only, the newer first among equal scores.
    assert asyncio.run(_search(empty_database))[0] == ["s2", "s1"]
    # And held to their tags.
    assert asyncio.run(_search(empty_database, tag="kept"))[0] == ["s1"]
