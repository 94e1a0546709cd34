"""An import on instance A reaches sockets on instance B as its one ``sources:imported``
event, live and in catch-up: two real processes sharing PostgreSQL and Redis."""

from __future__ import annotations

import pytest

from tests.factories import Team
from tests.multi.cluster import Instance
from tests.multi.conftest import OpenSocket
from tests.transfer.helpers import imported

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_an_import_on_a_is_one_event_on_b(
    pair: list[Instance], team: Team, open_socket: OpenSocket
) -> None:
    _a, b = pair
    watcher = await open_socket(b, team.viewer.token)
    joined = await watcher.join(team.vault_id)
    rows = "".join(f"Entry {n},https://example.org/{n},,\n" for n in range(2000))
    answer = await imported(
        team.contributor, team.vault_id, "csv", "title,url,annotation,tags\n" + rows
    )
    event = await watcher.wait_for("sources:imported")
    # The event is the answer's import: all 2,000 new sources named.
    assert event["import"] == answer["import"]
    assert event["import"]["count"] == 2000 and event["seq"] == joined["seq"] + 1
    assert [e["type"] for e in watcher.vault_events(team.vault_id)] == ["sources:imported"]

    late = await open_socket(b, team.owner.token)
    ack = await late.join(team.vault_id, after=joined["seq"])
    assert ack["missed"] == [event]
