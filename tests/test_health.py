"""/readyz answers 503 while the database does not answer, and 200 again once it does;
/healthz answers throughout."""

from __future__ import annotations

import uuid

import httpx

from tests import factories, services
from tests.conftest import make_settings
from tests.live import live_server


async def test_readyz_follows_the_database(pg_database: str | None) -> None:
    if pg_database is None:  # the session's check found no PostgreSQL
        services.missing("PostgreSQL on 127.0.0.1:5432")
    name = f"sourcevault_ready_{uuid.uuid4().hex[:8]}"
    await services.pg_admin(f'CREATE DATABASE "{name}"')
    try:
        async with (
            live_server(make_settings(services.pg_url(name))) as server,
            httpx.AsyncClient(base_url=server.url, verify=factories.tls_context()) as http,
        ):
            up = await http.get("/readyz")
            assert (up.status_code, up.json()["database"]) == (200, "ok")

            await services.pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')
            down = await http.get("/readyz")
            assert down.status_code == 503
            assert down.json()["status"] == "unavailable"
            assert down.json()["database"].startswith("down")
            assert (await http.get("/healthz")).status_code == 200

            await services.pg_admin(f'CREATE DATABASE "{name}"')
            back = await http.get("/readyz")
            assert (back.status_code, back.json()["database"]) == (200, "ok")
    finally:
        await services.pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
