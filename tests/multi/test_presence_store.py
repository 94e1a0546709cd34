"""The Redis presence store against a Redis of the test's own: an instance whose Redis calls
failed puts the store right at its next renewal, and says so to the room."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from sourcevault.realtime.presence import Presence, RedisStore
from tests import services
from tests.multi.cluster import RedisServer


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """Its own: the test pauses it, which would pause everyone else's."""
    if RedisServer(tmp_path).binary is None:
        services.missing("redis-server")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Room:
    """What the vault's room was told, in order."""

    def __init__(self) -> None:
        self.told: list[tuple[str, str]] = []

    async def emit(self, event: str, data: dict[str, str], room: str) -> None:
        self.told.append((event, data["userId"]))


@pytest.fixture
async def instances(own_redis: RedisServer) -> AsyncIterator[list[tuple[Presence, Room]]]:
    made = []
    for _ in range(2):
        room = Room()
        presence = Presence(RedisStore(own_redis.url, "test", ttl=30.0), room.emit)
        await presence.start()
        made.append((presence, room))
    yield made
    for presence, _room in made:
        await presence.aclose()


async def test_a_leave_lost_while_redis_was_paused_is_made_good_at_the_next_renewal(
    own_redis: RedisServer, instances: list[tuple[Presence, Room]]
) -> None:
    (a, told_by_a), (b, _) = instances
    await a.join("sid-1", "ada", "Ada", "vault-1", "viewer")
    await a.join("sid-2", "bob", "Bob", "vault-1", "viewer")
    assert told_by_a.told == [("presence:joined", "ada"), ("presence:joined", "bob")]

    admin: Any = redis.asyncio.Redis.from_url(own_redis.url)
    try:
        await admin.execute_command("CLIENT", "PAUSE", "3000", "WRITE")
        await a.leave("sid-1", "vault-1")  # Redis takes no write: the call times out
        assert a.unsure
        assert ("presence:left", "ada") not in told_by_a.told
        assert [e["userId"] for e in await b.listing("vault-1")] == ["ada", "bob"]  # stale
        await admin.execute_command("CLIENT", "UNPAUSE")
    finally:
        await admin.aclose()

    assert isinstance(a.store, RedisStore)
    await a.store.beat()
    assert not a.unsure
    assert told_by_a.told[-1] == ("presence:left", "ada")
    assert [e["userId"] for e in await b.listing("vault-1")] == ["bob"]
