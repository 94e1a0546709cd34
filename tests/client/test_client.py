"""``sourcevault.client`` against a live server: what a script using it sees."""

from __future__ import annotations

import pytest

from sourcevault.client import (
    RECONNECT_DELAY_MAX,
    Applied,
    Client,
    ClientError,
    RoleChanged,
    Stopped,
    VaultGone,
    backoff,
)
from tests import factories
from tests.client.recording import assert_exact
from tests.factories import PASSWORD, Team
from tests.live import LiveServer


def test_backoff_starts_at_half_a_second_and_never_waits_more_than_2_s():
    low, high = (lambda: 0.0), (lambda: 0.999999)
    assert backoff(0, rand=low) == 0.5
    assert 0.25 <= backoff(0, rand=high) <= 0.75
    assert backoff(1, rand=low) == 1.0
    assert [backoff(n, rand=high) <= RECONNECT_DELAY_MAX for n in range(100)] == [True] * 100
    assert backoff(5, rand=low) == RECONNECT_DELAY_MAX


async def test_a_joined_vault_is_its_sources_then_every_event_once(
    server: LiveServer, team: Team, watched
):
    before = [await factories.source(team.owner, team.vault_id) for _ in range(3)]
    w = await watched(server.url, team.viewer.token)
    view = await w.client.join(team.vault_id)
    assert (view.name, view.role, view.seq) == ("Reading list", "viewer", 5)
    assert [s["id"] for s in view.ordered()] == [s["id"] for s in reversed(before)]

    made = await w.client.http.get(f"/api/vaults/{team.vault_id}")  # the viewer reads over REST
    assert made.status_code == 200
    async with Client(server.url, team.contributor.token) as contributor:
        source = await contributor.create_source(team.vault_id, title="Through the socket")
        await contributor.update_source(source["id"], tags=["socket"])
        await contributor.delete_source(before[0]["id"])
    await w.synced(team.vault_id, 8)
    assert [a.live for a in w.of(Applied)] == [True, True, True]
    await assert_exact(w, team.owner.http, team.vault_id, since=5)


async def test_refusals_arrive_as_client_errors(server: LiveServer, team: Team, watched):
    viewer = await watched(server.url, team.viewer.token)
    await viewer.client.join(team.vault_id)
    with pytest.raises(ClientError) as refused:
        await viewer.client.create_source(team.vault_id, title="Not mine to add")
    assert (refused.value.code, refused.value.message) == (
        "INSUFFICIENT_PERMISSIONS",
        "Insufficient permissions",
    )
    outsider = await watched(server.url, team.outsider.token)
    with pytest.raises(ClientError) as hidden:
        await outsider.client.join(team.vault_id)
    assert hidden.value.code == "NOT_FOUND"
    assert outsider.client.vaults == {}

    with pytest.raises(ClientError) as bad:
        await Client.login(server.url, team.viewer.email, "wrong password")
    assert bad.value.code == "UNAUTHORIZED"
    stale = Client(server.url, "not-a-token")
    with pytest.raises(ClientError) as unauthorized:
        await stale.connect()
    assert unauthorized.value.code == "UNAUTHORIZED"
    assert stale.stopped == "closed"  # a failed first connect releases everything


async def test_role_changes_removals_and_deletion_reach_the_client(
    server: LiveServer, team: Team, watched
):
    w = await watched(server.url, team.contributor.token)
    await w.client.join(team.vault_id)
    members = f"/api/vaults/{team.vault_id}/members"
    response = await team.owner.http.patch(
        f"{members}/{team.contributor.id}", json={"role": "viewer"}
    )
    assert response.status_code == 200
    assert (await w.next(RoleChanged)).role == "viewer"
    assert w.client.vaults[team.vault_id].role == "viewer"

    response = await team.owner.http.delete(f"{members}/{team.contributor.id}")
    assert response.status_code == 204
    assert (await w.next(VaultGone)).reason == "removed"
    assert team.vault_id not in w.client.vaults

    other = await watched(server.url, team.viewer.token)
    await other.client.join(team.vault_id)
    assert (await team.owner.http.delete(f"/api/vaults/{team.vault_id}")).status_code == 204
    gone = await other.next(VaultGone)
    assert gone.reason == "vault_deleted"
    assert other.applied(team.vault_id)[-1]["type"] == "vault:deleted"


async def test_logging_out_stops_the_client(server: LiveServer, team: Team, watched):
    client = await Client.login(server.url, team.viewer.email, PASSWORD)
    assert client.user is not None and client.user["name"] == "Vera Viewer"
    await client.close()  # a login alone opens nothing

    w = await watched(server.url, team.viewer.token)
    await w.client.join(team.vault_id)
    await w.client.logout()
    assert (await w.next(Stopped)).reason == "logged_out"
    await w.ended()
    with pytest.raises(ClientError):
        await w.client.join(team.vault_id)
