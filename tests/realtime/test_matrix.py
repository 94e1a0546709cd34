"""User story 3, FR-009: the role by socket-action matrix. Role and membership are read from the
database at each join and each mutation."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.factories import Team
from tests.realtime.conftest import OpenSocket

DENIED = {"code": "ACCESS_DENIED", "message": "Access denied"}
FORBIDDEN = {"code": "INSUFFICIENT_PERMISSIONS", "message": "Insufficient permissions"}
MATRIX = {
    #              join      create     update     delete
    "outsider": (DENIED, DENIED, "NOT_FOUND", "NOT_FOUND"),
    "viewer": (None, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "contributor": (None, None, None, None),
    "owner": (None, None, None, None),
}


def outcome(ack: dict[str, Any], expected: object) -> None:
    if expected is None:
        assert ack["ok"] is True, ack
    elif isinstance(expected, str):
        assert ack["ok"] is False and ack["error"]["code"] == expected, ack
    else:
        assert ack == {"ok": False, "error": expected}


@pytest.mark.parametrize("role", list(MATRIX))
async def test_role_by_socket_action(team: Team, open_socket: OpenSocket, role: str) -> None:
    join, create, update, delete = MATRIX[role]
    who = team.by_role(role)
    existing = await factories.source(team.owner, team.vault_id)
    sock = await open_socket(who.token)
    outcome(await sock.call("vault:join", {"vaultId": team.vault_id}), join)
    outcome(await sock.call("source:create", {"vaultId": team.vault_id, "title": "T"}), create)
    outcome(await sock.call("source:update", {"sourceId": existing["id"], "title": "U"}), update)
    outcome(await sock.call("source:delete", {"sourceId": existing["id"]}), delete)
    sources = (await team.owner.http.get(f"/api/vaults/{team.vault_id}/sources")).json()
    titles = sorted(s["title"] for s in sources["sources"])
    assert titles == (["T"] if create is None else [existing["title"]])


async def test_the_next_mutation_is_checked_against_the_new_role(
    team: Team, open_socket: OpenSocket
) -> None:
    sock = await open_socket(team.contributor.token)
    await sock.join(team.vault_id)
    ok = await sock.call("source:create", {"vaultId": team.vault_id, "title": "allowed"})
    assert ok["ok"] is True
    demoted = await team.owner.http.patch(
        f"/api/vaults/{team.vault_id}/members/{team.contributor.id}", json={"role": "viewer"}
    )
    assert demoted.status_code == 200
    refused = await sock.call("source:create", {"vaultId": team.vault_id, "title": "refused"})
    assert refused == {"ok": False, "error": FORBIDDEN}
    promoted = await team.owner.http.patch(
        f"/api/vaults/{team.vault_id}/members/{team.contributor.id}", json={"role": "owner"}
    )
    assert promoted.status_code == 200
    again = await sock.call("source:update", {"sourceId": ok["source"]["id"], "title": "back"})
    assert again["ok"] is True
