"""Issue 16, point 4, on the socket: ``source:update`` with a stale ``version`` is acked with
CONFLICT and the current source, through the same service as its REST twin."""

from __future__ import annotations

from tests.factories import Team
from tests.live import Recorder
from tests.realtime.conftest import OpenSocket


async def test_a_stale_version_is_refused_over_the_socket(
    team: Team, open_socket: OpenSocket, recorder: Recorder
) -> None:
    watcher = await open_socket(team.viewer.token)
    editor = await open_socket(team.contributor.token)
    await watcher.join(team.vault_id)
    created = await editor.call("source:create", {"vaultId": team.vault_id, "title": "Draft"})
    source_id = created["source"]["id"]
    moved = await team.owner.http.patch(f"/api/sources/{source_id}", json={"tags": ["new"]})
    current = moved.json()["source"]

    ack = await editor.call("source:update", {"sourceId": source_id, "title": "Mine", "version": 1})
    assert ack == {
        "ok": False,
        "error": {
            "code": "CONFLICT",
            "message": "The source was changed by someone else since you started editing it",
            "details": {"source": current},
        },
    }
    ok = await editor.call("source:update", {"sourceId": source_id, "title": "Mine", "version": 2})
    assert ok["ok"] is True and ok["source"]["version"] == 3
    # The watcher saw the create, the owner's edit and the good socket edit: no event between.
    last = await watcher.wait_for("source:updated", lambda e: e["source"]["version"] == 3)
    assert [e["seq"] for e in watcher.vault_events(team.vault_id)] == [3, 4, last["seq"]]
    assert last["seq"] == 5
    assert recorder.types() == ["source:created", "source:updated", "source:updated"]
