"""Who may do what: every REST action against anonymous, non-member, viewer, contributor and
owner, with the answer each gets, and exactly one event for each change that was allowed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests import checks, factories
from tests.factories import Team
from tests.live import Recorder

ACTORS = ("anonymous", "outsider", "viewer", "contributor", "owner")
CODES = {401: "UNAUTHORIZED", 403: "INSUFFICIENT_PERMISSIONS", 404: "NOT_FOUND", 409: "CONFLICT"}

Request = tuple[str, str, dict[str, Any] | None]


@dataclass
class Action:
    # One expected status per actor, in the order of ACTORS.
    expect: tuple[int, int, int, int, int]
    # Builds the request for one actor; may first make what the request acts on.
    request: Callable[[Team, str], Awaitable[Request]]
    changes: bool  # a change that is announced with one event when allowed


def _vault(suffix: str = "") -> Callable[[Team, str], Awaitable[Request]]:
    async def build(team: Team, _actor: str) -> Request:
        return "GET", f"/api/vaults/{team.vault_id}{suffix}", None

    return build


async def _existing_source(team: Team, _actor: str) -> Request:
    made = await factories.source(team.owner, team.vault_id)
    return "GET", f"/api/sources/{made['id']}", None


async def _create_source(team: Team, _actor: str) -> Request:
    return "POST", f"/api/vaults/{team.vault_id}/sources", {"title": "A new source"}


async def _update_source(team: Team, _actor: str) -> Request:
    made = await factories.source(team.owner, team.vault_id)
    return "PATCH", f"/api/sources/{made['id']}", {"title": "Changed"}


async def _delete_source(team: Team, _actor: str) -> Request:
    made = await factories.source(team.owner, team.vault_id)
    return "DELETE", f"/api/sources/{made['id']}", None


async def _rename_vault(team: Team, actor: str) -> Request:
    return "PATCH", f"/api/vaults/{team.vault_id}", {"name": f"Renamed by {actor}"}


async def _delete_vault(team: Team, _actor: str) -> Request:
    return "DELETE", f"/api/vaults/{team.vault_id}", None


async def _add_member(team: Team, _actor: str) -> Request:
    body = {"email": team.outsider.email, "role": "viewer"}
    return "POST", f"/api/vaults/{team.vault_id}/members", body


async def _update_member(team: Team, _actor: str) -> Request:
    path = f"/api/vaults/{team.vault_id}/members/{team.viewer.id}"
    return "PATCH", path, {"role": "contributor"}


async def _remove_member(team: Team, actor: str) -> Request:
    target = team.contributor if actor == "viewer" else team.viewer
    return "DELETE", f"/api/vaults/{team.vault_id}/members/{target.id}", None


async def _leave(team: Team, actor: str) -> Request:
    me = team.viewer if actor == "anonymous" else team.by_role(actor)
    return "DELETE", f"/api/vaults/{team.vault_id}/members/{me.id}", None


async def _list_vaults(_team: Team, _actor: str) -> Request:
    return "GET", "/api/vaults", None


async def _create_vault(_team: Team, actor: str) -> Request:
    return "POST", "/api/vaults", {"name": f"{actor}'s own"}


MATRIX: dict[str, Action] = {
    #                      anonymous, outsider, viewer, contributor, owner
    "list vaults": Action((401, 200, 200, 200, 200), _list_vaults, changes=False),
    "create vault": Action((401, 201, 201, 201, 201), _create_vault, changes=False),
    "read vault": Action((401, 404, 200, 200, 200), _vault(), changes=False),
    "list sources": Action((401, 404, 200, 200, 200), _vault("/sources"), changes=False),
    "get source": Action((401, 404, 200, 200, 200), _existing_source, changes=False),
    "list members": Action((401, 404, 200, 200, 200), _vault("/members"), changes=False),
    "list events": Action((401, 404, 200, 200, 200), _vault("/events"), changes=False),
    "create source": Action((401, 404, 403, 201, 201), _create_source, changes=True),
    "update source": Action((401, 404, 403, 200, 200), _update_source, changes=True),
    "delete source": Action((401, 404, 403, 204, 204), _delete_source, changes=True),
    "rename vault": Action((401, 404, 403, 403, 200), _rename_vault, changes=True),
    "delete vault": Action((401, 404, 403, 403, 204), _delete_vault, changes=True),
    "add member": Action((401, 404, 403, 403, 201), _add_member, changes=True),
    "update member": Action((401, 404, 403, 403, 200), _update_member, changes=True),
    "remove member": Action((401, 404, 403, 403, 204), _remove_member, changes=True),
    # Leaving is removing oneself: any member may, except the last owner.
    "leave vault": Action((401, 404, 204, 204, 409), _leave, changes=True),
}


@pytest.mark.parametrize("action", list(MATRIX))
async def test_permission_matrix(
    action: str, team: Team, client: httpx.AsyncClient, recorder: Recorder
) -> None:
    spec = MATRIX[action]
    # Owner last: the owner's allowed change (deleting the vault, say) must not spoil the rest.
    for actor, expected in zip(ACTORS, spec.expect, strict=True):
        method, path, body = await spec.request(team, actor)
        http = client if actor == "anonymous" else team.by_role(actor).http
        before = len(recorder.published)
        response = await http.request(method, path, json=body)
        where = f"{action} as {actor}: {method} {path}"
        if expected < 400:
            assert response.status_code == expected, (where, response.text)
        else:
            checks.error(response, expected, CODES[expected])
        announced = recorder.published[before:]
        if spec.changes and expected < 400:
            assert len(announced) == 1, (where, announced)
            assert announced[0].committed
            assert announced[0].event["actor"]["role"] == actor
        else:
            assert announced == [], (where, announced)


VAULT_SCOPED = [
    ("GET", "/api/vaults/{vault}", None),
    ("PATCH", "/api/vaults/{vault}", {"name": "x"}),
    ("DELETE", "/api/vaults/{vault}", None),
    ("GET", "/api/vaults/{vault}/sources", None),
    ("POST", "/api/vaults/{vault}/sources", {"title": "x"}),
    ("GET", "/api/vaults/{vault}/events", None),
    ("GET", "/api/vaults/{vault}/members", None),
    ("POST", "/api/vaults/{vault}/members", {"email": "a@example.com", "role": "viewer"}),
    ("PATCH", "/api/vaults/{vault}/members/{user}", {"role": "viewer"}),
    ("DELETE", "/api/vaults/{vault}/members/{user}", None),
    ("GET", "/api/sources/{source}", None),
    ("PATCH", "/api/sources/{source}", {"title": "x"}),
    ("DELETE", "/api/sources/{source}", None),
]


async def test_a_vault_one_is_not_in_looks_like_one_that_does_not_exist(team: Team) -> None:
    real = await factories.source(team.owner, team.vault_id)
    missing = "0" * 32
    for method, template, body in VAULT_SCOPED:
        hidden = template.format(vault=team.vault_id, user=team.owner.id, source=real["id"])
        absent = template.format(vault=missing, user=team.owner.id, source=missing)
        outsider = await team.outsider.http.request(method, hidden, json=body)
        member = await team.owner.http.request(method, absent, json=body)
        checks.error(outsider, 404, "NOT_FOUND")
        assert outsider.json() == member.json(), (method, template)
