"""Issue 16: the app at ``/`` in a real browser, under the server's Content-Security-Policy.
Three people (owner, contributor, viewer), each in a browser context of their own, walk the
whole journey: sign up, make a vault, add members, add, edit and delete sources from each
side and see it live in the others, settle an edit conflict, come back from being offline,
rename and delete the vault. axe-core scans each screen; each screen is saved as a PNG."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Locator, expect

from tests.live import LiveServer
from tests.web.people import LIVE, WAIT, sign_up

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


def in_row(row: Locator, text: str) -> Locator:
    return row.locator("button").filter(has_text=re.compile(f"^{re.escape(text)}$"))


async def server_titles(http: httpx.AsyncClient, vault_id: str) -> list[str]:
    page = (await http.get(f"/api/vaults/{vault_id}/sources", params={"limit": 100})).json()
    return [s["title"] for s in page["sources"]]


async def test_three_people_use_the_app_together(browser, server: LiveServer):
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        page = await http.get("/")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "<script>" not in page.text and "style=" not in page.text

    owner = await sign_up(browser, server.url, "Olive Owner", "olive@example.org")
    contributor = await sign_up(browser, server.url, "Carl Contributor", "carl@example.org")
    viewer = await sign_up(browser, server.url, "Vera Viewer", "vera@example.org")
    everyone = (owner, contributor, viewer)
    await owner.no_serious_violations("empty vault list")

    # The owner makes a vault and adds the other two by email.
    form = owner.page.locator("form.new-vault")
    await form.get_by_label("Name").fill("Reading list")
    await form.get_by_label("Description").fill("Papers for the reading group")
    await owner.button("Create vault", form).click()
    await expect(owner.page.locator("h1.vault-title")).to_have_text("Reading list", timeout=WAIT)
    vault_id = await owner.page.locator(".vault-view").get_attribute("data-vault-id")
    assert vault_id
    members = owner.page.locator("form.add-member")
    for who, role in ((contributor, "contributor"), (viewer, "viewer")):
        await members.get_by_label("Email").fill(who.email)
        await members.get_by_label("Role").select_option(role)
        await owner.button("Add member", members).click()
        await expect(owner.page.locator("li.member", has_text=who.name)).to_be_visible()
    await expect(owner.page.locator(".feed-item").first).to_have_text(
        re.compile("^Olive Owner added Vera Viewer as viewer")
    )

    # The last-owner rule, in words.
    mine = owner.page.locator("li.member", has_text="(you)")
    await mine.get_by_label("Role of Olive Owner").select_option("contributor")
    await expect(owner.page.locator(".members .error")).to_have_text(
        "A vault must keep at least one owner: make another member an owner first, then try again."
    )
    await expect(owner.page.locator("#my-role")).to_have_text("owner")

    for who, role in ((contributor, "contributor"), (viewer, "viewer")):
        await who.button("Refresh").click()
        row = who.page.locator("li.vault-row", has_text="Reading list")
        await expect(row.locator(".badge")).to_have_text(role)
        await expect(row.locator(".members-count")).to_have_text("3 members")
        await expect(row.locator(".last-change")).to_contain_text("Olive Owner")
        await who.open_vault("Reading list")
        await expect(who.page.locator("#my-role")).to_have_text(role)
    await viewer.shot("vault-list-viewer-before-open")

    # The viewer sees no write controls at all.
    await expect(viewer.page.locator("form.add-source")).to_have_count(0)
    await expect(viewer.page.locator("form.add-member")).to_have_count(0)
    await expect(viewer.page.locator(".read-only")).to_be_visible()

    # Added by the owner: live in the others, flagged with who did it.
    await owner.add_source(
        "Attention Is All You Need",
        "https://arxiv.org/abs/1706.03762",
        "ml, nlp",
        "The transformer paper.",
    )
    for who in (contributor, viewer):
        row = who.source("Attention Is All You Need")
        await expect(row).to_be_visible(timeout=LIVE)
        await expect(row.locator(".changed-by")).to_have_text("new")
        await expect(row.locator(".meta")).to_contain_text("added by Olive Owner")
        await expect(row).to_contain_text("The transformer paper.")
    await expect(viewer.page.locator("#announce")).to_have_text(
        "Olive Owner added “Attention Is All You Need”", timeout=LIVE
    )
    # ... and the viewer has no Edit or Delete on it.
    await expect(viewer.source("Attention Is All You Need").locator(".actions")).to_have_count(0)

    # A title that is markup is shown as text and runs nothing.
    await contributor.add_source(XSS, tags="xss")
    for who in everyone:
        row = who.source(XSS)
        await expect(row.locator(".title")).to_have_text(XSS, timeout=LIVE)
        await expect(who.page.locator("ul.sources img")).to_have_count(0)
    await contributor.add_source("Designing Data-Intensive Applications", tags="books, db")

    # Edited by the contributor: live in the others.
    row = contributor.source("Designing Data-Intensive Applications")
    await in_row(row, "Edit").click()
    edit = contributor.page.locator("form.edit-source")
    await edit.get_by_label("Title").fill("Designing Data-Intensive Applications (2017)")
    await in_row(edit, "Save").click()
    for who in (owner, viewer):
        row = who.source("(2017)")
        await expect(row).to_be_visible(timeout=LIVE)
        await expect(row.locator(".changed-by")).to_have_text("edited by Carl Contributor")
        await expect(row.locator(".meta")).to_contain_text("v2")

    # Filter by tag and search by title.
    await viewer.page.get_by_label("Filter by tag").select_option("ml")
    await expect(viewer.titles()).to_have_text(["Attention Is All You Need"])
    await viewer.page.get_by_label("Filter by tag").select_option("")
    await viewer.page.get_by_label("Search sources").fill("designing")
    await expect(viewer.titles()).to_have_text(["Designing Data-Intensive Applications (2017)"])
    await viewer.page.get_by_label("Search sources").fill("")
    await expect(viewer.titles()).to_have_count(3)

    for who, screen in ((owner, "owner"), (contributor, "contributor"), (viewer, "viewer")):
        await who.no_serious_violations(f"vault view ({screen})")
        await who.shot(f"vault-view-{screen}")

    # An edit conflict: both start from v1; the owner saves first; the contributor sees
    # both versions and keeps theirs, which is what is saved, with nothing lost silently.
    title = "Attention Is All You Need"
    await in_row(owner.source(title), "Edit").click()
    await in_row(contributor.source(title), "Edit").click()
    owner_form = owner.page.locator("form.edit-source")
    contributor_form = contributor.page.locator("form.edit-source")
    await contributor_form.get_by_label("Title").fill("Attention (Vaswani et al.)")
    await owner_form.get_by_label("Title").fill("Attention (the owner's title)")
    await in_row(owner_form, "Save").click()
    conflict = contributor_form.locator(".conflict")
    await expect(conflict).to_contain_text("Olive Owner changed this source", timeout=LIVE)
    await expect(conflict.locator(".their-title")).to_have_text("Attention (the owner's title)")
    await expect(contributor_form.get_by_label("Title")).to_have_value("Attention (Vaswani et al.)")
    await contributor.no_serious_violations("edit conflict")
    await contributor.shot("edit-conflict")
    await in_row(conflict, "Keep mine").click()
    for who in everyone:
        await expect(who.source("Attention (Vaswani et al.)").locator(".meta")).to_contain_text(
            "v3", timeout=LIVE
        )
        await expect(who.source("the owner's title")).to_have_count(0)

    # The 409 path too: the viewer's page, which may not write, is refused by the server.
    source_id = await viewer.source("Vaswani").get_attribute("data-id")
    refused = await viewer.page.evaluate(
        """async (id) => {
            const r = await fetch(`/api/sources/${id}`, {method: "PATCH",
              headers: {"Content-Type": "application/json"},
              body: JSON.stringify({title: "Viewer was here", version: 3})});
            return [r.status, (await r.json()).error.code];
        }""",
        source_id,
    )
    assert refused == [403, "INSUFFICIENT_PERMISSIONS"]

    # Deleted by the owner: shown as deleted in the others, not silently dropped.
    await in_row(owner.source(XSS), "Delete").click()
    for who in (contributor, viewer):
        await expect(who.page.locator(".tombstone")).to_have_text(
            f"“{XSS}” was deleted by Olive Owner", timeout=LIVE
        )
        await expect(who.source(XSS)).to_have_count(0)

    # The activity feed, live.
    feed = viewer.page.locator(".feed-item")
    await expect(feed.first).to_contain_text(f"Olive Owner deleted “{XSS}”")
    await expect(viewer.page.locator(".feed")).to_contain_text(
        "Carl Contributor edited “Attention (Vaswani et al.)”"
    )

    # Offline while the others write; back online, exactly the server's list.
    await viewer.context.set_offline(True)
    await expect(viewer.conn).not_to_have_text("connected", timeout=WAIT)
    await owner.add_source("Written while the viewer was away")
    await contributor.add_source("Also written while away", tags="away")
    await in_row(contributor.source("(2017)"), "Delete").click()
    await expect(owner.source("(2017)")).to_have_count(0, timeout=LIVE)
    await viewer.context.set_offline(False)
    await expect(viewer.conn).to_have_text("connected", timeout=WAIT)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        login = await http.post(
            "/api/auth/token", json={"email": viewer.email, "password": "correct horse battery"}
        )
        http.headers["Authorization"] = f"Bearer {login.json()['token']}"
        expected = await server_titles(http, vault_id)
    assert len(expected) == 3
    await expect(viewer.titles()).to_have_text(expected, timeout=WAIT)

    # Renamed by the owner from the list: live in the others' vault views.
    await owner.page.get_by_role("link", name="← All vaults").click()
    row = owner.page.locator("li.vault-row", has_text="Reading list")
    await expect(row.locator(".members-count")).to_have_text("3 members")
    await owner.no_serious_violations("vault list")
    await owner.shot("vault-list-owner")
    await in_row(row, "Rename").click()
    await row.get_by_label("New name for Reading list").fill("Reading group")
    await in_row(row, "Save name").click()
    await expect(owner.page.locator("li.vault-row .vault-name")).to_have_text("Reading group")
    for who in (contributor, viewer):
        await expect(who.page.locator("h1.vault-title")).to_have_text("Reading group", timeout=LIVE)

    # Deleted by the owner, after a confirmation that names it: everyone is told and taken
    # back to their list.
    row = owner.page.locator("li.vault-row", has_text="Reading group")
    await in_row(row, "Delete").click()
    await expect(row.locator(".confirm")).to_contain_text("Delete the vault “Reading group”")
    await owner.no_serious_violations("delete confirmation")
    await in_row(row, "Delete “Reading group”").click()
    await expect(owner.page.locator("li.vault-row")).to_have_count(0, timeout=LIVE)
    for who in (contributor, viewer):
        await expect(who.page.locator(".notice")).to_contain_text(
            "This vault was deleted by Olive Owner (owner).", timeout=LIVE
        )
        await expect(who.page.get_by_role("heading", name="Your vaults")).to_be_visible()
        await expect(who.page.locator("li.vault-row")).to_have_count(0)

    # Signing out ends at the sign-in screen.
    await owner.button("Sign out").click()
    await expect(owner.page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT)
    await owner.no_serious_violations("sign in")
    await owner.shot("sign-in")

    for who in everyone:
        assert who.dialogs == [], who.name
        assert who.errors == [], (who.name, who.errors)
        await who.close()
