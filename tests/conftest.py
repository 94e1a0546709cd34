"""Fixtures: a fresh migrated database per test on SQLite and on PostgreSQL, a live server,
and an HTTP client. Factories for users, vaults and sources live in tests/factories.py."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from sourcevault.config import Settings
from sourcevault.db.migrate import upgrade
from tests import factories, services
from tests.live import LiveServer, Recorder, live_server, record

BACKENDS = ["sqlite", "postgres"]
TABLES = "audit_events, sources, memberships, sessions, vaults, users"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``SOURCEVAULT_TRANSPORT=stock`` (or ``SOURCEVAULT_SQLITE_ADAPTER=stock``) every
    test runs against the stock libraries, except those of a fast-only behaviour."""
    stock = {
        "fast_transport": os.environ.get("SOURCEVAULT_TRANSPORT") == "stock",
        "fast_sqlite_adapter": os.environ.get("SOURCEVAULT_SQLITE_ADAPTER") == "stock",
    }
    for item in items:
        for marker, skipped in stock.items():
            if skipped and item.get_closest_marker(marker) is not None:
                variable = marker.removeprefix("fast_").upper()
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"a behaviour of the fast path only (SOURCEVAULT_{variable}=stock)"
                    )
                )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """One migrated PostgreSQL database for the session, dropped at the end."""
    import asyncio

    if not services.pg_available():
        yield None
        return
    name = f"sourcevault_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(services.pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(services.pg_url(name))
        yield name
    finally:
        asyncio.run(services.pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host=services.PG_HOST, port=services.PG_PORT, user=services.PG_USER, database=name
    )
    try:
        await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str, tmp_path: Path, sqlite_template: Path, pg_database: str | None
) -> str:
    if backend == "sqlite":
        path = tmp_path / "sourcevault.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    if pg_database is None:
        services.missing("PostgreSQL on 127.0.0.1:5432")
    assert pg_database is not None
    await _truncate(pg_database)
    return services.pg_url(pg_database)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "redis_url": None,
        "allowed_origins": ["http://allowed.example"],
        "metrics_bind": "127.0.0.1:0",  # a port of its own for each test's server
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    async with live_server(settings) as live:
        yield live


@pytest.fixture
def recorder(server: LiveServer) -> Recorder:
    return record(server)


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server.url, timeout=10, verify=factories.tls_context()
    ) as http:
        yield http


@pytest.fixture
async def team(server: LiveServer, client: httpx.AsyncClient) -> AsyncIterator[factories.Team]:
    """A vault with an owner, a contributor and a viewer, plus an outsider in no vault."""
    made = await factories.team(server, client)
    yield made
    await made.close()
