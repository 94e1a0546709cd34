"""A cookie-authenticated POST, PATCH or DELETE must come from the server's own origin or an
allowed one (Origin, or Referer when Origin is missing); bearer requests need neither."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests import checks, factories
from tests.factories import PASSWORD
from tests.live import LiveServer

FOREIGN = "http://evil.example"


@pytest.fixture
async def browser(server: LiveServer, client: httpx.AsyncClient) -> AsyncIterator[Any]:
    """A client logged in with the session cookie, and the user behind it."""
    user = await factories.register(client)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        login = await http.post(
            "/api/auth/login", json={"email": user["email"], "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        yield http


async def vault_names(http: httpx.AsyncClient) -> list[str]:
    response = await http.get("/api/vaults")  # a GET needs no origin
    assert response.status_code == 200, response.text
    return [v["name"] for v in response.json()["vaults"]]


async def test_own_and_allowed_origins_may_write_with_the_cookie(
    server: LiveServer, browser: httpx.AsyncClient
) -> None:
    own = await browser.post("/api/vaults", json={"name": "own"}, headers={"Origin": server.url})
    assert own.status_code == 201, own.text
    allowed = await browser.post(
        "/api/vaults", json={"name": "allowed"}, headers={"Origin": "http://allowed.example"}
    )
    assert allowed.status_code == 201, allowed.text
    vault_id = own.json()["vault"]["id"]
    patched = await browser.patch(
        f"/api/vaults/{vault_id}", json={"name": "renamed"}, headers={"Origin": server.url}
    )
    assert patched.status_code == 200, patched.text
    deleted = await browser.delete(
        f"/api/vaults/{vault_id}", headers={"Origin": "http://allowed.example"}
    )
    assert deleted.status_code == 204, deleted.text
    assert await vault_names(browser) == ["allowed"]


async def test_a_foreign_or_missing_origin_is_rejected_and_changes_nothing(
    server: LiveServer, browser: httpx.AsyncClient
) -> None:
    made = await browser.post("/api/vaults", json={"name": "kept"}, headers={"Origin": server.url})
    assert made.status_code == 201
    vault_id = made.json()["vault"]["id"]
    refusing = [
        {"Origin": FOREIGN},
        {"Origin": "null"},
        {"Origin": server.url.replace("127.0.0.1", "localhost")},  # another origin, same machine
        {"Referer": f"{FOREIGN}/page"},
        {},  # neither header
    ]
    for headers in refusing:
        attempts = [
            browser.post("/api/vaults", json={"name": "forged"}, headers=headers),
            browser.patch(f"/api/vaults/{vault_id}", json={"name": "forged"}, headers=headers),
            browser.delete(f"/api/vaults/{vault_id}", headers=headers),
            browser.post("/api/auth/logout", headers=headers),
        ]
        for attempt in attempts:
            checks.error(await attempt, 403, "ORIGIN_REJECTED")
    assert await vault_names(browser) == ["kept"]
    assert (await browser.get("/api/auth/session")).status_code == 200  # not logged out


async def test_referer_stands_in_when_origin_is_missing(
    server: LiveServer, browser: httpx.AsyncClient
) -> None:
    own = await browser.post(
        "/api/vaults", json={"name": "own"}, headers={"Referer": f"{server.url}/realtime-test"}
    )
    assert own.status_code == 201, own.text
    allowed = await browser.post(
        "/api/vaults", json={"name": "allowed"}, headers={"Referer": "http://allowed.example/a?b"}
    )
    assert allowed.status_code == 201, allowed.text
    # Origin, when present, decides, whatever Referer says.
    mixed = await browser.post(
        "/api/vaults",
        json={"name": "mixed"},
        headers={"Origin": FOREIGN, "Referer": f"{server.url}/realtime-test"},
    )
    checks.error(mixed, 403, "ORIGIN_REJECTED")
    assert await vault_names(browser) == ["own", "allowed"]


async def test_bearer_requests_need_no_origin(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    owner = await factories.member(server, client)
    try:
        plain = await owner.http.post("/api/vaults", json={"name": "script"})
        assert plain.status_code == 201, plain.text
        foreign = await owner.http.patch(
            f"/api/vaults/{plain.json()['vault']['id']}",
            json={"name": "still fine"},
            headers={"Origin": FOREIGN},
        )
        assert foreign.status_code == 200, foreign.text
        assert await vault_names(owner.http) == ["still fine"]
    finally:
        await owner.http.aclose()
