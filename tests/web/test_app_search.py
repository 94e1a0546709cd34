"""Issues 16.3 and 17.3 in the browser: the vault's search box asks the server's full-text
search (ranked, with the tag filter), and a search left open gains a matching source that
someone else adds, while a source that does not match stays out of it."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests import factories
from tests.factories import Team
from tests.live import LiveServer
from tests.web.people import LIVE, WAIT, sign_in

pytestmark = pytest.mark.browser


async def test_an_open_search_follows_the_vault(browser, server: LiveServer, team: Team):
    for title, annotation, tags in (
        ("Attention Is All You Need", "The transformer paper.", ["ml", "nlp"]),
        ("Transformers for image recognition", None, ["ml", "vision"]),
        ("Cooking with pasta", "Nothing about machines.", ["food"]),
    ):
        await factories.source(
            team.owner, team.vault_id, title=title, annotation=annotation, tags=tags
        )
    viewer = await sign_in(browser, server.url, team.viewer.name, team.viewer.email)
    contributor = await sign_in(browser, server.url, team.contributor.name, team.contributor.email)
    for who in (viewer, contributor):
        await who.open_vault("Reading list")
    await expect(viewer.titles()).to_have_count(3, timeout=WAIT)

    # Full text, ranked: a title match before a match in the note; a prefix finds both.
    box = viewer.page.get_by_label("Search sources")
    await box.fill("transformer*")
    await expect(viewer.titles()).to_have_text(
        ["Transformers for image recognition", "Attention Is All You Need"], timeout=WAIT
    )
    await expect(viewer.page.locator(".filters .count")).to_have_text("2 matches, best first")
    # The tag filter narrows the search (tag= with q=).
    await viewer.page.get_by_label("Filter by tag").select_option("nlp")
    await expect(viewer.titles()).to_have_text(["Attention Is All You Need"], timeout=WAIT)
    await viewer.page.get_by_label("Filter by tag").select_option("")
    await expect(viewer.titles()).to_have_count(2, timeout=WAIT)

    # Someone else adds a source that does not match, then one that does (in its note: it
    # ranks with the other note match, newest first).
    await contributor.add_source("Baking bread", tags="food")
    await contributor.add_source("Circuits", note="How a transformer computes.")
    await expect(viewer.titles()).to_have_text(
        ["Transformers for image recognition", "Circuits", "Attention Is All You Need"],
        timeout=LIVE,
    )
    await expect(viewer.source("Circuits").locator(".changed-by")).to_have_text("new")
    await expect(viewer.page.locator(".feed")).to_contain_text("added “Baking bread”")
    await expect(viewer.source("Baking bread")).to_have_count(0)
    # An edit that makes a source match brings it in; a deletion takes one out.
    await viewer.no_serious_violations("search")
    await viewer.shot("search-open")
    row = contributor.source("Baking bread")
    await row.get_by_role("button", name="Edit Baking bread").click()
    edit = contributor.page.locator("form.edit-source")
    await edit.get_by_label("Note").fill("A transformer of flour.")
    await contributor.button("Save", edit).click()
    await expect(viewer.source("Baking bread")).to_be_visible(timeout=LIVE)
    await contributor.source("Circuits").get_by_role("button", name="Delete Circuits").click()
    await expect(viewer.source("Circuits")).to_have_count(0, timeout=LIVE)
    await expect(viewer.titles()).to_have_count(3)

    # Closing the search shows the whole vault again.
    await box.fill("")
    await expect(viewer.titles()).to_have_text(
        [
            "Baking bread",
            "Cooking with pasta",
            "Transformers for image recognition",
            "Attention Is All You Need",
        ],
        timeout=WAIT,
    )
    for who in (viewer, contributor):
        assert who.errors == [], (who.name, who.errors)
        await who.close()
