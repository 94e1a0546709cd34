"""Presence across instances over Redis: a user with tabs on two instances is one entry; a
revocation on one instance takes the user's presence on another away at once; an instance
killed with SIGKILL has its users leave everyone's presence without a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import Team
from tests.multi import cluster
from tests.multi.cluster import Instance
from tests.multi.conftest import OpenSocket, rest_team
from tests.realtime.sockets import Socket


def users(presence: list[dict[str, Any]]) -> list[str]:
    return [e["userId"] for e in presence]


def announced(sock: Socket, event: str, user_id: str) -> list[dict[str, Any]]:
    return [e for e in sock.events(event) if e["userId"] == user_id]


async def listed(instance: Instance, team: Team) -> list[str]:
    async with httpx.AsyncClient(base_url=instance.url, timeout=10) as http:
        response = await http.get(
            f"/api/vaults/{team.vault_id}/presence",
            headers={"Authorization": f"Bearer {team.owner.token}"},
        )
    assert response.status_code == 200, response.text
    return users(response.json()["presence"])


async def test_tabs_on_two_instances_are_one_entry(
    pair: list[Instance], team: Team, open_socket: OpenSocket
) -> None:
    a, b = pair
    watcher = await open_socket(a, team.owner.token)
    await watcher.join(team.vault_id)
    on_a = await open_socket(a, team.viewer.token)
    on_b = await open_socket(b, team.viewer.token)
    await on_a.join(team.vault_id)
    await watcher.wait_for("presence:joined", lambda e: e["userId"] == team.viewer.id)
    ack = await on_b.join(team.vault_id)
    assert users(ack["presence"]) == [team.owner.id, team.viewer.id]
    assert await listed(b, team) == await listed(a, team) == [team.owner.id, team.viewer.id]

    await on_a.close()
    assert await listed(b, team) == [team.owner.id, team.viewer.id]  # the tab on B stays
    await on_b.close()
    left = await watcher.wait_for("presence:left", lambda e: e["userId"] == team.viewer.id)
    assert left == {"vaultId": team.vault_id, "userId": team.viewer.id, "userName": "Vera Viewer"}
    assert len(announced(watcher, "presence:joined", team.viewer.id)) == 1
    assert len(announced(watcher, "presence:left", team.viewer.id)) == 1
    assert await listed(a, team) == [team.owner.id]


async def test_a_revocation_on_one_instance_ends_presence_on_the_other(
    pair: list[Instance], team: Team, open_socket: OpenSocket
) -> None:
    a, b = pair
    watcher = await open_socket(a, team.owner.token)
    await watcher.join(team.vault_id)
    removed = await open_socket(b, team.viewer.token)
    await removed.join(team.vault_id)
    await watcher.wait_for("presence:joined", lambda e: e["userId"] == team.viewer.id)

    response = await team.owner.http.delete(f"/api/vaults/{team.vault_id}/members/{team.viewer.id}")
    assert response.status_code == 204
    await removed.wait_for("vault:access-revoked")
    await watcher.wait_for("presence:left", lambda e: e["userId"] == team.viewer.id)
    assert await listed(a, team) == await listed(b, team) == [team.owner.id]


@pytest.fixture
def short_lived(tmp_path: Path) -> Iterator[list[Instance]]:
    """Two instances of their own (one is killed), with a presence TTL of 1.5 s: short, to keep
    the test short; the mechanism is the one the 15 s default runs."""
    cluster.require()
    with cluster.cluster(tmp_path, presence_ttl="1.5") as instances:
        yield instances


async def test_a_killed_instance_has_its_users_leave_everyones_presence(
    short_lived: list[Instance], open_socket: OpenSocket
) -> None:
    a, b = short_lived
    team = await rest_team(a.url)
    try:
        watcher = await open_socket(a, team.owner.token)
        await watcher.join(team.vault_id)
        for instance in (a, b):  # the contributor has a tab on each
            tab = await open_socket(instance, team.contributor.token)
            await tab.join(team.vault_id)
        only_on_b = await open_socket(b, team.viewer.token)
        await only_on_b.join(team.vault_id)
        await watcher.wait_for("presence:joined", lambda e: e["userId"] == team.viewer.id)
        everyone = [team.owner.id, team.contributor.id, team.viewer.id]
        assert await listed(a, team) == everyone

        assert b.proc is not None
        killed = time.monotonic()
        b.proc.kill()  # SIGKILL: B says goodbye to nobody
        left = await watcher.wait_for(
            "presence:left", lambda e: e["userId"] == team.viewer.id, timeout=30
        )
        assert time.monotonic() - killed < 30
        assert left["userName"] == "Vera Viewer"
        # The contributor's tab on A keeps them present: no presence:left for them.
        assert await listed(a, team) == [team.owner.id, team.contributor.id]
        assert announced(watcher, "presence:left", team.contributor.id) == []
    finally:
        await team.close()
