"""Presence on one instance: who is in a vault's room, one entry per user however many tabs,
announced when a user's first socket joins and their last one leaves, and gone at once on a
revocation, a vault's deletion or a logout. The stock JS client sees it too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.factories import Team
from tests.live import LiveServer
from tests.realtime import test_node_client
from tests.realtime.conftest import OpenSocket
from tests.realtime.sockets import Socket
from tests.realtime.test_node_client import NodeClient

# The stock JS client's fixtures, from the module that drives it.
node = test_node_client.node
run_node = test_node_client.run_node


def who(presence: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["userId"], e["userName"], e["role"]) for e in presence]


def announced(sock: Socket, event: str, user_id: str) -> list[dict[str, Any]]:
    return [e for e in sock.events(event) if e["userId"] == user_id]


async def test_two_tabs_of_one_user_are_one_entry_announced_on_first_join_and_last_leave(
    team: Team, open_socket: OpenSocket
) -> None:
    watcher = await open_socket(team.contributor.token)
    alone = await watcher.join(team.vault_id)
    assert who(alone["presence"]) == [(team.contributor.id, "Carl Contributor", "contributor")]

    first_tab = await open_socket(team.viewer.token)
    second_tab = await open_socket(team.viewer.token)
    first = await first_tab.join(team.vault_id)
    joined = await watcher.wait_for("presence:joined", lambda e: e["userId"] == team.viewer.id)
    assert joined == {"vaultId": team.vault_id, "userId": team.viewer.id, "userName": "Vera Viewer"}
    second = await second_tab.join(team.vault_id)
    expected = [
        (team.contributor.id, "Carl Contributor", "contributor"),
        (team.viewer.id, "Vera Viewer", "viewer"),
    ]
    assert who(first["presence"]) == who(second["presence"]) == expected
    assert second["presence"][1]["since"] == first["presence"][1]["since"]

    assert (await first_tab.call("vault:leave", {"vaultId": team.vault_id})) == {"ok": True}
    listed = await team.owner.http.get(f"/api/vaults/{team.vault_id}/presence")
    assert who(listed.json()["presence"]) == expected  # the second tab is still there

    await second_tab.close()
    left = await watcher.wait_for("presence:left", lambda e: e["userId"] == team.viewer.id)
    assert left == {"vaultId": team.vault_id, "userId": team.viewer.id, "userName": "Vera Viewer"}
    # One announcement each way for two tabs: the first tab's leave announced nothing.
    assert len(announced(watcher, "presence:joined", team.viewer.id)) == 1
    assert len(announced(watcher, "presence:left", team.viewer.id)) == 1
    listed = await team.owner.http.get(f"/api/vaults/{team.vault_id}/presence")
    assert who(listed.json()["presence"]) == expected[:1]


async def test_get_presence_is_the_ack_list_for_members_and_refused_to_others(
    server: LiveServer, client: httpx.AsyncClient, team: Team, open_socket: OpenSocket
) -> None:
    sock = await open_socket(team.owner.token)
    ack = await sock.join(team.vault_id)
    viewer = await team.viewer.http.get(f"/api/vaults/{team.vault_id}/presence")
    assert viewer.status_code == 200
    assert viewer.json() == {"presence": ack["presence"]}
    assert viewer.json()["presence"][0]["since"].endswith("Z")

    for vault_id in (team.vault_id, "no-such-vault"):
        outsider = await team.outsider.http.get(f"/api/vaults/{vault_id}/presence")
        assert outsider.status_code == 404
        assert outsider.json()["error"]["code"] == "NOT_FOUND"
    anonymous = await client.get(f"/api/vaults/{team.vault_id}/presence")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "UNAUTHORIZED"


async def test_a_removed_member_leaves_presence_at_once(
    team: Team, open_socket: OpenSocket
) -> None:
    watcher = await open_socket(team.owner.token)
    await watcher.join(team.vault_id)
    tabs = [await open_socket(team.viewer.token) for _ in range(2)]
    for tab in tabs:
        await tab.join(team.vault_id)

    removed = await team.owner.http.delete(f"/api/vaults/{team.vault_id}/members/{team.viewer.id}")
    assert removed.status_code == 204
    left = await watcher.wait_for("presence:left", lambda e: e["userId"] == team.viewer.id)
    assert left["vaultId"] == team.vault_id
    listed = await team.owner.http.get(f"/api/vaults/{team.vault_id}/presence")
    assert [e["userId"] for e in listed.json()["presence"]] == [team.owner.id]
    assert len(announced(watcher, "presence:left", team.viewer.id)) == 1


async def test_a_logout_elsewhere_takes_that_sessions_sockets_out_of_presence(
    team: Team, open_socket: OpenSocket
) -> None:
    watcher = await open_socket(team.owner.token)
    await watcher.join(team.vault_id)
    tab = await open_socket(team.viewer.token)
    await tab.join(team.vault_id)
    assert (await team.viewer.http.post("/api/auth/logout")).status_code == 204
    await tab.wait_for("session:expired")
    left = await watcher.wait_for("presence:left", lambda e: e["userId"] == team.viewer.id)
    assert left["userName"] == "Vera Viewer"


async def test_a_deleted_vault_keeps_no_presence(
    server: LiveServer, team: Team, open_socket: OpenSocket
) -> None:
    presence = server.app.state.realtime.presence
    tabs = [await open_socket(m.token) for m in (team.owner, team.viewer, team.viewer)]
    for tab in tabs:
        await tab.join(team.vault_id)
    assert {v for v, _e in presence.local_entries()} == {team.vault_id}

    deleted = await team.owner.http.delete(f"/api/vaults/{team.vault_id}")
    assert deleted.status_code == 204
    # Nobody is left to be told: the vault's presence is gone by the time the owner's
    # request is answered.
    assert list(presence.local_entries()) == []
    assert await presence.store.list(team.vault_id) == []
    for tab in tabs:
        await tab.wait_for("vault:access-revoked")


async def test_a_role_change_shows_in_presence(team: Team, open_socket: OpenSocket) -> None:
    tab = await open_socket(team.contributor.token)
    await tab.join(team.vault_id)
    changed = await team.owner.http.patch(
        f"/api/vaults/{team.vault_id}/members/{team.contributor.id}", json={"role": "viewer"}
    )
    assert changed.status_code == 200
    listed = await team.owner.http.get(f"/api/vaults/{team.vault_id}/presence")
    assert who(listed.json()["presence"]) == [(team.contributor.id, "Carl Contributor", "viewer")]


@pytest.mark.node
async def test_the_stock_js_client_sees_presence_come_and_go(
    server: LiveServer,
    team: Team,
    open_socket: OpenSocket,
    run_node: Callable[..., Awaitable[NodeClient]],
) -> None:
    watcher = await open_socket(team.contributor.token)
    await watcher.join(team.vault_id)
    browser = await run_node(url=server.url, auth={"token": team.viewer.token}, join=team.vault_id)
    ack = (await browser.next("ack"))["ack"]
    assert ack["ok"] is True
    assert who(ack["presence"]) == [
        (team.contributor.id, "Carl Contributor", "contributor"),
        (team.viewer.id, "Vera Viewer", "viewer"),
    ]
    await watcher.wait_for("presence:joined", lambda e: e["userId"] == team.viewer.id)

    second = await open_socket(team.owner.token)
    await second.join(team.vault_id)
    while (event := await browser.next("event"))["name"] != "presence:joined" or (
        event["data"]["userId"] != team.owner.id
    ):
        pass
    assert event["data"] == {
        "vaultId": team.vault_id,
        "userId": team.owner.id,
        "userName": "Olive Owner",
    }

    assert browser.proc.stdin is not None
    browser.proc.stdin.close()  # the script exits: its socket disconnects
    left = await watcher.wait_for("presence:left", lambda e: e["userId"] == team.viewer.id)
    assert left == {"vaultId": team.vault_id, "userId": team.viewer.id, "userName": "Vera Viewer"}
