"""A 50,000-entry file, made by the test: imported whole in one transaction and one event,
and exported back whole."""

from __future__ import annotations

import json

from tests.factories import Team
from tests.live import Recorder
from tests.realtime.conftest import OpenSocket
from tests.transfer.helpers import post_import

ENTRIES = 50_000


def csv_of(n: int) -> str:
    rows = "".join(
        f'"Entry {i}: Über die Dinge",https://example.org/papers/{i},"Line one of {i}.\n'
        f'Line two.",alpha|beta\n'
        for i in range(n)
    )
    return "title,url,annotation,tags\n" + rows


async def test_fifty_thousand_entries_import_in_one_event_and_export_back(
    team: Team, recorder: Recorder, open_socket: OpenSocket
) -> None:
    watcher = await open_socket(team.viewer.token)
    await watcher.join(team.vault_id)
    # One duplicate inside the file, at the end.
    text = csv_of(ENTRIES) + "Again,https://example.org/papers/7,,\n"
    response = await post_import(team.contributor, team.vault_id, "csv", text, timeout=120)
    assert response.status_code == 201, response.text[:300]
    answer = response.json()
    assert answer["import"]["count"] == ENTRIES
    assert answer["entries"][-1]["status"] == "duplicate"
    assert len(set(answer["import"]["sourceIds"])) == ENTRIES
    assert recorder.types() == ["sources:imported"]
    # The room's one event is the answer's import, all 50,000 ids named.
    event = await watcher.wait_for("sources:imported", timeout=60)
    assert event["import"] == answer["import"] and event["import"]["count"] == ENTRIES

    response = await team.viewer.http.get(f"/api/vaults/{team.vault_id}/export", timeout=120)
    sources = json.loads(response.content)["sources"]
    assert len(sources) == ENTRIES
    # In the file's order, as read.
    assert sources[0]["title"] == "Entry 0: Über die Dinge"
    assert sources[-1]["url"] == f"https://example.org/papers/{ENTRIES - 1}"
    assert sources[123]["annotation"] == "Line one of 123.\nLine two."
    assert sources[123]["tags"] == ["alpha", "beta"]
