"""One conformance server per test, in the transport ``SOURCEVAULT_TRANSPORT`` names."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sourcevault.config import Settings
from tests.conformance.app import conformance_server
from tests.conformance.wire import TIMEOUT, Polling


@pytest.fixture
async def base() -> AsyncIterator[str]:
    settings = Settings(redis_url=None, _env_file=None)  # type: ignore[call-arg]
    async with conformance_server(settings) as url:
        yield url


@pytest.fixture
async def http(base: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
async def polling(http: httpx.AsyncClient) -> Polling:
    """An opened long-polling session."""
    session = Polling(http)
    await session.open()
    return session
