"""Issue 16, points 1, 5 and 8 in the browser: a role changed or revoked while a person looks
at the vault changes what they may do at once, a removed member is told and taken back to the
list, a session ended elsewhere ends on a screen that says so, and a demo server's logins are
offered on the sign-in screen."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from sourcevault.web import routes
from tests.factories import PASSWORD, Team
from tests.live import LiveServer
from tests.web.people import LIVE, WAIT, new_person, sign_in

pytestmark = pytest.mark.browser


async def test_role_changes_and_removal_reach_the_open_vault(
    browser, server: LiveServer, team: Team
):
    viewer = await sign_in(browser, server.url, team.viewer.name, team.viewer.email)
    contributor = await sign_in(browser, server.url, team.contributor.name, team.contributor.email)
    for who in (viewer, contributor):
        await who.open_vault("Reading list")
    await expect(viewer.page.locator("form.add-source")).to_have_count(0)

    # Promoted while looking: the write controls appear, and a source can be added.
    response = await team.owner.http.patch(
        f"/api/vaults/{team.vault_id}/members/{team.viewer.id}", json={"role": "contributor"}
    )
    assert response.status_code == 200
    await expect(viewer.page.locator("#my-role")).to_have_text("contributor", timeout=LIVE)
    await expect(viewer.page.locator(".notice")).to_have_text(
        "Your role in Reading list is now contributor.Dismiss"
    )
    await viewer.add_source("Added after a promotion")
    await expect(contributor.source("Added after a promotion")).to_be_visible(timeout=LIVE)

    # Removed while looking: told, and back at the list without the vault.
    response = await team.owner.http.delete(
        f"/api/vaults/{team.vault_id}/members/{team.contributor.id}"
    )
    assert response.status_code == 204
    await expect(contributor.page.locator(".notice")).to_contain_text(
        "You were removed from this vault.", timeout=LIVE
    )
    await expect(contributor.page.get_by_role("heading", name="Your vaults")).to_be_visible()
    await expect(contributor.page.locator("li.vault-row")).to_have_count(0)

    # Signed out elsewhere: the page says so and asks for a new sign-in.
    token = next(
        c["value"] for c in await viewer.context.cookies() if c["name"] == "sourcevault_session"
    )
    response = await team.owner.http.post(
        "/api/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 204
    await expect(viewer.page.locator(".ended")).to_have_text(
        "You were signed out (from another window or device). Please sign in again.",
        timeout=WAIT,
    )
    await expect(viewer.conn).to_have_count(0)
    await viewer.no_serious_violations("session ended")
    await viewer.shot("session-ended")
    for who in (viewer, contributor):
        assert who.errors == [], (who.name, who.errors)
        await who.close()


async def test_a_demo_server_offers_its_logins_whenever_the_sign_in_screen_shows(
    browser, server: LiveServer, team: Team
):
    routes.enable_demo(
        server.app, [{"email": team.owner.email, "password": PASSWORD, "role": "owner"}]
    )
    owner = await new_person(browser, server.url, team.owner.name, team.owner.email)
    await owner.button("Sign in as the owner").click()
    await expect(owner.page.get_by_role("heading", name="Your vaults")).to_be_visible(timeout=WAIT)

    # Opened again while signed in (the list, with its counts), then signed out: offered again.
    await owner.page.reload()
    row = owner.page.locator("li.vault-row", has_text="Reading list")
    await expect(row.locator(".members-count")).to_have_text("3 members", timeout=WAIT)
    await owner.button("Sign out").click()
    await expect(owner.button("Sign in as the owner")).to_be_visible(timeout=WAIT)
    assert owner.errors == []
