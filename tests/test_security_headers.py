"""Security headers on every response: the page may run only its own scripts and may not be
framed; nothing is sniffed; referrers stay on the site; the server does not name itself."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from tests.live import LiveServer


@pytest.fixture
def backend() -> str:
    return "sqlite"  # headers do not depend on the database


def assert_common(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "server" not in response.headers, response.headers
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_an_html_page_runs_only_its_own_scripts_and_cannot_be_framed(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/realtime-test")
    assert page.status_code == 200
    assert_common(page)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    # The page obeys it: no inline script, no inline style attribute.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
    assert "style=" not in page.text


async def test_api_answers_and_errors_carry_them_too(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/healthz"),
        await client.get("/api/auth/session"),  # 401
        await client.get("/no/such/path"),  # 404
        await client.get("/socket.io/", params={"EIO": "4", "transport": "polling"}),
    ):
        assert_common(response)
        assert response.headers["content-security-policy"].startswith("default-src 'none'")


async def test_the_openapi_page_allows_only_its_own_inline_script(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert_common(page)
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert inline
    policy = page.headers["content-security-policy"]
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "unsafe-inline" not in policy
