"""Issue 17.4 in the browser: a contributor picks a BibTeX file, reads the dry run (what
would be imported, what skipped and why), confirms, and another person sees the sources
arrive live; every member can download the export; a viewer sees no import control."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from playwright.async_api import expect

from tests import factories
from tests.factories import Team
from tests.live import LiveServer
from tests.web.people import LIVE, WAIT, sign_in

pytestmark = pytest.mark.browser

ZOTERO = Path(__file__).resolve().parents[1] / "transfer" / "fixtures" / "zotero.bib"


async def test_import_then_export_in_the_app(browser, server: LiveServer, team: Team):
    await factories.source(
        team.owner, team.vault_id, title="Attention", url="http://arxiv.org/abs/1706.03762"
    )
    viewer = await sign_in(browser, server.url, team.viewer.name, team.viewer.email)
    contributor = await sign_in(browser, server.url, team.contributor.name, team.contributor.email)
    for who in (viewer, contributor):
        await who.open_vault("Reading list")
    await expect(viewer.page.locator("form.import")).to_have_count(0)
    await expect(viewer.page.locator("form.add-source")).to_have_count(0)

    # The dry run: what would come in, and what is skipped with the reason.
    form = contributor.page.locator("form.import")
    await form.get_by_label("File to import").set_input_files(ZOTERO)
    await expect(form.get_by_label("Format")).to_have_value("bibtex")
    await contributor.button("Check file", form).click()
    check = contributor.page.locator(".import-check")
    await expect(check.locator(".import-summary")).to_have_text(
        "3 sources to import, 1 duplicate, 1 invalid.", timeout=WAIT
    )
    await expect(check.locator(".skipped li")).to_have_count(2)
    await expect(check.locator(".skipped")).to_contain_text("Attention Is All You Need")
    await contributor.no_serious_violations("import dry run")
    await contributor.shot("import-dry-run")
    assert len(await server_titles(team)) == 1  # a dry run writes nothing

    # Confirmed: one event, and the viewer's list reads the new sources.
    await contributor.button("Import 3 sources").click()
    await expect(contributor.page.locator(".import-done")).to_have_text(
        "Imported 3 sources from zotero.bib.", timeout=WAIT
    )
    titles = await server_titles(team)
    assert len(titles) == 4
    await expect(viewer.titles()).to_have_count(4, timeout=LIVE)
    await expect(viewer.titles()).to_have_text(titles)
    await expect(viewer.page.locator(".feed-item").first).to_contain_text(
        "Carl Contributor imported 3 sources from bibtex"
    )

    # Every member downloads the export, here the viewer, as JSON.
    await viewer.no_serious_violations("import and export, viewer")
    async with viewer.page.expect_download() as info:
        await viewer.page.get_by_role("link", name="JSON", exact=True).click()
    download = await info.value
    assert download.suggested_filename == "Reading list.json"
    exported = json.loads(await anyio.Path(await download.path()).read_text())
    assert sorted(s["title"] for s in exported["sources"]) == sorted(titles)

    for who in (viewer, contributor):
        assert who.errors == [], (who.name, who.errors)
        await who.close()


async def server_titles(team: Team) -> list[str]:
    page = await team.owner.http.get(f"/api/vaults/{team.vault_id}/sources", params={"limit": 100})
    return [s["title"] for s in page.json()["sources"]]
