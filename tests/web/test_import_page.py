"""The test page follows an import: one ``sources:imported`` event, and the page reads the
vault's sources again, so the imported ones show without a reload."""

from __future__ import annotations

from playwright.async_api import expect

from tests import factories
from tests.factories import Team
from tests.live import LiveServer
from tests.web.windows import open_window

LIVE = 3000  # ms: the event, then one page of sources read over REST


async def test_the_page_shows_imported_sources_live(browser, server: LiveServer, team: Team):
    window = await open_window(browser, server.url, team.viewer.email, team.vault_id)
    try:
        rows = "title,url,annotation,tags\n" + "".join(
            f"Imported {n},https://example.org/{n},,\n" for n in range(3)
        )
        response = await team.contributor.http.post(
            f"/api/vaults/{team.vault_id}/import", params={"format": "csv"}, content=rows
        )
        assert response.status_code == 201, response.text
        for n in range(3):
            await expect(window.source(team.vault_id, f"Imported {n}")).to_be_visible(timeout=LIVE)
        await expect(window.log_row("sources:imported")).to_contain_text(
            "Carl Contributor (contributor)"
        )
        # And what comes after it still applies.
        await factories.source(team.owner, team.vault_id, title="After the import")
        await expect(window.source(team.vault_id, "After the import")).to_be_visible(timeout=LIVE)
        assert window.errors == []
    finally:
        await window.close()
