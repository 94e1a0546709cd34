"""Bad input and abuse: every payload validated, unknown events ignored, oversize payloads and
bursts refused with an ack, and the connection always stays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sourcevault.config import Settings
from tests import factories
from tests.conftest import make_settings
from tests.factories import Team
from tests.live import LiveServer, live_server
from tests.realtime.conftest import OpenSocket
from tests.realtime.sockets import Socket


@pytest.fixture
def backend() -> str:
    """Input handling happens before any database work: SQLite alone shows it."""
    return "sqlite"


async def source_count(team: Team) -> int:
    page = await team.owner.http.get(f"/api/vaults/{team.vault_id}/sources")
    return len(page.json()["sources"])


@pytest.mark.parametrize(
    ("event", "payload", "field"),
    [
        ("vault:join", None, "body"),
        ("vault:join", {}, "vaultId"),
        ("vault:join", {"vaultId": 7}, "vaultId"),
        ("vault:join", {"vaultId": "x", "after": -1}, "after"),
        ("vault:join", {"vaultId": "x", "after": "1"}, "after"),
        ("vault:join", ["vaultId"], "body"),
        ("vault:leave", {"vaultId": None}, "vaultId"),
        ("source:create", {"vaultId": "VAULT", "title": ""}, "title"),
        ("source:create", {"vaultId": "VAULT", "title": "t", "url": "ftp://x"}, "url"),
        ("source:create", {"vaultId": "VAULT", "title": "t", "tags": ["a"] * 21}, "tags"),
        ("source:create", {"vaultId": "VAULT", "title": "t", "colour": "red"}, "colour"),
        ("source:create", {"vaultId": "VAULT", "title": "x" * 501}, "title"),
        ("source:update", {"sourceId": "S", "title": None}, "title"),
        ("source:update", {"title": "no id"}, "sourceId"),
        ("source:delete", "S", "body"),
    ],
)
async def test_invalid_payloads_get_a_validation_error_naming_the_field(
    team: Team, open_socket: OpenSocket, event: str, payload: Any, field: str
) -> None:
    sock = await open_socket(team.owner.token)
    if isinstance(payload, dict) and payload.get("vaultId") == "VAULT":
        payload = {**payload, "vaultId": team.vault_id}
    ack = await sock.call(event, payload)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "VALIDATION_ERROR"
    assert field in [d["field"] for d in ack["error"]["details"]]
    assert sock.sio.connected
    assert await source_count(team) == 0


@pytest.mark.parametrize(
    ("event", "payload", "field"),
    [
        ("source:create", {"vaultId": "VAULT", "title": b"binary"}, "title"),
        ("source:create", {"vaultId": "VAULT", "title": "t", "tags": [b"binary"]}, "tags.0"),
        ("source:create", {"vaultId": b"binary", "title": "t"}, "vaultId"),
        ("vault:join", {"vaultId": "VAULT", "after": 1.0}, "after"),
    ],
)
async def test_binary_attachments_and_lookalike_types_are_refused(
    team: Team, open_socket: OpenSocket, event: str, payload: Any, field: str
) -> None:
    """A string must be a string, not a binary attachment that would decode as one."""
    sock = await open_socket(team.owner.token)
    payload = {k: team.vault_id if v == "VAULT" else v for k, v in payload.items()}
    ack = await sock.call(event, payload)
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == "VALIDATION_ERROR"
    assert field in [d["field"] for d in ack["error"]["details"]]
    assert sock.sio.connected
    assert await source_count(team) == 0


async def test_unknown_events_are_ignored_and_the_connection_stays(
    team: Team, open_socket: OpenSocket
) -> None:
    sock = await open_socket(team.owner.token)
    answered: list[object] = []
    await sock.sio.emit("source:explode", {"vaultId": team.vault_id}, callback=answered.append)
    await sock.sio.emit("", None, callback=answered.append)
    # Handled in arrival order: by the time this ack is back the unknown ones were dropped.
    assert (await sock.join(team.vault_id))["ok"] is True
    assert answered == []
    assert sock.sio.connected


async def test_a_payload_over_64_kb_is_refused_and_nothing_is_written(
    team: Team, open_socket: OpenSocket
) -> None:
    sock = await open_socket(team.owner.token)
    huge = {"vaultId": team.vault_id, "title": "big", "annotation": "a" * (65 * 1024)}
    ack = await sock.call("source:create", huge)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "VALIDATION_ERROR"
    assert ack["error"]["details"][0]["field"] == "payload"
    just_under = {"vaultId": team.vault_id, "title": "fits", "annotation": "a" * 9_000}
    assert (await sock.call("source:create", just_under))["ok"] is True
    assert sock.sio.connected
    assert await source_count(team) == 1


@pytest.fixture
async def strict_server(database_url: str) -> AsyncIterator[LiveServer]:
    settings: Settings = make_settings(
        database_url, socket_rate_burst=5, socket_rate_per_second=0.5
    )
    async with live_server(settings) as live:
        yield live


async def test_a_burst_of_events_is_rate_limited_and_the_connection_stays(
    strict_server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=strict_server.url) as client:
        user = await factories.register(client)
        token = await factories.token_for(client, user["email"])
    sock = await Socket(strict_server, token).connect()
    try:
        acks = [await sock.call("vault:leave", {"vaultId": "v"}) for _ in range(8)]
        assert acks[:5] == [{"ok": True}] * 5
        assert all(a["ok"] is False and a["error"]["code"] == "RATE_LIMITED" for a in acks[5:])
        assert sock.sio.connected
    finally:
        await sock.close()
