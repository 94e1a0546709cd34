"""Invite links over REST, on SQLite and PostgreSQL: making, listing, revoking, previewing and
accepting them, what a gone invite says, and two users racing for an invite's last use."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from sourcevault.db.base import utcnow
from sourcevault.invites.models import Invite
from tests import checks, factories
from tests.factories import Member, Team
from tests.live import LiveServer, Recorder
from tests.realtime.sockets import Socket

INVITE_KEYS = {
    "id", "vaultId", "role", "url", "expiresAt", "maxUses", "uses", "createdBy", "createdAt",
}  # fmt: skip


async def make(owner: Member, vault_id: str, **body: Any) -> dict[str, Any]:
    response = await owner.http.post(f"/api/vaults/{vault_id}/invites", json=body)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"invite"}
    invite: dict[str, Any] = response.json()["invite"]
    assert set(invite) == INVITE_KEYS, invite
    return invite


def token_of(invite: dict[str, Any]) -> str:
    return str(invite["url"]).rsplit("#token=", 1)[1]


async def accept(who: Member, token: str) -> httpx.Response:
    return await who.http.post("/api/invites/accept", json={"token": token})


async def members(team: Team) -> dict[str, str]:
    listed = await team.owner.http.get(f"/api/vaults/{team.vault_id}/members")
    return {m["userId"]: m["role"] for m in listed.json()["members"]}


async def test_a_link_is_made_previewed_without_signing_in_and_accepted(
    team: Team, server: LiveServer, client: httpx.AsyncClient, recorder: Recorder
) -> None:
    invite = await make(team.owner, team.vault_id, role="contributor", maxUses=2)
    # The secret is 256 random bits in the URL's fragment, on the server's own origin.
    match = re.fullmatch(
        re.escape(server.url) + r"/invite#token=([A-Za-z0-9_-]{43,})", invite["url"]
    )
    assert match, invite["url"]
    token = match.group(1)
    assert invite["vaultId"] == team.vault_id
    assert (invite["role"], invite["maxUses"], invite["uses"], invite["expiresAt"]) == (
        "contributor",
        2,
        0,
        None,
    )
    assert invite["createdBy"] == {"userId": team.owner.id, "userName": "Olive Owner"}
    assert checks.is_time(invite["createdAt"])

    # Only the secret's hash is stored.
    async with server.ctx.sessionmaker() as session:
        stored = await session.get(Invite, invite["id"])
    assert stored is not None
    assert token not in repr(vars(stored))

    preview = await client.get("/api/invites/preview", params={"token": token})
    assert preview.status_code == 200, preview.text
    assert preview.json() == {
        "vaultName": "Reading list",
        "inviterName": "Olive Owner",
        "role": "contributor",
        "expiresAt": None,
    }

    accepted = await accept(team.outsider, token)
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert set(body) == {"vault", "role"}
    checks.vault(body["vault"])
    assert body["role"] == body["vault"]["role"] == "contributor"
    assert body["vault"]["id"] == team.vault_id
    assert body["vault"]["seq"] == 3  # two member:added for the team, then this one
    assert (await members(team))[team.outsider.id] == "contributor"
    # A member now: the outsider may write to the vault.
    await factories.source(team.outsider, team.vault_id, title="Mine now")

    event = recorder.published[0]
    assert event.committed
    assert event.event["type"] == "member:added"
    assert event.event["seq"] == 3
    assert event.event["actor"] == {
        "userId": team.outsider.id,
        "userName": "Otto Outsider",
        "role": "contributor",
    }
    assert event.event["member"]["userId"] == team.outsider.id
    assert event.event["member"]["role"] == "contributor"

    listed = await team.owner.http.get(f"/api/vaults/{team.vault_id}/invites")
    assert listed.status_code == 200
    assert listed.json() == {"invites": [{**invite, "url": None, "uses": 1}]}


async def test_the_room_hears_member_added_when_a_link_is_accepted(
    team: Team, server: LiveServer
) -> None:
    invite = await make(team.owner, team.vault_id, role="viewer")
    watcher = await Socket(server, team.viewer.token).connect()
    try:
        await watcher.join(team.vault_id)
        assert (await accept(team.outsider, token_of(invite))).status_code == 200
        event = await watcher.wait_for("member:added")
        assert event["member"]["userId"] == team.outsider.id
        assert event["vaultId"] == team.vault_id
    finally:
        await watcher.close()


async def test_a_member_accepting_keeps_their_role_and_nothing_happens(
    team: Team, recorder: Recorder
) -> None:
    invite = await make(team.owner, team.vault_id, role="owner", maxUses=1)
    for who, role in ((team.viewer, "viewer"), (team.owner, "owner")):
        answer = await accept(who, token_of(invite))
        assert answer.status_code == 200, answer.text
        assert answer.json()["role"] == role
        assert answer.json()["vault"]["seq"] == 2
    assert recorder.published == []
    listed = (await team.owner.http.get(f"/api/vaults/{team.vault_id}/invites")).json()
    assert listed["invites"][0]["uses"] == 0  # still usable by someone new
    assert (await accept(team.outsider, token_of(invite))).status_code == 200


async def test_a_gone_invite_says_why_and_changes_nothing(
    team: Team, server: LiveServer, client: httpx.AsyncClient, recorder: Recorder
) -> None:
    revoked = await make(team.owner, team.vault_id, role="viewer")
    expired = await make(team.owner, team.vault_id, role="viewer", expiresInSeconds=60)
    used_up = await make(team.owner, team.vault_id, role="viewer", maxUses=1)
    assert expired["expiresAt"] > expired["createdAt"]

    revoke = await team.owner.http.delete(f"/api/invites/{revoked['id']}")
    assert revoke.status_code == 204, revoke.text
    async with server.ctx.sessionmaker() as session, session.begin():
        await session.execute(
            update(Invite)
            .where(Invite.id == expired["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    late = await factories.member(server, client, "Late Larry")
    assert (await accept(late, token_of(used_up))).status_code == 200
    published = len(recorder.published)

    for invite, word in ((revoked, "revoked"), (expired, "expired"), (used_up, "used up")):
        preview = await client.get("/api/invites/preview", params={"token": token_of(invite)})
        checks.error(preview, 410, "INVITE_GONE")
        assert word in preview.json()["error"]["message"]
        checks.error(await accept(team.outsider, token_of(invite)), 410, "INVITE_GONE")
    unknown = "x" * 43
    checks.error(
        await client.get("/api/invites/preview", params={"token": unknown}), 404, "NOT_FOUND"
    )
    checks.error(await accept(team.outsider, unknown), 404, "NOT_FOUND")

    assert team.outsider.id not in await members(team)
    assert len(recorder.published) == published
    # A revoked invite leaves the owner's list; expired and used-up ones stay until revoked.
    listed = (await team.owner.http.get(f"/api/vaults/{team.vault_id}/invites")).json()
    assert [i["id"] for i in listed["invites"]] == [expired["id"], used_up["id"]]
    checks.error(await team.owner.http.delete(f"/api/invites/{revoked['id']}"), 404, "NOT_FOUND")
    late_http = late.http
    await late_http.aclose()


async def test_only_owners_manage_invites_and_bad_input_is_refused(
    team: Team, client: httpx.AsyncClient, server: LiveServer
) -> None:
    path = f"/api/vaults/{team.vault_id}/invites"
    for who in (team.contributor, team.viewer):
        checks.error(
            await who.http.post(path, json={"role": "viewer"}), 403, "INSUFFICIENT_PERMISSIONS"
        )
        checks.error(await who.http.get(path), 403, "INSUFFICIENT_PERMISSIONS")
    checks.error(await team.outsider.http.post(path, json={"role": "viewer"}), 404, "NOT_FOUND")
    checks.error(await team.outsider.http.get(path), 404, "NOT_FOUND")
    checks.error(await client.post(path, json={"role": "viewer"}), 401, "UNAUTHORIZED")

    invite = await make(team.owner, team.vault_id, role="viewer")
    revoke = f"/api/invites/{invite['id']}"
    checks.error(await team.contributor.http.delete(revoke), 403, "INSUFFICIENT_PERMISSIONS")
    checks.error(await team.outsider.http.delete(revoke), 404, "NOT_FOUND")
    checks.error(await team.owner.http.delete("/api/invites/nope"), 404, "NOT_FOUND")

    refused: list[tuple[dict[str, object], str]] = [
        ({}, "role"),
        ({"role": "admin"}, "role"),
        ({"role": "viewer", "expiresInSeconds": 0}, "expiresInSeconds"),
        ({"role": "viewer", "expiresInSeconds": "3600"}, "expiresInSeconds"),
        ({"role": "viewer", "expiresInSeconds": True}, "expiresInSeconds"),
        ({"role": "viewer", "expiresInSeconds": 10**12}, "expiresInSeconds"),
        ({"role": "viewer", "maxUses": 0}, "maxUses"),
        ({"role": "viewer", "maxUses": 1.5}, "maxUses"),
        ({"role": "viewer", "token": "mine"}, "token"),
    ]
    for body, field in refused:
        assert field in checks.fields(await team.owner.http.post(path, json=body)), body
    for body in ({}, {"token": 5}, {"token": ""}, {"token": "t" * 513}, {"token": "x", "extra": 1}):
        checks.fields(await team.outsider.http.post("/api/invites/accept", json=body))
    checks.error(await client.post("/api/invites/accept", json={"token": "x"}), 401, "UNAUTHORIZED")
    checks.fields(await client.get("/api/invites/preview"))
    for token in ("\x00", "'; DROP TABLE invites; --", "é" * 300):
        checks.error(
            await client.get("/api/invites/preview", params={"token": token}), 404, "NOT_FOUND"
        )
    listed = (await team.owner.http.get(path)).json()
    assert [i["id"] for i in listed["invites"]] == [invite["id"]]
    async with server.ctx.sessionmaker() as session:
        assert len((await session.scalars(select(Invite))).all()) == 1


async def test_racing_for_the_last_use_makes_exactly_one_member(
    team: Team, server: LiveServer, client: httpx.AsyncClient, recorder: Recorder
) -> None:
    racers = [await factories.member(server, client, f"Racer {n}") for n in range(6)]
    try:
        for _round in range(3):
            invite = await make(team.owner, team.vault_id, role="viewer", maxUses=1)
            answers = await asyncio.gather(*(accept(r, token_of(invite)) for r in racers))
            codes = sorted(a.status_code for a in answers)
            assert codes.count(200) == 1, [a.text for a in answers]
            for answer in answers:
                if answer.status_code != 200:
                    checks.error(answer, 410, "INVITE_GONE")
                    assert "used up" in answer.json()["error"]["message"]
            winner = racers[[a.status_code for a in answers].index(200)]
            racers.remove(winner)
            await winner.http.aclose()
            listed = (await team.owner.http.get(f"/api/vaults/{team.vault_id}/invites")).json()
            assert listed["invites"][-1]["uses"] == 1
        joined = [
            uid
            for uid in await members(team)
            if uid not in (team.owner.id, team.contributor.id, team.viewer.id)
        ]
        assert len(joined) == 3
        assert recorder.types() == ["member:added"] * 3
        assert all(p.committed for p in recorder.published)
    finally:
        for racer in racers:
            await racer.http.aclose()
