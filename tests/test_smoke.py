from __future__ import annotations

import httpx

from tests.factories import Team


async def test_health_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


async def test_a_team_sees_its_vault(team: Team) -> None:
    for who, role in (
        (team.owner, "owner"),
        (team.contributor, "contributor"),
        (team.viewer, "viewer"),
    ):
        response = await who.http.get("/api/vaults")
        assert [(v["id"], v["role"]) for v in response.json()["vaults"]] == [(team.vault_id, role)]
    response = await team.outsider.http.get(f"/api/vaults/{team.vault_id}")
    assert response.status_code == 404
