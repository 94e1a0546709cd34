"""Browser fixtures: Debian's Chromium driven by Playwright, one context (one cookie jar, one
person) per window. The page is about the browser, not the database: SQLite only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from bench.web import CHROMIUM, CHROMIUM_ARGS
from tests import services


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        services.missing("Chromium at /usr/bin/chromium")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
