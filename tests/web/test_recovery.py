"""FR-012 in the browser: the page survives a server restart and a missed broadcast without
losing or doubling an event, and asks for a new login when its session ends."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import expect

from sourcevault.config import Settings
from tests import factories
from tests.client.recording import database_events, database_sources
from tests.client.writes import Writer
from tests.live import LiveServer, live_server
from tests.web.restartable import Restartable
from tests.web.windows import WAIT, Window, open_window


@pytest.fixture
async def pair(settings: Settings) -> AsyncIterator[tuple[Restartable, LiveServer]]:
    """A server that can be restarted, and a second instance on the same database that keeps
    taking writes while the first is down (without Redis, its broadcasts reach only its own
    sockets: the page, on the first, sees them only by catching up)."""
    first = Restartable(settings)
    await first.start()
    try:
        async with live_server(settings) as second:
            yield first, second
    finally:
        await first.stop()


@pytest.fixture
async def pair_team(pair: tuple[Restartable, LiveServer]) -> AsyncIterator[factories.Team]:
    first, _second = pair
    assert first.live is not None
    async with httpx.AsyncClient(base_url=first.url, timeout=10) as http:
        team = await factories.team(first.live, http)
    yield team
    await team.close()


async def shown_exactly(
    window: Window, http: httpx.AsyncClient, vault_id: str, name: str, since: int
) -> None:
    """The page shows the database's sources at the vault's latest seq, and its log holds
    every event of the vault after its first join (at ``since``), once."""
    events = await database_events(http, vault_id)
    card = window.card(vault_id)
    await expect(card.locator(".seq")).to_have_text(str(events[-1]["seq"]), timeout=WAIT)
    titles = sorted(s["title"] for s in (await database_sources(http, vault_id)).values())
    shown = sorted(await card.locator("li.source .title").all_inner_texts())
    assert shown == titles
    rows = window.page.locator("#log tr.live, #log tr.caught-up")
    logged = [
        int(seq)
        for vault, seq in await rows.evaluate_all(
            "rows => rows.map(r => [r.cells[1].textContent, r.cells[4].textContent])"
        )
        if vault == name
    ]
    assert sorted(logged) == [e["seq"] for e in events if e["seq"] > since]


async def test_the_page_loses_nothing_across_a_restart_and_a_gap(browser, pair, pair_team):
    team = pair_team
    first, second = pair
    shelf = await factories.vault(team.owner, "Second shelf")
    await factories.add(team.owner, shelf["id"], team.viewer, "viewer")
    vaults = {team.vault_id: "Reading list", shelf["id"]: "Second shelf"}
    joined_at = {team.vault_id: 2, shelf["id"]: 1}
    window = await open_window(browser, first.url, team.viewer.email, team.vault_id)
    await (
        window.page.locator("#vault-list li", has_text="Second shelf")
        .get_by_role("button", name="Join")
        .click()
    )
    await expect(window.card(shelf["id"]).locator(".seq")).to_have_text("1", timeout=WAIT)
    via_first = {v: Writer(first.url, team.owner.token, v) for v in vaults}
    via_second = {v: Writer(second.url, team.owner.token, v) for v in vaults}
    try:
        for writer in via_first.values():
            await writer.mutate(3)
        await expect(window.card(team.vault_id).locator(".seq")).to_have_text("5", timeout=WAIT)

        await first.stop()
        await expect(window.conn).to_have_text(
            re.compile(r"^reconnecting \(attempt \d+\)$"), timeout=WAIT
        )
        # While the page is away: a few changes in one vault, and in the other more than one
        # join returns (500), so the page pages through the rest over REST.
        await via_second[team.vault_id].mutate(10)
        for _ in range(501):
            await via_second[shelf["id"]].create()
        await first.start()
        await expect(window.conn).to_have_text("connected", timeout=WAIT)
        for name, count in (("Reading list", 10), ("Second shelf", 501)):
            await expect(window.log_row(f"joined {name} as viewer")).to_have_count(2, timeout=WAIT)
            rejoined = window.log_row(f"joined {name} as viewer").first  # the newest
            await expect(rejoined).to_contain_text(f"caught up {count}")
        await expect(window.page.locator("#reconnects")).to_contain_text("reconnected: 1")
        for vault_id, name in vaults.items():
            await shown_exactly(
                window, via_second[vault_id].http, vault_id, name, joined_at[vault_id]
            )

        # Missed broadcasts: the next live event skips ahead and the page fetches the gap.
        for vault_id in vaults:
            await via_second[vault_id].mutate(4)
            await via_first[vault_id].create(title="After the gap")
        for vault_id, name in vaults.items():
            await expect(window.source(vault_id, "After the gap")).to_be_visible(timeout=WAIT)
            await shown_exactly(
                window, via_second[vault_id].http, vault_id, name, joined_at[vault_id]
            )
        assert window.errors == []
    finally:
        for writer in (*via_first.values(), *via_second.values()):
            await writer.close()


async def session_token(window: Window) -> str:
    cookies = await window.context.cookies()
    return next(c["value"] for c in cookies if c["name"] == "sourcevault_session")


async def test_an_ended_session_asks_for_a_new_login(browser, pair, pair_team):
    team = pair_team
    first, second = pair
    vault_id = team.vault_id

    # Logged out elsewhere while connected: the server says so and the page stops.
    window = await open_window(browser, first.url, team.viewer.email, vault_id)
    token = await session_token(window)
    async with httpx.AsyncClient(base_url=first.url, timeout=10) as http:
        response = await http.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204
    await expect(window.page.locator("#notice")).to_have_text(
        "You were logged out (from another window). Please log in again.", timeout=WAIT
    )
    await expect(window.conn).to_have_text("stopped: logged out")
    await expect(window.page.locator("#login-panel")).to_be_visible()

    # Ended while the page was away: its reconnect is refused, and the page stops.
    other = await open_window(browser, first.url, team.contributor.email, vault_id)
    token = await session_token(other)
    await first.stop()
    await expect(other.conn).to_have_text(re.compile("^reconnecting"), timeout=WAIT)
    async with httpx.AsyncClient(base_url=second.url, timeout=10) as http:
        response = await http.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204
    await first.start()
    await expect(other.page.locator("#notice")).to_have_text(
        "The server no longer accepts this session. Please log in again.", timeout=WAIT
    )
    await expect(other.conn).to_have_text("stopped: unauthorized")

    # Logging in again brings the vault back.
    await other.page.locator('#login-form input[name="email"]').fill(team.contributor.email)
    await other.page.locator('#login-form input[name="password"]').fill(factories.PASSWORD)
    await other.page.locator("#login-form").get_by_role("button", name="Log in").click()
    await expect(other.conn).to_have_text("connected", timeout=WAIT)
    await expect(other.card(vault_id)).to_be_visible(timeout=WAIT)
    assert window.errors == [] and other.errors == []
