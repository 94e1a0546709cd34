"""User story 1 and FR-005..FR-008, FR-013, FR-014: every committed change reaches everyone in
the vault's room, actor included, after the commit, and nobody else."""

from __future__ import annotations

from tests import factories
from tests.factories import Team
from tests.live import Recorder
from tests.realtime.conftest import OpenSocket


async def test_a_source_added_by_rest_reaches_the_other_member_and_the_actor(
    team: Team, open_socket: OpenSocket
) -> None:
    watcher = await open_socket(team.viewer.token)
    actor = await open_socket(team.owner.token)
    await watcher.join(team.vault_id)
    await actor.join(team.vault_id)
    created = await factories.source(
        team.owner, team.vault_id, url="https://example.org/a", tags=["t"]
    )
    for sock in (watcher, actor):
        event = await sock.wait_for("source:created")
        assert event["source"] == created
        assert event["actor"] == {
            "userId": team.owner.id,
            "userName": "Olive Owner",
            "role": "owner",
        }
        assert event["seq"] == 3 and event["vaultId"] == team.vault_id
        assert event["at"].endswith("Z")


async def test_update_and_delete_by_rest_carry_the_full_source(
    team: Team, open_socket: OpenSocket
) -> None:
    watcher = await open_socket(team.viewer.token)
    await watcher.join(team.vault_id)
    created = await factories.source(team.contributor, team.vault_id)
    patched = await team.contributor.http.patch(
        f"/api/sources/{created['id']}", json={"annotation": "read it"}
    )
    deleted = await team.contributor.http.delete(f"/api/sources/{created['id']}")
    assert deleted.status_code == 204
    updated = await watcher.wait_for("source:updated")
    assert updated["source"] == patched.json()["source"]
    assert updated["source"]["version"] == 2
    gone = await watcher.wait_for("source:deleted")
    assert gone["source"] == patched.json()["source"]
    assert gone["actor"]["role"] == "contributor"
    assert [e["seq"] for e in watcher.vault_events(team.vault_id)] == [3, 4, 5]


async def test_socket_mutations_write_the_same_event_as_rest(
    team: Team, open_socket: OpenSocket, recorder: Recorder
) -> None:
    watcher = await open_socket(team.viewer.token)
    actor = await open_socket(team.contributor.token)
    await watcher.join(team.vault_id)
    ack = await actor.call(
        "source:create",
        {
            "vaultId": team.vault_id,
            "title": "By socket",
            "url": "http://example.org/",
            "tags": ["x"],
        },
    )
    assert ack["ok"] is True
    source = ack["source"]
    assert source["title"] == "By socket" and source["version"] == 1
    assert source["createdBy"] == {"userId": team.contributor.id, "userName": "Carl Contributor"}
    event = await watcher.wait_for("source:created")
    assert event["source"] == source and event["actor"]["role"] == "contributor"
    ack = await actor.call("source:update", {"sourceId": source["id"], "title": "Renamed"})
    assert ack["ok"] is True and ack["source"]["title"] == "Renamed"
    assert ack["source"]["version"] == 2
    assert await actor.call("source:delete", {"sourceId": source["id"]}) == {"ok": True}
    await watcher.wait_for("source:deleted")
    log = (
        await team.viewer.http.get(f"/api/vaults/{team.vault_id}/events", params={"after": 2})
    ).json()["events"]
    assert log == watcher.vault_events(team.vault_id)
    assert recorder.events == log
    assert all(p.committed for p in recorder.published)


async def test_a_refused_or_failed_mutation_broadcasts_nothing(
    team: Team, open_socket: OpenSocket, recorder: Recorder
) -> None:
    viewer = await open_socket(team.viewer.token)
    await viewer.join(team.vault_id)
    refused = await viewer.call("source:create", {"vaultId": team.vault_id, "title": "no"})
    invalid = await viewer.call("source:create", {"vaultId": team.vault_id, "title": ""})
    missing = await viewer.call("source:update", {"sourceId": "nope", "title": "x"})
    assert refused["error"]["code"] == "INSUFFICIENT_PERMISSIONS"
    assert invalid["error"]["code"] == "VALIDATION_ERROR"
    assert missing["error"]["code"] == "NOT_FOUND"
    bad_rest = await team.contributor.http.post(
        f"/api/vaults/{team.vault_id}/sources", json={"title": "x", "url": "javascript:alert(1)"}
    )
    assert bad_rest.status_code == 422
    assert recorder.events == []
    # The next good change is seq 3: nothing was consumed by the failures.
    await factories.source(team.owner, team.vault_id)
    event = await viewer.wait_for("source:created")
    assert event["seq"] == 3 and viewer.vault_events(team.vault_id) == [event]


async def test_vault_and_member_changes_reach_the_room(team: Team, open_socket: OpenSocket) -> None:
    watcher = await open_socket(team.contributor.token)
    await watcher.join(team.vault_id)
    await team.owner.http.patch(f"/api/vaults/{team.vault_id}", json={"name": "Renamed"})
    renamed = await watcher.wait_for("vault:updated")
    assert renamed["vault"]["name"] == "Renamed" and renamed["vault"]["seq"] == renamed["seq"]
    await factories.add(team.owner, team.vault_id, team.outsider, "viewer")
    added = await watcher.wait_for("member:added")
    assert added["member"]["userId"] == team.outsider.id and added["member"]["role"] == "viewer"
