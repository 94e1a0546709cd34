"""Invite links across two instances on one PostgreSQL and one Redis: users racing for an
invite's last use through different instances make exactly one member, and the room hears
``member:added`` on the other instance; a source made on one is found by search on the other."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests import checks
from tests.factories import Team
from tests.multi.cluster import Instance
from tests.multi.conftest import rest_member
from tests.realtime.sockets import Socket

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_racing_through_two_instances_makes_one_member(
    pair: list[Instance], team: Team
) -> None:
    a, b = pair
    made = await team.owner.http.post(
        f"/api/vaults/{team.vault_id}/invites", json={"role": "viewer", "maxUses": 1}
    )
    assert made.status_code == 201, made.text
    token = made.json()["invite"]["url"].rsplit("#token=", 1)[1]
    racers = [await rest_member(a.url, f"Racer {n}") for n in range(6)]
    watcher = await Socket(b.url, team.viewer.token).connect()
    clients = [
        httpx.AsyncClient(base_url=(a, b)[n % 2].url, timeout=10, headers=r.http.headers)
        for n, r in enumerate(racers)
    ]
    try:
        await watcher.join(team.vault_id)
        answers = await asyncio.gather(
            *(c.post("/api/invites/accept", json={"token": token}) for c in clients)
        )
        assert [x.status_code for x in answers].count(200) == 1, [x.text for x in answers]
        for answer in answers:
            if answer.status_code != 200:
                checks.error(answer, 410, "INVITE_GONE")
        winner = racers[[x.status_code for x in answers].index(200)]
        event = await watcher.wait_for("member:added")
        assert event["member"]["userId"] == winner.id
        members = (await team.owner.http.get(f"/api/vaults/{team.vault_id}/members")).json()
        joined = {m["userId"] for m in members["members"]} & {r.id for r in racers}
        assert joined == {winner.id}

        assert (await winner.http.get(f"/api/vaults/{team.vault_id}")).status_code == 200
        source = await team.owner.http.post(
            f"/api/vaults/{team.vault_id}/sources", json={"title": "Found across instances"}
        )
        assert source.status_code == 201
        async with httpx.AsyncClient(
            base_url=b.url, timeout=10, headers=winner.http.headers
        ) as on_b:
            found = await on_b.get("/api/search", params={"q": "across instances"})
        assert [s["id"] for s in found.json()["sources"]] == [source.json()["source"]["id"]]
    finally:
        await watcher.close()
        for client in clients:
            await client.aclose()
        for racer in racers:
            await racer.http.aclose()
