"""Connecting: the session (cookie or token) is checked before anything else (US2, FR-002,
FR-010); a refusal is a connect_error whose message is exactly UNAUTHORIZED."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import httpx
import pytest
import socketio
from sqlalchemy import update

from sourcevault.auth.models import AuthSession
from sourcevault.db.base import utcnow
from tests import checks
from tests.factories import PASSWORD, Team
from tests.live import LiveServer
from tests.realtime.conftest import OpenSocket
from tests.realtime.sockets import Socket


async def refusal(server: LiveServer, **kwargs: object) -> object:
    """Connect and return the connect_error data the server refused with."""
    async with aiohttp.ClientSession() as http:
        sio = socketio.AsyncClient(reconnection=False, http_session=http)
        errors: list[object] = []
        sio.on("connect_error", lambda data: errors.append(data))
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(server.url, transports=["websocket"], wait_timeout=5, **kwargs)
        await sio.disconnect()
    assert len(errors) == 1
    return errors[0]


@pytest.mark.parametrize(
    "auth", [None, {}, {"token": ""}, {"token": "not-a-real-token"}, {"token": 42}, "junk"]
)
async def test_no_valid_session_is_refused_with_unauthorized(
    server: LiveServer, auth: object
) -> None:
    data = await refusal(server, auth=auth)
    assert data == {
        "message": "UNAUTHORIZED",
        "data": {"code": "UNAUTHORIZED", "message": "A valid session or token is required"},
    }


async def test_a_token_connects_and_the_socket_knows_its_user(
    server: LiveServer, team: Team, open_socket: OpenSocket
) -> None:
    sock = await open_socket(team.viewer.token)
    assert sock.sio.connected
    conn = next(iter(server.app.state.realtime.conns.values()))
    assert conn.principal.user_id == team.viewer.id
    assert conn.principal.expires_at > utcnow()


async def test_the_session_cookie_connects_a_browser_socket(
    server: LiveServer, client: httpx.AsyncClient, team: Team, open_socket: OpenSocket
) -> None:
    login = await client.post(
        "/api/auth/login", json={"email": team.viewer.email, "password": PASSWORD}
    )
    cookie = login.cookies["sourcevault_session"]
    sock = await open_socket(None, headers={"Cookie": f"sourcevault_session={cookie}"})
    ack = await sock.join(team.vault_id)
    assert ack["role"] == "viewer"


async def test_an_expired_session_is_refused(server: LiveServer, team: Team) -> None:
    async with server.ctx.sessionmaker() as session:
        await session.execute(
            update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    data = await refusal(server, auth={"token": team.viewer.token})
    assert isinstance(data, dict) and data["message"] == "UNAUTHORIZED"


async def test_a_logged_out_token_is_refused(server: LiveServer, team: Team) -> None:
    assert (await team.viewer.http.post("/api/auth/logout")).status_code == 204
    data = await refusal(server, auth={"token": team.viewer.token})
    assert isinstance(data, dict) and data["message"] == "UNAUTHORIZED"


async def test_a_browser_handshake_from_a_foreign_origin_is_refused(
    server: LiveServer, team: Team
) -> None:
    sock = Socket(server, team.viewer.token, headers={"Origin": "http://evil.example"})
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sock.connect()
    await sock.close()
    assert server.app.state.realtime.conns == {}


async def test_a_polling_handshake_from_a_foreign_origin_is_refused_in_the_contract_body(
    server: LiveServer, client: httpx.AsyncClient, team: Team
) -> None:
    evil = "http://evil.example"
    refused = await client.get(
        "/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": evil, "Authorization": f"Bearer {team.viewer.token}"},
    )
    checks.error(refused, 403, "ORIGIN_REJECTED")
    assert "evil" not in refused.text
    assert "access-control-allow-origin" not in refused.headers
    assert server.app.state.realtime.conns == {}
    # The page's own origin still opens a polling session.
    allowed = await client.get(
        "/socket.io/", params={"EIO": "4", "transport": "polling"}, headers={"Origin": server.url}
    )
    assert allowed.status_code == 200 and allowed.text.startswith("0{")


@pytest.mark.parametrize("origin", ["http://allowed.example", "SELF"])
async def test_own_and_allowed_origins_connect(
    server: LiveServer, team: Team, open_socket: OpenSocket, origin: str
) -> None:
    origin = server.url if origin == "SELF" else origin
    sock = await open_socket(team.viewer.token, headers={"Origin": origin})
    assert sock.sio.connected
