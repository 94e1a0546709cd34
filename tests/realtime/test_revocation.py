"""Live revocation: removal, role change, vault deletion, logout and expiry reach the user's
sockets at once, and a removed socket hears nothing more of the vault."""

from __future__ import annotations

import asyncio

from sourcevault.realtime.server import _Deadlines
from sourcevault.realtime.transport import Timers
from tests import factories
from tests.conftest import make_settings
from tests.factories import Team
from tests.live import LiveServer, live_server
from tests.realtime.conftest import OpenSocket
from tests.realtime.sockets import Socket, assert_cut_off


def vault_rooms(server: LiveServer, sock: Socket) -> list[str]:
    rooms = server.app.state.realtime.sio.rooms(sock.sio.get_sid())
    return [r for r in rooms if r.startswith("vault:")]


async def test_a_removed_member_is_told_and_leaves_the_room(
    server: LiveServer, team: Team, open_socket: OpenSocket
) -> None:
    removed = await open_socket(team.viewer.token)
    second_tab = await open_socket(team.viewer.token)
    stays = await open_socket(team.contributor.token)
    for sock in (removed, second_tab, stays):
        await sock.join(team.vault_id)
    own = await factories.vault(team.viewer, "Viewer's own")
    await removed.join(own["id"])

    response = await team.owner.http.delete(f"/api/vaults/{team.vault_id}/members/{team.viewer.id}")
    assert response.status_code == 204
    for sock in (removed, second_tab):
        revoked = await sock.wait_for("vault:access-revoked")
        assert revoked == {"vaultId": team.vault_id, "reason": "removed"}
        assert vault_rooms(server, sock) in ([f"vault:{own['id']}"], [])
    gone = await stays.wait_for("member:removed")
    assert gone["member"]["userId"] == team.viewer.id

    await assert_cut_off(team, stays, removed, own["id"])


async def test_a_role_change_reaches_every_socket_of_that_user(
    team: Team, open_socket: OpenSocket
) -> None:
    tabs = [await open_socket(team.contributor.token) for _ in range(2)]
    other = await open_socket(team.viewer.token)
    await other.join(team.vault_id)
    await team.owner.http.patch(
        f"/api/vaults/{team.vault_id}/members/{team.contributor.id}", json={"role": "viewer"}
    )
    for tab in tabs:  # not even joined: it is addressed to the user
        assert await tab.wait_for("vault:role-changed") == {
            "vaultId": team.vault_id,
            "role": "viewer",
        }
    updated = await other.wait_for("member:updated")
    assert updated["member"]["role"] == "viewer" and other.events("vault:role-changed") == []


async def test_deleting_a_vault_tells_the_room_and_empties_it(
    server: LiveServer, team: Team, open_socket: OpenSocket
) -> None:
    joined = [await open_socket(m.token) for m in (team.owner, team.contributor, team.viewer)]
    for sock in joined:
        await sock.join(team.vault_id)
    not_joined = await open_socket(team.viewer.token)
    assert (await team.owner.http.delete(f"/api/vaults/{team.vault_id}")).status_code == 204
    for sock in joined:
        deleted = await sock.wait_for("vault:deleted")
        assert deleted["vault"]["id"] == team.vault_id and deleted["seq"] == 3
        revoked = await sock.wait_for("vault:access-revoked")
        assert revoked == {"vaultId": team.vault_id, "reason": "vault_deleted"}
        assert vault_rooms(server, sock) == []
    assert await not_joined.wait_for("vault:access-revoked") == {
        "vaultId": team.vault_id,
        "reason": "vault_deleted",
    }
    assert not_joined.events("vault:deleted") == []


async def test_logout_disconnects_that_session_only(
    server: LiveServer, team: Team, open_socket: OpenSocket
) -> None:
    from tests.factories import token_for

    other_session = await token_for(team.owner.http, team.viewer.email)
    logged_out = await open_socket(team.viewer.token)
    stays = await open_socket(other_session)
    await logged_out.join(team.vault_id)
    await stays.join(team.vault_id)
    assert (await team.viewer.http.post("/api/auth/logout")).status_code == 204
    assert await logged_out.wait_for("session:expired") == {"reason": "logged_out"}
    await logged_out.disconnected.wait()
    created = await factories.source(team.owner, team.vault_id)
    await stays.wait_for("source:created", lambda e: e["source"]["id"] == created["id"])
    assert stays.sio.connected and stays.events("session:expired") == []


async def test_a_session_expiring_disconnects_its_sockets_at_that_moment(
    database_url: str,
) -> None:
    async with live_server(make_settings(database_url, session_max_age=2)) as server:
        import httpx

        async with httpx.AsyncClient(base_url=server.url) as client:
            user = await factories.register(client)
            token = await factories.token_for(client, user["email"])
            sock = await Socket(server, token).connect()
            try:
                # A timer per session fires at expiry; a once-a-minute sweep would miss this.
                assert await sock.wait_for("session:expired", timeout=10) == {"reason": "expired"}
                await sock.disconnected.wait()
            finally:
                await sock.close()
        assert server.app.state.realtime.conns == {}
        assert server.app.state.realtime._expiry.sockets == {}


async def test_each_session_expires_at_its_own_deadline_unless_its_sockets_left() -> None:
    """The sessions' deadlines share one timer: they still fire in the order they fall due,
    each once, and a session whose last socket left is not expired later."""
    fired: list[str] = []
    done = asyncio.Event()

    def fire(session_id: str) -> None:
        fired.append(session_id)
        if session_id == "last":
            done.set()

    deadlines = _Deadlines(fire)
    deadlines.watch("last", 0.15)
    deadlines.watch("first", 0.05)
    deadlines.watch("first", 0.05)  # a second socket of the same session
    deadlines.watch("left", 0.02)
    deadlines.watch("second", 0.1)
    deadlines.unwatch("left")  # its only socket disconnected
    deadlines.unwatch("first")  # one of two
    await asyncio.wait_for(done.wait(), 5)
    assert fired == ["first", "second", "last"]
    assert deadlines.sockets == {}


async def test_a_deadline_that_fails_does_not_stop_the_later_ones() -> None:
    fired: list[str] = []
    done = asyncio.Event()

    def fire(key: str) -> None:
        fired.append(key)
        if key == "broken":
            raise RuntimeError("this one fails")
        done.set()

    timers = Timers(fire)
    timers.set("broken", 0.01)
    timers.set("later", 0.05)
    await asyncio.wait_for(done.wait(), 5)
    assert fired == ["broken", "later"]
