"""GET /api/overview: the vault list's rows (each vault, its member count and its latest
event) in one read, for the caller's vaults only."""

from __future__ import annotations

from typing import Any

import httpx

from tests import checks, factories
from tests.factories import Team

OVERVIEW = "/api/overview"


async def overview(member: factories.Member) -> list[dict[str, Any]]:
    response = await member.http.get(OVERVIEW)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"vaults"}
    for row in body["vaults"]:
        assert set(row) == {"vault", "memberCount", "lastEvent"}
        checks.vault(row["vault"])
    rows: list[dict[str, Any]] = body["vaults"]
    return rows


async def latest_event(member: factories.Member, vault: dict[str, Any]) -> Any:
    seq = vault["seq"]
    assert isinstance(seq, int) and seq > 0
    page = await member.http.get(f"/api/vaults/{vault['id']}/events", params={"after": seq - 1})
    (event,) = page.json()["events"]
    return event


async def test_each_member_sees_the_vault_list_with_counts_and_the_latest_change(
    team: Team,
) -> None:
    fresh = await factories.vault(team.contributor, "Fresh")
    await factories.source(team.owner, team.vault_id, title="The latest change")

    for who in (team.owner, team.viewer):
        rows = await overview(who)
        listed = (await who.http.get("/api/vaults")).json()["vaults"]
        # The same vaults, in the same order, each exactly as GET /api/vaults lists it.
        assert (
            [row["vault"] for row in rows]
            == listed
            == [(await who.http.get(f"/api/vaults/{team.vault_id}")).json()["vault"]]
        )
        (row,) = rows
        assert row["memberCount"] == 3
        assert row["lastEvent"] == await latest_event(who, listed[0])
        assert row["lastEvent"]["source"]["title"] == "The latest change"

    rows = await overview(team.contributor)
    assert [row["vault"]["name"] for row in rows] == ["Reading list", "Fresh"]
    assert [row["memberCount"] for row in rows] == [3, 1]
    # A new vault has no event yet.
    assert rows[1] == {"vault": fresh, "memberCount": 1, "lastEvent": None}


async def test_counts_follow_the_members_and_a_removed_member_sees_nothing_more(
    team: Team,
) -> None:
    base = f"/api/vaults/{team.vault_id}/members"
    removed = await team.owner.http.delete(f"{base}/{team.viewer.id}")
    assert removed.status_code == 204, removed.text

    (row,) = await overview(team.owner)
    assert row["memberCount"] == 2
    assert row["lastEvent"]["type"] == "member:removed"
    assert await overview(team.viewer) == []

    await factories.add(team.owner, team.vault_id, team.outsider, "viewer")
    (row,) = await overview(team.outsider)
    assert (row["memberCount"], row["vault"]["role"]) == (3, "viewer")


async def test_nothing_of_others_vaults_is_shown(team: Team, client: httpx.AsyncClient) -> None:
    # The outsider is in no vault: an empty list, not the team's vault or its count.
    assert await overview(team.outsider) == []
    checks.error(await client.get(OVERVIEW), 401, "UNAUTHORIZED")
