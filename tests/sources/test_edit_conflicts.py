"""Issue 16, point 4: an edit names the version it started from, and an edit made against a
version someone else has since replaced is refused with the current source, writing and
announcing nothing (the socket's twin is tests/realtime/test_edit_conflicts.py)."""

from __future__ import annotations

from tests import factories
from tests.factories import Team
from tests.live import Recorder


async def test_a_stale_version_is_refused_over_rest_with_the_current_source(
    team: Team, recorder: Recorder
) -> None:
    made = await factories.source(team.contributor, team.vault_id, title="Draft")
    path = f"/api/sources/{made['id']}"
    first = await team.owner.http.patch(path, json={"title": "Owner's title", "version": 1})
    assert first.status_code == 200, first.text
    current = first.json()["source"]
    assert current["version"] == 2

    stale = await team.contributor.http.patch(
        path, json={"title": "Contributor's title", "version": 1}
    )
    assert stale.status_code == 409
    assert stale.json() == {
        "error": {
            "code": "CONFLICT",
            "message": "The source was changed by someone else since you started editing it",
            "details": {"source": current},
        }
    }
    # Nothing written, nothing announced: the owner's edit is the last word and event.
    assert (await team.viewer.http.get(path)).json() == {"source": current}
    assert recorder.types() == ["source:created", "source:updated"]

    # Starting again from the current version goes through.
    retry = await team.contributor.http.patch(
        path, json={"title": "Contributor's title", "version": 2}
    )
    assert retry.status_code == 200
    assert retry.json()["source"]["version"] == 3


async def test_without_a_version_the_last_write_still_wins(team: Team) -> None:
    made = await factories.source(team.contributor, team.vault_id)
    path = f"/api/sources/{made['id']}"
    assert (await team.owner.http.patch(path, json={"title": "A"})).status_code == 200
    blind = await team.contributor.http.patch(path, json={"title": "B"})
    assert blind.status_code == 200
    assert blind.json()["source"]["version"] == 3


async def test_a_bad_version_is_a_validation_error_and_a_viewer_is_still_refused(
    team: Team,
) -> None:
    made = await factories.source(team.contributor, team.vault_id)
    path = f"/api/sources/{made['id']}"
    for bad in (None, 0, "1", 1.5, True):
        response = await team.owner.http.patch(path, json={"title": "x", "version": bad})
        assert response.status_code == 422, bad
        assert response.json()["error"]["details"][0]["field"] == "version"
    viewer = await team.viewer.http.patch(path, json={"title": "x", "version": 1})
    assert viewer.status_code == 403
    assert viewer.json()["error"]["code"] == "INSUFFICIENT_PERMISSIONS"
    assert (await team.viewer.http.get(path)).json()["source"]["version"] == 1
