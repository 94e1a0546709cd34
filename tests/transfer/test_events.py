"""An import is one ``sources:imported`` event: live in the room, in catch-up and the events
route like any event, and the Python client follows it to the new sources."""

from __future__ import annotations

from sourcevault.client import Applied, CaughtUp, Disconnected
from sourcevault.watch import describe
from tests import factories
from tests.client.recording import assert_exact
from tests.factories import Team
from tests.live import LiveServer
from tests.realtime.conftest import OpenSocket
from tests.transfer.helpers import imported


def csv_of(n: int, prefix: str = "Entry") -> str:
    rows = "\n".join(f"{prefix} {i},https://example.org/{prefix}/{i},," for i in range(n))
    return "title,url,annotation,tags\n" + rows


async def test_the_room_gets_one_event_for_a_thousand_sources(
    team: Team, open_socket: OpenSocket
) -> None:
    watcher = await open_socket(team.viewer.token)
    await watcher.join(team.vault_id)
    answer = await imported(team.contributor, team.vault_id, "csv", csv_of(1000))
    event = await watcher.wait_for("sources:imported")
    assert event["import"] == answer["import"]
    assert event["import"]["count"] == 1000 and len(event["import"]["sourceIds"]) == 1000
    assert event["actor"] == {
        "userId": team.contributor.id,
        "userName": "Carl Contributor",
        "role": "contributor",
    }
    # A later change comes right after it: one event, not a thousand.
    made = await factories.source(team.owner, team.vault_id)
    after = await watcher.wait_for("source:created")
    assert after["source"] == made and after["seq"] == event["seq"] + 1
    assert [e["type"] for e in watcher.vault_events(team.vault_id)] == [
        "sources:imported",
        "source:created",
    ]
    # `sourcevault watch` says what it was.
    assert describe(event) == "1000 sources from csv"


async def test_catch_up_and_the_events_route_carry_the_import(
    team: Team, open_socket: OpenSocket
) -> None:
    seq = (await team.owner.http.get(f"/api/vaults/{team.vault_id}")).json()["vault"]["seq"]
    answer = await imported(team.owner, team.vault_id, "csv", csv_of(3))
    listed = await team.viewer.http.get(
        f"/api/vaults/{team.vault_id}/events", params={"after": seq}
    )
    (logged,) = listed.json()["events"]
    assert logged["type"] == "sources:imported" and logged["import"] == answer["import"]

    late = await open_socket(team.viewer.token)
    ack = await late.join(team.vault_id, after=seq)
    assert ack["missed"] == [logged] and ack["seq"] == seq + 1


async def test_the_python_client_reads_the_imported_sources(
    server: LiveServer, team: Team, watched
) -> None:
    w = await watched(server.url, team.viewer.token)
    view = await w.client.join(team.vault_id)
    since = view.seq
    answer = await imported(team.contributor, team.vault_id, "csv", csv_of(250))
    await w.synced(team.vault_id, since + 1)
    assert set(w.client.vaults[team.vault_id].sources) == set(answer["import"]["sourceIds"])
    (applied,) = [a for a in w.of(Applied) if a.event["type"] == "sources:imported"]
    assert applied.live
    # Changes after the import apply over the sources it read.
    made = await factories.source(team.owner, team.vault_id)
    await w.synced(team.vault_id, since + 2)
    assert made["id"] in w.client.vaults[team.vault_id].sources
    await assert_exact(w, team.owner.http, team.vault_id, since=since)


async def test_the_python_client_catches_up_on_an_import_made_while_it_was_cut_off(
    server: LiveServer, team: Team, watched, proxy
) -> None:
    line = await proxy(server.port)
    w = await watched(line.url, team.viewer.token)
    since = (await w.client.join(team.vault_id)).seq
    mark = len(w.updates)
    await line.cut()
    await w.next(Disconnected, after=mark)
    answer = await imported(team.contributor, team.vault_id, "csv", csv_of(120))
    made = await factories.source(team.owner, team.vault_id)
    await line.restore()
    caught = await w.next(CaughtUp, after=mark)
    assert caught.count == 2
    (applied,) = [a for a in w.of(Applied) if a.event["type"] == "sources:imported"]
    assert not applied.live
    assert set(w.client.vaults[team.vault_id].sources) == {
        *answer["import"]["sourceIds"],
        made["id"],
    }
    await assert_exact(w, team.owner.http, team.vault_id, since=since)


async def test_a_large_import_names_every_source_live_and_in_catch_up(
    server: LiveServer, team: Team, open_socket: OpenSocket, watched
) -> None:
    w = await watched(server.url, team.viewer.token)
    view = await w.client.join(team.vault_id)
    since = view.seq
    live = await open_socket(team.owner.token)
    await live.join(team.vault_id)
    answers = [
        await imported(team.contributor, team.vault_id, "csv", csv_of(1500, prefix=f"Big{n}"))
        for n in range(3)
    ]
    for answer in answers:
        assert answer["import"]["count"] == len(answer["import"]["sourceIds"]) == 1500
    # The room's event is the answer's import, every id named.
    await live.wait_for("sources:imported", lambda e: e["seq"] == since + 3)
    assert [e["import"] for e in live.events("sources:imported")] == [a["import"] for a in answers]
    # A rejoin's catch-up carries the three events whole.
    late = await open_socket(team.viewer.token)
    ack = await late.join(team.vault_id, after=since)
    assert [e["import"] for e in ack["missed"]] == [a["import"] for a in answers]
    assert ack["hasMore"] is False
    # The Python client follows them to all 4,500 sources.
    await w.synced(team.vault_id, since + 3)
    every = {i for a in answers for i in a["import"]["sourceIds"]}
    assert every <= set(w.client.vaults[team.vault_id].sources)
    await assert_exact(w, team.owner.http, team.vault_id, since=since)
