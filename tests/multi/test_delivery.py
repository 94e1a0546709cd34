"""Under Redis, a room event reaches sockets through the same delivery path as on one
instance: the instance that hears it from Redis writes it to each of its idle sockets directly,
and ``/metrics`` counts each delivery's route on every instance."""

from __future__ import annotations

import httpx
import pytest

from tests import factories
from tests.factories import Team
from tests.multi.cluster import Instance
from tests.multi.conftest import OpenSocket
from tests.test_metrics import samples as metric_samples

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.fast_transport]

DIRECT = 'sourcevault_socket_deliveries_total{route="direct"}'
QUEUED = 'sourcevault_socket_deliveries_total{route="queued"}'
WRITES = 3


async def deliveries(instance: Instance) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=5) as http:
        samples = metric_samples((await http.get(instance.metrics_url)).text)
    assert DIRECT in samples, f"{instance.name} exports no delivery counters by route"
    return {route: samples[route] for route in (DIRECT, QUEUED)}


async def test_events_from_redis_are_written_to_sockets_by_the_fast_path(
    pair: list[Instance], team: Team, open_socket: OpenSocket
) -> None:
    a, b = pair
    on_b = [await open_socket(b, m.token) for m in (team.contributor, team.viewer)]
    on_a = await open_socket(a, team.owner.token)
    for sock in (*on_b, on_a):
        await sock.join(team.vault_id)
    before = {instance.name: await deliveries(instance) for instance in pair}

    for _ in range(WRITES):  # REST writes on A; B hears them through Redis
        created = await factories.source(team.owner, team.vault_id)
        for sock in (*on_b, on_a):
            await sock.wait_for(
                "source:created", lambda e, id_=created["id"]: e["source"]["id"] == id_
            )

    after = {instance.name: await deliveries(instance) for instance in pair}
    assert after[b.name][DIRECT] - before[b.name][DIRECT] == WRITES * len(on_b)
    assert after[b.name][QUEUED] == before[b.name][QUEUED]
    assert after[a.name][DIRECT] - before[a.name][DIRECT] == WRITES
    assert after[a.name][QUEUED] == before[a.name][QUEUED]


DECODED = "sourcevault_redis_messages_decoded_total"


async def decoded(instance: Instance) -> float:
    async with httpx.AsyncClient(timeout=5) as http:
        samples = metric_samples((await http.get(instance.metrics_url)).text)
    assert DECODED in samples, f"{instance.name} exports no count of decoded Redis messages"
    return samples[DECODED]


@pytest.mark.parametrize("sockets_on_b", [1, 6])
async def test_each_redis_message_is_decoded_once_per_instance_not_once_per_socket(
    pair: list[Instance], team: Team, open_socket: OpenSocket, sockets_on_b: int
) -> None:
    """However many sockets B has in the room, each event it hears from Redis is decoded
    once there; A, which wrote it, decodes its own message once too (and drops it)."""
    a, b = pair
    members = [team.viewer, team.contributor]
    on_b = [await open_socket(b, members[i % 2].token) for i in range(sockets_on_b)]
    on_a = await open_socket(a, team.owner.token)
    for sock in (*on_b, on_a):
        await sock.join(team.vault_id)
    before = {instance.name: await decoded(instance) for instance in pair}
    deliveries_before = await deliveries(b)

    for _ in range(WRITES):
        created = await factories.source(team.owner, team.vault_id)
        for sock in (*on_b, on_a):
            await sock.wait_for(
                "source:created", lambda e, id_=created["id"]: e["source"]["id"] == id_
            )

    after = {instance.name: await decoded(instance) for instance in pair}
    assert after[b.name] - before[b.name] == WRITES
    assert after[a.name] - before[a.name] == WRITES
    written = (await deliveries(b))[DIRECT] - deliveries_before[DIRECT]
    assert written == WRITES * sockets_on_b  # the writes are per socket; the decodes are not
