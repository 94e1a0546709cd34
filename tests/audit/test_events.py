"""The event log: one event per committed change, numbered without gaps, handed to the
broadcaster only after its commit, and served by GET /api/vaults/{id}/events."""

from __future__ import annotations

from typing import Any

import httpx

from tests import checks, factories
from tests.factories import Member, Team
from tests.live import Recorder


class Log:
    """Runs one change and checks it produced exactly one committed event, the next in line."""

    def __init__(self, recorder: Recorder, seq: int) -> None:
        self.recorder = recorder
        self.seq = seq

    async def change(
        self, who: Member, method: str, path: str, body: Any, type_: str, role: str
    ) -> tuple[httpx.Response, dict[str, Any]]:
        before = len(self.recorder.published)
        response = await who.http.request(method, path, json=body)
        assert response.status_code < 300, response.text
        published = self.recorder.published[before:]
        assert len(published) == 1, published
        assert published[0].committed, "handed over before its commit"
        event = published[0].event
        checks.event(event)
        self.seq += 1
        assert event["seq"] == self.seq
        assert event["type"] == type_
        assert event["actor"] == {"userId": who.id, "userName": who.name, "role": role}
        return response, event


async def test_each_change_is_one_event_in_order(recorder: Recorder, team: Team) -> None:
    vault = f"/api/vaults/{team.vault_id}"
    members = f"{vault}/members"
    # The team was made with two member:added, the first events of the vault.
    assert recorder.types() == ["member:added", "member:added"]
    assert [e["seq"] for e in recorder.events] == [1, 2]
    assert all(p.committed for p in recorder.published)
    log = Log(recorder, 2)
    c = team.contributor

    made, event = await log.change(
        c, "POST", f"{vault}/sources", {"title": "T"}, "source:created", "contributor"
    )
    source = made.json()["source"]
    assert event["source"] == source and event["vaultId"] == team.vault_id
    path = f"/api/sources/{source['id']}"
    edited, event = await log.change(
        c, "PATCH", path, {"tags": ["a"]}, "source:updated", "contributor"
    )
    assert event["source"] == edited.json()["source"]
    assert event["source"]["version"] == 2

    promoted, event = await log.change(
        team.owner, "PATCH", f"{members}/{c.id}", {"role": "owner"}, "member:updated", "owner"
    )
    assert event["member"] == promoted.json()["member"]
    # The actor's role is the one they had at the time of the change.
    edited, event = await log.change(c, "PATCH", path, {"title": "T2"}, "source:updated", "owner")
    assert event["source"]["version"] == 3

    renamed, event = await log.change(
        team.owner, "PATCH", vault, {"name": "New name"}, "vault:updated", "owner"
    )
    assert event["vault"] == renamed.json()["vault"]
    assert event["vault"]["seq"] == log.seq  # the vault as it is with this event in it

    added, event = await log.change(
        team.owner,
        "POST",
        members,
        {"email": team.outsider.email, "role": "viewer"},
        "member:added",
        "owner",
    )
    assert event["member"] == added.json()["member"]
    _, event = await log.change(
        team.outsider, "DELETE", f"{members}/{team.outsider.id}", None, "member:removed", "viewer"
    )
    assert event["member"] == added.json()["member"]

    _, event = await log.change(c, "DELETE", path, None, "source:deleted", "owner")
    assert event["source"] == edited.json()["source"]  # its last state

    # The log over REST is what was handed over, ascending, in pages.
    served: list[dict[str, Any]] = []
    after, pages = 0, 0
    while True:
        page = await team.viewer.http.get(f"{vault}/events", params={"after": after, "limit": 4})
        assert page.status_code == 200, page.text
        body = page.json()
        assert set(body) == {"events", "hasMore"}
        served.extend(body["events"])
        pages += 1
        if not body["hasMore"]:
            break
        after = body["events"][-1]["seq"]
    assert pages == 3
    assert served == recorder.events
    assert [e["seq"] for e in served] == list(range(1, log.seq + 1))
    tail = await team.viewer.http.get(f"{vault}/events", params={"after": log.seq})
    assert tail.json() == {"events": [], "hasMore": False}
    seen = await team.viewer.http.get(f"{vault}/events", params={"after": log.seq - 2})
    assert seen.json() == {"events": recorder.events[-2:], "hasMore": False}

    _, event = await log.change(team.owner, "DELETE", vault, None, "vault:deleted", "owner")
    assert event["vault"]["name"] == "New name"


async def test_refused_and_invalid_changes_announce_nothing(recorder: Recorder, team: Team) -> None:
    vault = f"/api/vaults/{team.vault_id}"
    members = f"{vault}/members"
    source = await factories.source(team.contributor, team.vault_id)
    path = f"/api/sources/{source['id']}"
    before = len(recorder.published)
    events = (await team.owner.http.get(f"{vault}/events")).json()
    attempts: list[tuple[Member, str, str, Any, int]] = [
        (team.viewer, "POST", f"{vault}/sources", {"title": "no"}, 403),
        (team.viewer, "PATCH", path, {"title": "no"}, 403),
        (team.viewer, "DELETE", path, None, 403),
        (team.outsider, "POST", f"{vault}/sources", {"title": "no"}, 404),
        (team.outsider, "DELETE", path, None, 404),
        (team.contributor, "POST", f"{vault}/sources", {"title": ""}, 422),
        (team.contributor, "PATCH", path, {"title": None}, 422),
        (team.contributor, "PATCH", "/api/sources/" + "0" * 32, {"title": "x"}, 404),
        (team.contributor, "PATCH", vault, {"name": "no"}, 403),
        (team.owner, "PATCH", vault, {"name": ""}, 422),
        (team.owner, "PATCH", f"{members}/{team.owner.id}", {"role": "viewer"}, 409),
        (team.owner, "DELETE", f"{members}/{team.owner.id}", None, 409),
        (team.owner, "POST", members, {"email": team.viewer.email, "role": "owner"}, 409),
        (team.owner, "POST", members, {"email": "nobody@example.com", "role": "viewer"}, 422),
        (team.owner, "DELETE", f"{members}/{team.outsider.id}", None, 404),
        # Setting the role a member already has changes nothing, so it announces nothing.
        (team.owner, "PATCH", f"{members}/{team.viewer.id}", {"role": "viewer"}, 200),
    ]
    for who, method, target, body, status in attempts:
        response = await who.http.request(method, target, json=body)
        assert response.status_code == status, (method, target, response.text)
    assert recorder.published[before:] == []
    assert (await team.owner.http.get(f"{vault}/events")).json() == events
    assert (await team.owner.http.get(path)).json() == {"source": source}
    assert (await team.owner.http.get(vault)).json()["vault"]["seq"] == 3


async def test_bad_event_queries_are_refused(team: Team) -> None:
    path = f"/api/vaults/{team.vault_id}/events"
    for params, field in [
        ({"after": -1}, "after"),
        ({"after": "x"}, "after"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
    ]:
        assert checks.fields(await team.viewer.http.get(path, params=params)) == {field}
    full = await team.viewer.http.get(path, params={"limit": 500, "after": 0})
    assert [e["seq"] for e in full.json()["events"]] == [1, 2]
    # Past any seq there is nothing, however far past.
    for after in (2**31, 2**63, 10**30):
        beyond = await team.viewer.http.get(path, params={"after": after})
        assert beyond.json() == {"events": [], "hasMore": False}, after
