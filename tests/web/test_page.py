"""FR-015, SC-001, SC-006: the test page in a real browser. Three people in three windows on
one vault see each other's changes live; the viewer's refusal shows in their page; a deleted
vault disappears for everyone."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import expect

from tests import factories
from tests.factories import Team
from tests.live import LiveServer
from tests.web.windows import open_window, side_by_side

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LIVE = 1000  # ms: a change reaches every window within a second


async def test_three_windows_follow_one_vault_live(browser, server: LiveServer, team: Team):
    vault_id = team.vault_id
    owner, contributor, viewer = [
        await open_window(browser, server.url, member.email, vault_id)
        for member in (team.owner, team.contributor, team.viewer)
    ]
    everyone = (owner, contributor, viewer)
    for window, role in zip(everyone, ("owner", "contributor", "viewer"), strict=True):
        await expect(window.card(vault_id).locator(".role")).to_have_text(role)

    # Added through REST: it shows in all three, with who did it, in seq order.
    title = "Attention Is All You Need"
    created = await factories.source(
        team.owner, vault_id, title=title, url="https://arxiv.org/abs/1706.03762", tags=["ml"]
    )
    for window in everyone:
        await expect(window.source(vault_id, title)).to_be_visible(timeout=LIVE)
        row = window.log_row("source:created")
        await expect(row).to_contain_text("Olive Owner (owner)")
        await expect(row.locator("td").nth(4)).to_have_text("3")
        await expect(row.locator("td").nth(5)).to_have_text(re.compile(r"^\d+ ms$"))

    # The contributor edits through the socket and deletes through REST.
    await contributor.via(vault_id, "socket")
    await contributor.source(vault_id, title).get_by_role("button", name="Edit").click()
    edit = contributor.card(vault_id).locator("form.edit-form")
    await edit.locator('input[name="title"]').fill("Attention Is All You Need (2017)")
    await edit.locator('textarea[name="annotation"]').fill("The transformer paper.")
    await edit.get_by_role("button", name="Save").click()
    for window in (owner, viewer):
        edited = window.source(vault_id, "Attention Is All You Need (2017)")
        await expect(edited).to_be_visible(timeout=LIVE)
        await expect(edited).to_contain_text("The transformer paper.")
        await expect(window.log_row("source:updated")).to_contain_text(
            "Carl Contributor (contributor)"
        )
    await contributor.via(vault_id, "rest")
    await contributor.source(vault_id, "(2017)").get_by_role("button", name="Delete").click()
    for window in (owner, viewer):
        await expect(window.source(vault_id, "(2017)")).to_have_count(0, timeout=LIVE)
        await expect(window.log_row("source:deleted")).to_contain_text("Carl Contributor")

    # The viewer may not add: through the socket, the refusal shows in the viewer's page,
    # and nothing was written.
    await viewer.via(vault_id, "socket")
    await viewer.add(vault_id, "A viewer's source")
    await expect(viewer.card(vault_id).locator(".error")).to_have_text(
        "Add refused: Insufficient permissions"
    )
    listed = await team.viewer.http.get(f"/api/vaults/{vault_id}/sources")
    assert [s["title"] for s in listed.json()["sources"]] == []

    # More through each window's own form, for a screenshot worth looking at.
    await owner.add(vault_id, "The Socket.IO protocol", "https://socket.io/docs/v4/", "realtime")
    await contributor.via(vault_id, "socket")
    await contributor.add(vault_id, "Designing Data-Intensive Applications", tags="books, db")
    for window in everyone:
        await expect(window.card(vault_id).locator("li.source")).to_have_count(2, timeout=LIVE)
        await expect(window.card(vault_id).locator(".seq")).to_have_text("7")
    await side_by_side(
        browser,
        [("Olive Owner", owner), ("Carl Contributor", contributor), ("Vera Viewer", viewer)],
        ARTIFACTS / "realtime-three-windows.png",
    )

    # The owner deletes the vault: it reaches all three.
    response = await team.owner.http.delete(f"/api/vaults/{vault_id}")
    assert response.status_code == 204
    for window in everyone:
        await expect(window.card(vault_id).locator(".gone")).to_have_text(
            "This vault was deleted by Olive Owner (owner).", timeout=LIVE
        )
        await expect(window.page.locator("#vault-list")).not_to_contain_text("Reading list")
    for window in everyone:
        assert window.errors == []
        await window.close()
    del created
