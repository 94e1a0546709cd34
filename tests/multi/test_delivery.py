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
