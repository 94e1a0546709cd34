"""Issue 16, points 3 and 6: a long vault is drawn a hundred rows at a time, newest first, a
change still shows at the top live, and its activity pages back through the event log."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests import factories
from tests.factories import Team
from tests.live import LiveServer
from tests.web.people import LIVE, WAIT, sign_in

pytestmark = pytest.mark.browser


async def test_a_long_vault_shows_a_hundred_rows_at_a_time(browser, server: LiveServer, team: Team):
    for n in range(250):  # one at a time, in order, so "newest first" has one answer
        await factories.source(team.contributor, team.vault_id, title=f"Source {n:03d}")
    viewer = await sign_in(browser, server.url, team.viewer.name, team.viewer.email)
    await viewer.open_vault("Reading list")
    await expect(viewer.page.locator(".filters .count")).to_have_text("250 sources", timeout=WAIT)
    await expect(viewer.titles()).to_have_count(100)
    await expect(viewer.titles().first).to_have_text("Source 249")
    await expect(viewer.titles().last).to_have_text("Source 150")
    await viewer.button("Show more (150 left)").click()
    await expect(viewer.titles()).to_have_count(200)
    await expect(viewer.titles().last).to_have_text("Source 050")

    await factories.source(team.owner, team.vault_id, title="The newest")
    await expect(viewer.titles().first).to_have_text("The newest", timeout=LIVE)
    await expect(viewer.page.locator(".filters .count")).to_have_text("251 sources")

    # The activity feed: the newest 50 events (and the live one), then 50 more on request.
    feed = viewer.page.locator(".feed-item")
    await expect(feed).to_have_count(51)
    await expect(feed.first).to_contain_text("Olive Owner added “The newest”")
    await viewer.button("Older activity").click()
    await expect(feed).to_have_count(101)
    seqs = [int(s) for s in await feed.evaluate_all("items => items.map(i => i.dataset.seq)")]
    assert seqs == list(range(253, 152, -1))
    assert viewer.errors == []
    await viewer.close()
