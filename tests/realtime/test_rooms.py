"""Rooms: vault:join and vault:leave, one room per vault (FR-003, FR-004, FR-011), catching up
with `after`, and several rooms on one socket."""

from __future__ import annotations

import json

from tests import factories
from tests.factories import Team
from tests.live import LiveServer
from tests.realtime.conftest import OpenSocket


async def test_join_acks_with_role_and_seq_and_confirms_with_vault_joined(
    team: Team, open_socket: OpenSocket
) -> None:
    sock = await open_socket(team.contributor.token)
    ack = await sock.call("vault:join", {"vaultId": team.vault_id})
    assert ack == {
        "ok": True,
        "vaultId": team.vault_id,
        "role": "contributor",
        "seq": 2,
        "missed": [],
        "hasMore": False,
        "presence": [
            {
                "userId": team.contributor.id,
                "userName": "Carl Contributor",
                "role": "contributor",
                "since": ack["presence"][0]["since"],
            }
        ],
    }
    joined = await sock.wait_for("vault:joined")
    assert joined == {"vaultId": team.vault_id, "role": "contributor"}


async def test_join_is_denied_to_a_non_member_and_for_a_vault_that_does_not_exist(
    server: LiveServer, team: Team, open_socket: OpenSocket
) -> None:
    sock = await open_socket(team.outsider.token)
    for vault_id in (team.vault_id, "no-such-vault"):
        ack = await sock.call("vault:join", {"vaultId": vault_id})
        assert ack == {"ok": False, "error": {"code": "ACCESS_DENIED", "message": "Access denied"}}
    # The refused socket is in no vault room, and hears nothing of the vault.
    rooms = server.app.state.realtime.sio.rooms(sock.sio.get_sid())
    assert not [r for r in rooms if r.startswith("vault:")]
    await factories.source(team.owner, team.vault_id)
    own = await factories.vault(team.outsider, "Outsider's own")
    await sock.join(own["id"])
    await factories.source(team.outsider, own["id"])
    await sock.wait_for("source:created", lambda e: e["vaultId"] == own["id"])
    assert sock.vault_events(team.vault_id) == []


async def test_join_after_returns_the_missed_events_in_order(
    team: Team, open_socket: OpenSocket
) -> None:
    for _ in range(3):
        await factories.source(team.contributor, team.vault_id)
    sock = await open_socket(team.viewer.token)
    ack = await sock.join(team.vault_id, after=2)
    assert ack["seq"] == 5
    assert [e["seq"] for e in ack["missed"]] == [3, 4, 5]
    assert [e["type"] for e in ack["missed"]] == ["source:created"] * 3
    assert ack["hasMore"] is False
    none_missed = await sock.join(team.vault_id, after=5)
    assert none_missed["missed"] == [] and none_missed["seq"] == 5


async def test_join_after_holds_at_most_500_and_says_there_are_more(
    server: LiveServer, team: Team, open_socket: OpenSocket
) -> None:
    from sourcevault.auth.principal import Principal
    from sourcevault.db.base import utcnow
    from sourcevault.sources.schemas import SourceCreate
    from sourcevault.sources.service import create_source

    owner = Principal(team.owner.id, team.owner.name, team.owner.email, "s", utcnow())
    for n in range(501):
        await create_source(server.ctx, owner, team.vault_id, SourceCreate(title=f"bulk {n}"))
    sock = await open_socket(team.viewer.token)
    ack = await sock.join(team.vault_id, after=0)
    assert ack["seq"] == 503
    assert [e["seq"] for e in ack["missed"]] == list(range(1, 501))
    assert ack["hasMore"] is True
    rest = await team.viewer.http.get(f"/api/vaults/{team.vault_id}/events", params={"after": 500})
    assert [e["seq"] for e in rest.json()["events"]] == [501, 502, 503]


async def test_join_after_stops_short_of_a_megabyte_and_the_rest_comes_over_rest(
    team: Team, open_socket: OpenSocket
) -> None:
    # 120 sources with the longest annotation: about 1.2 MB of events, more than one catch-up
    # carries (a python-socketio client takes 4 MB in one message at most).
    for n in range(120):
        await factories.source(
            team.owner, team.vault_id, title=f"long {n}", annotation="a" * 10_000
        )
    sock = await open_socket(team.viewer.token)
    ack = await sock.join(team.vault_id, after=2)
    assert ack["seq"] == 122 and ack["hasMore"] is True
    carried = [e["seq"] for e in ack["missed"]]
    assert 50 < len(carried) < 120 and carried == list(range(3, 3 + len(carried)))
    assert len(json.dumps(ack["missed"])) <= 1024 * 1024
    # The contract's way on: the events route from the last seq the catch-up carried.
    rest = await team.viewer.http.get(
        f"/api/vaults/{team.vault_id}/events", params={"after": carried[-1], "limit": 500}
    )
    assert [e["seq"] for e in rest.json()["events"]] == list(range(carried[-1] + 1, 123))


async def test_leave_stops_the_events_of_that_vault_only(
    team: Team, open_socket: OpenSocket
) -> None:
    other = await factories.vault(team.owner, "Second")
    await factories.add(team.owner, other["id"], team.viewer, "viewer")
    sock = await open_socket(team.viewer.token)
    await sock.join(team.vault_id)
    await sock.join(other["id"])
    assert await sock.call("vault:leave", {"vaultId": team.vault_id}) == {"ok": True}
    left = await factories.source(team.owner, team.vault_id)
    kept = await factories.source(team.owner, other["id"])
    # Events reach one socket in the order they were sent: once the second vault's event is
    # here, the first one's would have been too.
    await sock.wait_for("source:created", lambda e: e["source"]["id"] == kept["id"])
    assert [e for e in sock.events("source:created") if e["source"]["id"] == left["id"]] == []


async def test_one_socket_hears_each_joined_vault_and_no_other(
    team: Team, open_socket: OpenSocket
) -> None:
    """A member of several vaults receives events only for the vaults it joined."""
    second = await factories.vault(team.owner, "Second")
    third = await factories.vault(team.owner, "Third, not joined")
    for v in (second, third):
        await factories.add(team.owner, v["id"], team.viewer, "viewer")
    sock = await open_socket(team.viewer.token)
    await sock.join(team.vault_id)
    await sock.join(second["id"])
    s3 = await factories.source(team.owner, third["id"])
    s1 = await factories.source(team.owner, team.vault_id)
    s2 = await factories.source(team.owner, second["id"])
    await sock.wait_for("source:created", lambda e: e["source"]["id"] == s2["id"])
    ids = [e["source"]["id"] for e in sock.events("source:created")]
    assert ids == [s1["id"], s2["id"]]
    assert s3["id"] not in ids
