"""What an operator of ``sourcevault serve`` sees: structured logs carrying the request id,
readiness that covers Redis, and per-instance metrics."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.factories import Team
from tests.multi.cluster import Instance, until_line, until_logged
from tests.realtime.sockets import Socket

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_logs_are_json_lines_carrying_the_request_id(
    pair: list[Instance], team: Team
) -> None:
    a, _b = pair
    rid = f"ops-{uuid.uuid4().hex[:12]}"
    response = await team.owner.http.get("/api/vaults", headers={"X-Request-ID": rid})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == rid

    line = await until_logged(a, "GET /api/vaults HTTP/1.1")
    lines = [x for x in a.lines() if x.get("requestId") == rid]  # every line is JSON
    assert lines, f"no log line with requestId {rid}: last was {line}"
    assert all({"time", "level", "logger", "message"} <= x.keys() for x in a.lines())
    assert any(
        "GET /api/vaults HTTP/1.1" in x["message"] and '" 200' in x["message"] for x in lines
    )


async def test_socket_handshakes_are_not_logged_one_line_each(
    pair: list[Instance], team: Team
) -> None:
    a, _b = pair
    socket = await Socket(a.url, team.viewer.token).connect()
    try:
        await socket.join(team.vault_id)
        rid = f"ops-{uuid.uuid4().hex[:12]}"
        await team.owner.http.get("/api/vaults", headers={"X-Request-ID": rid})
        # Logged after the handshake's line would have been: nothing is still to come.
        await until_line(a, lambda line: line.get("requestId") == rid)
        handshakes = ("WebSocket /socket.io/", "connection open")
        assert not [x for x in a.lines() if any(h in x["message"] for h in handshakes)]
    finally:
        await socket.close()


async def test_readiness_covers_the_database_and_redis(pair: list[Instance]) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        for instance in pair:
            ready = await http.get(f"{instance.url}/readyz")
            assert ready.status_code == 200
            assert ready.json() == {"status": "ok", "database": "ok", "redis": "ok"}
            metrics = (await http.get(instance.metrics_url)).text
            assert "sourcevault_redis_subscribed 1.0" in metrics
            assert "sourcevault_redis_outbox 0.0" in metrics
