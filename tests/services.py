"""The outside services tests use for real: PostgreSQL and Redis.

Without them a test is skipped with the reason printed; under ``CI=true`` a missing service
is a failure, never a skip.
"""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

PG_HOST = os.environ.get("SOURCEVAULT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SOURCEVAULT_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("SOURCEVAULT_TEST_PG_USER", "postgres")
REDIS_URL = os.environ.get("SOURCEVAULT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


# The settings a whole test run may set (``make test`` runs some suites again with both at
# ``stock``): server processes that tests start inherit them, and no other SOURCEVAULT_ one.
MODES = ("SOURCEVAULT_TRANSPORT", "SOURCEVAULT_SQLITE_ADAPTER")


def inherited_env() -> dict[str, str]:
    """This process's environment for a server process, without its SOURCEVAULT_ settings
    but for ``MODES``."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SOURCEVAULT_") or k in MODES}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str) -> None:
    """Skip (or, in CI, fail) the current test because ``what`` is not available."""
    if in_ci():
        pytest.fail(f"{what} is required under CI=true", pytrace=False)
    pytest.skip(f"{what} is not available")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


async def pg_admin(sql: str) -> str:
    """Run ``sql`` as the administrator; its status (``"SELECT 3"`` for three rows)."""
    import asyncpg

    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        status: str = await conn.execute(sql)
        return status
    finally:
        await conn.close()


def pg_available() -> bool:
    if not port_open(PG_HOST, PG_PORT):
        return False
    try:
        asyncio.run(pg_admin("SELECT 1"))
    except Exception:
        return False
    return True


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False
