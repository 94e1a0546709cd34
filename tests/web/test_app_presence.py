"""Presence in the app: two people with one vault open each see the other under "Here now",
and one closing it is shown to the other at once."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.factories import Team
from tests.live import LiveServer
from tests.web.people import LIVE, sign_in

pytestmark = pytest.mark.browser


async def test_two_people_in_one_vault_see_each_other_come_and_go(
    browser, server: LiveServer, team: Team
):
    viewer = await sign_in(browser, server.url, team.viewer.name, team.viewer.email)
    contributor = await sign_in(browser, server.url, team.contributor.name, team.contributor.email)
    here = {who.name: who.page.locator(".here .here-name") for who in (viewer, contributor)}

    await viewer.open_vault("Reading list")
    await expect(here[viewer.name]).to_have_text(["Vera Viewer (you)"], timeout=LIVE)
    await contributor.open_vault("Reading list")
    # The ack's list for the newcomer; presence:joined for the one already there.
    await expect(here[contributor.name]).to_have_text(
        ["Vera Viewer", "Carl Contributor (you)"], timeout=LIVE
    )
    await expect(here[viewer.name]).to_have_text(
        ["Vera Viewer (you)", "Carl Contributor"], timeout=LIVE
    )
    roles = viewer.page.locator(".here li.here-user .badge")
    await expect(roles).to_have_text(["viewer", "contributor"])
    await viewer.no_serious_violations("vault with two people here")

    await contributor.page.get_by_role("link", name="← All vaults").click()
    await expect(here[viewer.name]).to_have_text(["Vera Viewer (you)"], timeout=LIVE)
    await viewer.shot("vault-here-now-alone-again")
    for who in (viewer, contributor):
        assert who.errors == []
        await who.close()
