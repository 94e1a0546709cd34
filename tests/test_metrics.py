"""``/metrics`` (Prometheus text format) and the request id, on a live server: after a known
sequence of connections, joins, broadcasts, refusals and rate-limited events, the numbers
are exactly those."""

from __future__ import annotations

import re

import httpx
import pytest
import socketio
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sourcevault.config import Settings
from tests import checks, factories
from tests.conftest import make_settings
from tests.factories import Team
from tests.live import LiveServer
from tests.realtime.sockets import Socket

BURST = 3


@pytest.fixture
def backend() -> str:
    """What is counted does not depend on the database: SQLite only."""
    return "sqlite"


@pytest.fixture
def settings(database_url: str) -> Settings:
    # A small bucket that does not refill within the test, so the refusals are countable.
    return make_settings(database_url, socket_rate_burst=BURST, socket_rate_per_second=0.001)


async def refused(server: LiveServer, token: str | None, **connect: object) -> None:
    sock = Socket(server, token, **connect)
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sock.connect()
    finally:
        await sock.close()


async def scrape(server: LiveServer) -> dict[str, float]:
    """Every sample as ``name{label="value",...}`` -> value, from the metrics listener."""
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(server.app.state.metrics_server.url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


def samples(text: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


async def test_metrics_are_served_on_their_own_listener_not_the_public_port(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    checks.error(await client.get("/metrics"), 404, "NOT_FOUND")
    url = server.app.state.metrics_server.url
    assert url.startswith("http://127.0.0.1:") and f":{server.port}/" not in url
    async with httpx.AsyncClient(timeout=5) as http:
        assert "sourcevault_sockets_connected" in (await http.get(url)).text
        assert (await http.get(url.replace("/metrics", "/api/vaults"))).status_code == 404


async def test_metrics_follow_connections_broadcasts_and_refusals(
    server: LiveServer, client: httpx.AsyncClient, team: Team
) -> None:
    start = await scrape(server)
    assert start["sourcevault_sockets_connected"] == 0
    assert start["sourcevault_vault_joins"] == 0
    assert start['sourcevault_handshakes_refused_total{reason="unauthorized"}'] == 0
    assert start['sourcevault_handshakes_refused_total{reason="origin"}'] == 0
    assert start['sourcevault_handshakes_refused_total{reason="rate_limited"}'] == 0
    assert start["sourcevault_slow_clients_dropped_total"] == 0
    # Setting up the team added two members: two events, each handed over once.
    assert start['sourcevault_events_broadcast_total{type="member:added"}'] == 2
    assert start["sourcevault_broadcast_seconds_count"] == 2

    owner = await Socket(server, team.owner.token).connect()
    viewer = await Socket(server, team.viewer.token).connect()
    idle = await Socket(server, team.contributor.token).connect()
    await owner.join(team.vault_id)
    await viewer.join(team.vault_id)
    own = await factories.vault(team.viewer, "Viewer's own")
    await viewer.join(own["id"])

    await refused(server, "not-a-token")
    await refused(server, None)
    await refused(server, team.owner.token, headers={"Origin": "http://elsewhere.example"})

    for _ in range(3):
        await factories.source(team.owner, team.vault_id)
    await viewer.wait_for("source:created", lambda _e: len(viewer.events("source:created")) == 3)

    acks = [await idle.call("vault:leave", {"vaultId": team.vault_id}) for _ in range(BURST + 4)]
    limited = [a for a in acks if not a["ok"] and a["error"]["code"] == "RATE_LIMITED"]
    assert len(limited) == 4

    during = await scrape(server)
    assert during["sourcevault_sockets_connected"] == 3
    assert during["sourcevault_vault_rooms"] == 2
    assert during["sourcevault_vault_joins"] == 3
    assert during['sourcevault_events_broadcast_total{type="source:created"}'] == 3
    assert during["sourcevault_broadcast_seconds_count"] == 5
    assert during['sourcevault_broadcast_seconds_bucket{le="+Inf"}'] == 5
    assert during['sourcevault_handshakes_refused_total{reason="unauthorized"}'] == 2
    assert during['sourcevault_handshakes_refused_total{reason="origin"}'] == 1
    assert during["sourcevault_socket_events_rate_limited_total"] == 4

    await viewer.close()
    await owner.sio.call("vault:leave", {"vaultId": team.vault_id})
    await idle.close()
    end = await scrape(server)
    assert end["sourcevault_sockets_connected"] == 1
    assert end["sourcevault_vault_rooms"] == 0
    assert end["sourcevault_vault_joins"] == 0
    await owner.close()


async def test_each_app_counts_only_its_own(server: LiveServer, client: httpx.AsyncClient) -> None:
    """Registries are per app, not global: a second app in the same process starts at zero."""
    from sourcevault.app import create_app

    other = create_app(server.ctx.settings)
    assert other.state.ctx.metrics.registry is not server.ctx.metrics.registry
    await refused(server, "not-a-token")
    assert (await scrape(server))[
        'sourcevault_handshakes_refused_total{reason="unauthorized"}'
    ] == 1
    assert (
        samples(generate_latest(other.state.ctx.metrics.registry).decode())[
            'sourcevault_handshakes_refused_total{reason="unauthorized"}'
        ]
        == 0
    )
    await other.state.ctx.aclose()


async def test_the_request_id_is_honoured_or_made_and_always_echoed(
    client: httpx.AsyncClient,
) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "trace-42.a:b"})
    assert given.headers["x-request-id"] == "trace-42.a:b"
    made = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    for bad in ("x" * 129, "has space", "<script>"):
        replaced = await client.get("/healthz", headers={"X-Request-ID": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])
    error = await client.get("/api/vaults", headers={"X-Request-ID": "failing-1"})
    assert error.status_code == 401
    assert error.headers["x-request-id"] == "failing-1"
