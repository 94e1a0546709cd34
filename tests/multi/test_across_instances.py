"""Every contract behaviour with the change made on instance A and the watching sockets on
instance B: two real processes sharing one PostgreSQL database and one Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import factories
from tests.factories import Team
from tests.multi import cluster
from tests.multi.cluster import Instance
from tests.multi.conftest import OpenSocket, rest_member
from tests.realtime.sockets import Socket, assert_cut_off

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def of(vault_id: str, sock: Socket) -> list[tuple[int, str]]:
    return [(e["seq"], e["type"]) for e in sock.vault_events(vault_id)]


async def test_events_reach_sockets_on_the_other_instance_in_order(
    pair: list[Instance], team: Team, open_socket: OpenSocket
) -> None:
    a, b = pair
    watcher = await open_socket(b, team.viewer.token)
    author_on_a = await open_socket(a, team.contributor.token)
    await watcher.join(team.vault_id)
    await author_on_a.join(team.vault_id)

    created = await factories.source(team.owner, team.vault_id, tags=["x"])
    updated = await team.owner.http.patch(f"/api/sources/{created['id']}", json={"title": "T2"})
    assert updated.status_code == 200
    renamed = await team.owner.http.patch(f"/api/vaults/{team.vault_id}", json={"name": "New"})
    assert renamed.status_code == 200
    by_socket = await author_on_a.call(
        "source:create", {"vaultId": team.vault_id, "title": "From a socket on A"}
    )
    assert by_socket["ok"], by_socket
    deleted = await team.owner.http.delete(f"/api/sources/{created['id']}")
    assert deleted.status_code == 204

    await watcher.wait_for("source:deleted")
    page = await team.owner.http.get(f"/api/vaults/{team.vault_id}/events", params={"after": 2})
    assert watcher.vault_events(team.vault_id) == page.json()["events"]
    assert of(team.vault_id, watcher) == [
        (3, "source:created"),
        (4, "source:updated"),
        (5, "vault:updated"),
        (6, "source:created"),
        (7, "source:deleted"),
    ]


async def test_a_member_removed_on_a_is_evicted_on_b(
    pair: list[Instance], team: Team, open_socket: OpenSocket
) -> None:
    b = pair[1]  # the team's REST client talks to A
    removed = await open_socket(b, team.viewer.token)
    second_tab = await open_socket(b, team.viewer.token)
    stays = await open_socket(b, team.contributor.token)
    for sock in (removed, second_tab, stays):
        await sock.join(team.vault_id)
    own = await factories.vault(team.viewer, "Viewer's own")
    await removed.join(own["id"])

    response = await team.owner.http.delete(f"/api/vaults/{team.vault_id}/members/{team.viewer.id}")
    assert response.status_code == 204
    for sock in (removed, second_tab):
        assert await sock.wait_for("vault:access-revoked") == {
            "vaultId": team.vault_id,
            "reason": "removed",
        }
    removal = await stays.wait_for("member:removed")
    assert removal["member"]["userId"] == team.viewer.id

    # The barrier comes through the same channel: once it is in, the vault's event has
    # passed instance B without reaching that socket.
    await assert_cut_off(team, stays, removed, own["id"])


async def test_a_role_change_on_a_reaches_the_users_sockets_on_b(
    pair: list[Instance], team: Team, open_socket: OpenSocket
) -> None:
    b = pair[1]
    promoted = await open_socket(b, team.viewer.token)
    await promoted.join(team.vault_id)
    refused = await promoted.call("source:create", {"vaultId": team.vault_id, "title": "No"})
    assert refused["error"]["code"] == "INSUFFICIENT_PERMISSIONS"

    response = await team.owner.http.patch(
        f"/api/vaults/{team.vault_id}/members/{team.viewer.id}", json={"role": "contributor"}
    )
    assert response.status_code == 200
    assert await promoted.wait_for("vault:role-changed") == {
        "vaultId": team.vault_id,
        "role": "contributor",
    }
    updated = await promoted.wait_for("member:updated")
    assert updated["member"]["role"] == "contributor"
    allowed = await promoted.call("source:create", {"vaultId": team.vault_id, "title": "Yes"})
    assert allowed["ok"], allowed


async def test_deleting_a_vault_on_a_empties_its_room_on_b(
    pair: list[Instance], team: Team, open_socket: OpenSocket
) -> None:
    b = pair[1]
    joined = [await open_socket(b, m.token) for m in (team.contributor, team.viewer)]
    for sock in joined:
        await sock.join(team.vault_id)
    assert (await team.owner.http.delete(f"/api/vaults/{team.vault_id}")).status_code == 204
    for sock in joined:
        deleted = await sock.wait_for("vault:deleted")
        assert deleted["vault"]["id"] == team.vault_id
        assert await sock.wait_for("vault:access-revoked") == {
            "vaultId": team.vault_id,
            "reason": "vault_deleted",
        }
        again = await sock.call("vault:join", {"vaultId": team.vault_id})
        assert again["error"]["code"] == "ACCESS_DENIED"


async def test_logout_on_a_disconnects_that_sessions_sockets_on_b(
    pair: list[Instance], team: Team, open_socket: OpenSocket
) -> None:
    b = pair[1]
    other_session = await factories.token_for(team.owner.http, team.viewer.email)
    logged_out = [await open_socket(b, team.viewer.token) for _ in range(2)]
    stays = await open_socket(b, other_session)
    for sock in (*logged_out, stays):
        await sock.join(team.vault_id)

    assert (await team.viewer.http.post("/api/auth/logout")).status_code == 204
    for sock in logged_out:
        assert await sock.wait_for("session:expired") == {"reason": "logged_out"}
        await sock.disconnected.wait()
    created = await factories.source(team.owner, team.vault_id)
    await stays.wait_for("source:created", lambda e: e["source"]["id"] == created["id"])
    assert stays.sio.connected
    assert stays.events("session:expired") == []


@pytest.fixture(scope="module")
def short_sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Instance]]:
    cluster.require()
    with cluster.cluster(tmp_path_factory.mktemp("short"), session_max_age="4") as instances:
        yield instances


async def test_a_session_opened_on_a_expires_on_b_at_that_moment(
    short_sessions: list[Instance], tmp_path: Path
) -> None:
    a, b = short_sessions
    user = await rest_member(a.url, "Short Lived")
    sock = await Socket(b.url, user.token).connect()
    try:
        assert await sock.wait_for("session:expired", timeout=10) == {"reason": "expired"}
        await sock.disconnected.wait()
    finally:
        await sock.close()
        await user.http.aclose()
