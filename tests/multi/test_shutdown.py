"""Graceful shutdown behind a load balancer: nginx (deploy/nginx.conf) in front of two
instances; one is stopped with SIGTERM while clients are joined through nginx and a request
is in flight on it."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests import services
from tests.multi import cluster
from tests.multi.cluster import Instance, Nginx, sockets_on, until_logged
from tests.multi.conftest import rest_team
from tests.multi.follow import Follower

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

CLIENTS = 4


@pytest.fixture
def behind_nginx(tmp_path: Path) -> Iterator[tuple[list[Instance], Nginx]]:
    cluster.require()
    if cluster.nginx_binary() is None:
        services.missing("nginx (Debian package nginx)")
    with cluster.cluster(tmp_path) as instances:
        nginx = Nginx(tmp_path, instances)
        nginx.start()
        try:
            yield instances, nginx
        finally:
            nginx.stop()


def dsn(instance: Instance) -> str:
    return instance.env["SOURCEVAULT_DATABASE_URL"].replace("+asyncpg", "")


async def test_stopping_an_instance_moves_its_clients_to_the_other_and_loses_nothing(
    behind_nginx: tuple[list[Instance], Nginx],
) -> None:
    instances, nginx = behind_nginx
    team = await rest_team(instances[0].url)
    vault_id = team.vault_id
    members = (team.owner, team.contributor, team.viewer, team.owner)
    followers = [
        await Follower(nginx.url, m.token, f"client {i}").start(vault_id)
        for i, m in enumerate(members[:CLIENTS])
    ]
    db = await asyncpg.connect(dsn(instances[0]))
    owner_on = {
        i.name: httpx.AsyncClient(base_url=i.url, timeout=15, headers=team.owner.auth)
        for i in instances
    }
    try:
        counts = [await sockets_on(i) for i in instances]
        assert sum(counts) == CLIENTS
        # Stop the instance that holds more of the clients (nginx spreads them).
        victim, survivor = (
            (instances[1], instances[0]) if counts[1] >= counts[0] else (instances[0], instances[1])
        )
        moved = max(counts)

        before = await owner_on[survivor.name].post(
            f"/api/vaults/{vault_id}/sources", json={"title": "before"}
        )
        assert before.status_code == 201
        for f in followers:
            await f.synced(vault_id, 3)

        # A request in flight on the victim: its write waits for the vault row, locked here.
        lock = db.transaction()
        await lock.start()
        await db.execute("SELECT id FROM vaults WHERE id = $1 FOR UPDATE", vault_id)
        in_flight = asyncio.create_task(
            owner_on[victim.name].post(
                f"/api/vaults/{vault_id}/sources", json={"title": "in flight at SIGTERM"}
            )
        )
        await lock_waiter(db)

        victim.terminate()
        stopped_at = time.monotonic()
        await until_logged(victim, "Waiting for connections to close")
        # Its sockets were closed at once (not left to time out) and their clients came
        # back through nginx, on the survivor, each within 2 s of its drop.
        dropped = await first_drops(followers, moved)
        for f in dropped:
            await f.until(lambda f=f: len(f.reconnections()) >= 1, timeout=2.5)
            back = f.reconnections()[0].at - f.drops()[0]
            assert back < 2.0, f"{f.name} took {back:.2f} s to reconnect"
        assert await sockets_on(survivor) == CLIENTS
        assert [f for f in followers if f.drops()] == dropped

        # The in-flight request completes once the row is free, and the victim then exits.
        assert not in_flight.done()
        await lock.commit()
        finished = await in_flight
        assert finished.status_code == 201, finished.text
        code = await asyncio.to_thread(wait_exit, victim)
        # uvicorn finishes its shutdown, then re-raises SIGTERM so the parent sees it.
        assert code in (0, -signal.SIGTERM)
        await until_logged(victim, "Application shutdown complete")
        exit_after = time.monotonic() - stopped_at
        assert exit_after < 15, f"the instance took {exit_after:.1f} s to exit"

        after = await owner_on[survivor.name].post(
            f"/api/vaults/{vault_id}/sources", json={"title": "after"}
        )
        assert after.status_code == 201
        last = after.json()["source"]
        everything = (
            await owner_on[survivor.name].get(f"/api/vaults/{vault_id}/events", params={"after": 2})
        ).json()["events"]
        assert [e["type"] for e in everything] == ["source:created"] * 3
        assert everything[-1]["source"]["id"] == last["id"]
        for f in followers:
            await f.synced(vault_id, everything[-1]["seq"])
            assert [x.event for x in f.applied(vault_id)] == everything, f.name
    finally:
        for client in owner_on.values():
            await client.aclose()
        await db.close()
        for f in followers:
            await f.close()
        await team.close()


async def lock_waiter(db: asyncpg.Connection) -> None:
    """Until a query waits for a lock (another process's state: polled)."""
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    async with asyncio.timeout(10):
        while True:
            if await db.fetchval(query):
                return
            await asyncio.sleep(0.02)


async def first_drops(followers: list[Follower], count: int) -> list[Follower]:
    """The ``count`` followers whose connection drops first."""
    waits = {
        asyncio.create_task(f.until(lambda f=f: bool(f.drops()), timeout=10)): f for f in followers
    }
    dropped: list[Follower] = []
    try:
        for done in asyncio.as_completed(waits):
            await done
            dropped = [f for f in followers if f.drops()]
            if len(dropped) >= count:
                return dropped
    finally:
        for task in waits:
            task.cancel()
    return dropped


def wait_exit(instance: Instance) -> int:
    assert instance.proc is not None
    try:
        return instance.proc.wait(20)
    except subprocess.TimeoutExpired:
        instance.proc.kill()
        raise
