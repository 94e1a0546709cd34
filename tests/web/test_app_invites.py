"""Issue 17.1 in the browser: an owner makes an invite link, sees it once and copies it; a
brand-new person opens it, sees what it is for, signs up, joins and lands in the vault while
the owner sees them appear among the members live. A used-up or revoked link says so in
words; someone already in the vault who opens an old link lands in it."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.factories import PASSWORD, Team
from tests.live import LiveServer
from tests.web.people import LIVE, WAIT, Person, new_person, sign_in

pytestmark = pytest.mark.browser


async def make_link(owner: Person, role: str, uses: str = "") -> str:
    panel = owner.page.locator("section.invites")
    await panel.get_by_label("Role").select_option(role)
    await panel.get_by_label("Most uses").fill(uses)
    await owner.button("Make link", panel).click()
    shown = panel.get_by_label(re.compile(f"^New {role} link"))
    await expect(shown).to_have_value(re.compile(r"/invite#token=[A-Za-z0-9_-]{43}$"))
    return await shown.input_value()


def path_of(url: str) -> str:
    return url[url.index("/invite#") :]


async def test_a_new_person_joins_through_a_link(browser, server: LiveServer, team: Team):
    owner = await sign_in(browser, server.url, team.owner.name, team.owner.email)
    await owner.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await owner.open_vault("Reading list")

    # Made, shown once with a copy button, listed without its secret.
    url = await make_link(owner, "contributor", uses="1")
    assert url.startswith(server.url)
    await owner.button("Copy link").click()
    await expect(owner.page.locator(".invite-made")).to_contain_text("Copied.")
    assert await owner.page.evaluate("() => navigator.clipboard.readText()") == url
    listed = owner.page.locator("li.invite")
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text("0 of 1 uses")
    await expect(listed).to_contain_text("by Olive Owner")
    await owner.no_serious_violations("invite links")
    await owner.shot("invite-links-owner")

    # A brand-new person opens the link: the preview, then sign up, join, and the vault.
    nina = await new_person(browser, server.url, "Nina Newcomer", "nina@example.org")
    await nina.page.goto(path_of(url))
    note = nina.page.locator(".invite-note")
    await expect(note).to_contain_text(
        "Olive Owner invites you to the vault Reading list as contributor", timeout=WAIT
    )
    await nina.no_serious_violations("invite preview")
    await nina.shot("invite-preview")
    await nina.button("Create an account").click()
    form = nina.page.locator("#signin-form")
    await form.get_by_label("Name").fill(nina.name)
    await form.get_by_label("Email").fill(nina.email)
    await form.get_by_label("Password").fill(PASSWORD)
    await nina.button("Create account", form).click()
    await expect(nina.page.get_by_role("heading", name="Invitation")).to_be_visible(timeout=WAIT)
    await nina.no_serious_violations("invite, signed in")
    await nina.button("Join “Reading list”").click()
    await expect(nina.page.locator("h1.vault-title")).to_have_text("Reading list", timeout=WAIT)
    await expect(nina.page.locator("#my-role")).to_have_text("contributor")
    assert "token" not in nina.page.url
    await expect(owner.page.locator("li.member", has_text="Nina Newcomer")).to_be_visible(
        timeout=LIVE
    )
    await expect(owner.page.locator(".feed-item").first).to_contain_text(
        "Nina Newcomer added Nina Newcomer as contributor"
    )

    # Used up: someone else is told so, in words.
    otto = await sign_in(browser, server.url, team.outsider.name, team.outsider.email)
    await otto.page.goto(path_of(url))
    gone = otto.page.locator(".invite-gone")
    await expect(gone).to_have_text(
        "This invite has been used up. Ask an owner of the vault for a new link.", timeout=WAIT
    )
    await otto.no_serious_violations("invite gone")
    await otto.shot("invite-gone")

    # Already a member: the same used-up link lands Nina in the vault.
    await nina.page.get_by_role("link", name="← All vaults").click()
    await nina.page.goto(path_of(url))
    await expect(nina.page.locator("h1.vault-title")).to_have_text("Reading list", timeout=WAIT)

    # Revoked: it leaves the list, and its link says it was revoked.
    second = await make_link(owner, "viewer")
    await expect(listed).to_have_count(2)
    await owner.page.locator("li.invite", has_text="viewer").get_by_role("button").click()
    await expect(listed).to_have_count(1)
    await expect(owner.page.locator(".invite-made")).to_have_count(0)
    await otto.button("Go to your vaults").click()
    await expect(otto.page.get_by_role("heading", name="Your vaults")).to_be_visible()
    await otto.page.goto(path_of(second))
    await expect(gone).to_have_text(
        "This invite has been revoked. Ask an owner of the vault for a new link.", timeout=WAIT
    )
    await expect(otto.page.locator("li.vault-row")).to_have_count(0)

    for who in (owner, nina, otto):
        assert who.errors == [], (who.name, who.errors)
        await who.close()


async def test_a_signed_out_member_signs_in_through_a_link(browser, server: LiveServer, team: Team):
    """Signing in (not up) from the link's screen, for someone who has an account."""
    made = await team.owner.http.post(
        f"/api/vaults/{team.vault_id}/invites", json={"role": "viewer"}
    )
    url = made.json()["invite"]["url"]
    otto = await new_person(browser, server.url, team.outsider.name, team.outsider.email)
    await otto.page.goto(path_of(url))
    await expect(otto.page.locator(".invite-note")).to_contain_text("as viewer", timeout=WAIT)
    form = otto.page.locator("#signin-form")
    await form.get_by_label("Email").fill(otto.email)
    await form.get_by_label("Password").fill(PASSWORD)
    await otto.button("Sign in", form).click()
    await otto.button("Join “Reading list”").click()
    await expect(otto.page.locator("#my-role")).to_have_text("viewer", timeout=WAIT)
    await expect(otto.page.locator("form.add-source")).to_have_count(0)
    assert otto.errors == []
    await otto.close()
