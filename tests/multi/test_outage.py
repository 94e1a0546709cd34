"""A Redis outage under two instances: Redis (one of the test's own) is stopped mid-run while
both instances keep taking mutations, then started again on the same port."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import services
from tests.multi import cluster
from tests.multi.cluster import RedisServer, until_logged, until_status
from tests.multi.conftest import rest_team
from tests.multi.follow import Follower
from tests.realtime.sockets import Socket

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def at(seq: int) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event["seq"] == seq


async def log_after(http: httpx.AsyncClient, vault_id: str, seq: int) -> list[dict[str, Any]]:
    response = await http.get(f"/api/vaults/{vault_id}/events", params={"after": seq})
    assert response.status_code == 200
    assert response.json()["hasMore"] is False
    events: list[dict[str, Any]] = response.json()["events"]
    return events


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, to stop and start (never the shared one)."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        services.missing("redis-server and redis-cli")
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def on_own_redis(tmp_path: Path, own_redis: RedisServer) -> Iterator[list[cluster.Instance]]:
    cluster.require(redis=False)
    with cluster.cluster(tmp_path, redis_url=own_redis.url, quiet=False) as instances:
        yield instances
    # The outage is logged as errors, and nothing else is.
    expected = ("lost the Redis subscription", "cannot publish to Redis")
    for instance in instances:
        unexpected = [e for e in instance.errors() if not e["message"].startswith(expected)]
        assert unexpected == [], instance.name


async def test_through_a_redis_outage_nothing_is_lost_and_the_instances_recover(
    own_redis: RedisServer, on_own_redis: list[cluster.Instance]
) -> None:
    a, b = on_own_redis
    await run_outage(own_redis, a, b)


async def run_outage(redis: RedisServer, a: cluster.Instance, b: cluster.Instance) -> None:
    team = await rest_team(a.url)
    vault_id = team.vault_id
    owner_on_b = httpx.AsyncClient(base_url=b.url, timeout=10, headers=team.owner.auth)
    on_a = await Follower(a.url, team.viewer.token, "on A").start(vault_id)
    on_b = await Follower(b.url, team.contributor.token, "on B").start(vault_id)
    followers = (on_a, on_b)
    live_a = await Socket(a.url, team.owner.token).connect()
    live_b = await Socket(b.url, team.owner.token).connect()
    await live_a.join(vault_id)
    await live_b.join(vault_id)
    try:
        # Before: a change on either instance reaches both, live.
        await factories_source(team.owner.http, vault_id, "before, on A")
        await factories_source(owner_on_b, vault_id, "before, on B")
        for f in followers:
            await f.synced(vault_id, 4)
            assert all(a.live for a in f.applied(vault_id))

        redis.stop()
        for instance in (a, b):
            down = await until_status(f"{instance.url}/readyz", 503)
            assert down.json()["redis"].startswith("down")
            assert down.json()["database"] == "ok"
            await until_logged(instance, "lost the Redis subscription")

        # During: every mutation commits and answers, on both instances, REST and socket...
        await factories_source(team.owner.http, vault_id, "during, on A")  # seq 5
        await factories_source(owner_on_b, vault_id, "during, on B")  # seq 6
        made = await on_b.client.create_source(vault_id, title="during, socket on B")  # seq 7
        assert made["title"] == "during, socket on B"
        # ...and the sockets on the instance that made the change hear it live.
        assert (await live_a.wait_for("source:created", at(5)))["source"]["title"] == "during, on A"
        await live_b.wait_for("source:created", at(6))
        await live_b.wait_for("source:created", at(7))
        # The followers on B saw seq 5 missing before seq 6 and fetched it over REST.
        await on_b.synced(vault_id, 7)
        await on_a.synced(vault_id, 5)
        await live_a.close()
        await live_b.close()

        redis.start()
        for instance in (a, b):
            await until_status(f"{instance.url}/readyz", 200)
            line = await until_logged(instance, "re-subscribed to Redis channel")
            assert line["level"] == "warning"
        # Each instance drops its sockets after re-subscribing: the clients reconnect,
        # rejoin with ``after`` and catch up on what they missed.
        for f in followers:
            await f.until(lambda f=f: len(f.catch_ups()) >= 1)
        await on_a.synced(vault_id, 7)

        # After: changes travel live between the instances again.
        await factories_source(owner_on_b, vault_id, "after, on B")  # seq 8
        await factories_source(team.owner.http, vault_id, "after, on A")  # seq 9
        for f in followers:
            await f.synced(vault_id, 9)
            assert [x.live for x in f.applied(vault_id)[-2:]] == [True, True], f.name

        everything = await log_after(team.owner.http, vault_id, 2)
        assert [e["seq"] for e in everything] == list(range(3, 10))
        for f in followers:
            assert [x.event for x in f.applied(vault_id)] == everything, f.name
    finally:
        for f in followers:
            await f.close()
        await live_a.close()
        await live_b.close()
        await owner_on_b.aclose()
        await team.close()


async def factories_source(http: httpx.AsyncClient, vault_id: str, title: str) -> None:
    response = await http.post(f"/api/vaults/{vault_id}/sources", json={"title": title})
    assert response.status_code == 201, response.text
