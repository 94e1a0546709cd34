"""Issue 16.4 in the browser, the path the live event cannot cover: the other person's write
lands while the editor is open but its event never reaches the editor's page (the test holds
that page's socket frames), so Save goes out with the stale ``version``. The server's 409
``CONFLICT`` (with ``details.source``) then drives the side-by-side choice; a 404 does the
same when the source was deleted meanwhile."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import WebSocketRoute, expect

from tests import factories
from tests.factories import Team
from tests.live import LiveServer
from tests.web.people import LIVE, WAIT, Person, sign_in

pytestmark = pytest.mark.browser

HELD = re.compile(r'^\d*\["source:(updated|deleted)"')


class Held:
    """The page's Socket.IO frames pass both ways, except source changes from the server
    while ``on``: those are dropped, as if they were lost on the way."""

    def __init__(self) -> None:
        self.on = False
        self.dropped = asyncio.Event()

    def route(self, page_side: WebSocketRoute) -> None:
        server_side = page_side.connect_to_server()

        def from_server(message: str | bytes) -> None:
            if self.on and isinstance(message, str) and HELD.match(message):
                self.dropped.set()
                return
            page_side.send(message)

        server_side.on_message(from_server)
        page_side.on_message(server_side.send)


async def held_person(browser, server: LiveServer, name: str, email: str) -> tuple[Person, Held]:
    person = await sign_in(browser, server.url, name, email)
    held = Held()
    await person.context.route_web_socket(re.compile(r"/socket\.io/"), held.route)
    await person.page.reload()  # the socket opens again, through the route
    await expect(person.conn).to_have_text("connected", timeout=WAIT)
    return person, held


async def test_a_stale_save_is_answered_by_the_server(browser, server: LiveServer, team: Team):
    await factories.source(team.owner, team.vault_id, title="Edited by both")
    await factories.source(team.owner, team.vault_id, title="Deleted meanwhile")
    owner = await sign_in(browser, server.url, team.owner.name, team.owner.email)
    carl, held = await held_person(browser, server, team.contributor.name, team.contributor.email)
    for who in (owner, carl):
        await who.open_vault("Reading list")
        await expect(who.titles()).to_have_count(2, timeout=WAIT)

    # Carl opens the editor; the owner's edit lands; Carl's page never hears of it.
    held.on = True
    await carl.source("Edited by both").get_by_role("button", name="Edit Edited by both").click()
    form = carl.page.locator("form.edit-source")
    await form.get_by_label("Title").fill("Carl's title")
    await owner.source("Edited by both").get_by_role("button", name="Edit Edited by both").click()
    owner_form = owner.page.locator("form.edit-source")
    await owner_form.get_by_label("Title").fill("Olive's title")
    await owner.button("Save", owner_form).click()
    await expect(owner.source("Olive's title").locator(".meta")).to_contain_text("v2")
    await asyncio.wait_for(held.dropped.wait(), LIVE / 1000)
    await expect(form.locator(".conflict")).to_have_count(0)  # no live event: Save decides

    # Save with version 1: the 409 shows their version beside Carl's.
    await carl.button("Save", form).click()
    conflict = form.locator(".conflict")
    await expect(conflict).to_contain_text("Someone else changed this source", timeout=WAIT)
    await expect(conflict.locator(".their-title")).to_have_text("Olive's title")
    await expect(conflict).to_contain_text("Theirs (version 2)")
    await expect(form.get_by_label("Title")).to_have_value("Carl's title")
    await carl.no_serious_violations("conflict on save")
    await carl.shot("conflict-on-save")
    held.on = False
    await carl.button("Keep mine", conflict).click()
    for who in (owner, carl):
        row = who.source("Carl's title")
        await expect(row.locator(".meta")).to_contain_text("v3", timeout=LIVE)
        await expect(who.source("Olive's title")).to_have_count(0)

    # Deleted meanwhile: Save's 404 offers to keep Carl's as a new source.
    name = "Edit Deleted meanwhile"
    await carl.source("Deleted meanwhile").get_by_role("button", name=name).click()
    await form.get_by_label("Title").fill("Kept after a deletion")
    held.dropped.clear()
    held.on = True
    await (
        owner.source("Deleted meanwhile")
        .get_by_role("button", name="Delete Deleted meanwhile")
        .click()
    )
    await expect(owner.source("Deleted meanwhile")).to_have_count(0, timeout=LIVE)
    await asyncio.wait_for(held.dropped.wait(), LIVE / 1000)
    await carl.button("Save", form).click()
    await expect(conflict).to_contain_text("Someone else deleted this source", timeout=WAIT)
    held.on = False
    await carl.button("Add mine as a new source", conflict).click()
    for who in (owner, carl):
        await expect(who.source("Kept after a deletion")).to_be_visible(timeout=LIVE)
        await expect(who.source("Deleted meanwhile")).to_have_count(0, timeout=LIVE)
    await expect(carl.titles()).to_have_text(["Kept after a deletion", "Carl's title"])

    for who in (owner, carl):
        assert who.errors == [], (who.name, who.errors)
        await who.close()
