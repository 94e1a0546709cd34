"""Vaults and members over REST: shapes, the last-owner rule, leaving, and field limits."""

from __future__ import annotations

import httpx

from tests import checks, factories
from tests.factories import Team
from tests.live import LiveServer


async def test_a_new_vault_belongs_to_its_creator(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    owner = await factories.member(server, client)
    stranger = await factories.member(server, client)
    try:
        plain = await owner.http.post("/api/vaults", json={"name": "Plain"})
        assert plain.status_code == 201, plain.text
        assert set(plain.json()) == {"vault"}
        vault = plain.json()["vault"]
        checks.vault(vault)
        assert (vault["name"], vault["description"], vault["role"], vault["seq"]) == (
            "Plain",
            None,
            "owner",
            0,
        )
        assert vault["createdAt"] == vault["updatedAt"]

        described = await factories.vault(owner, "Described", description="Papers on X")
        assert described["description"] == "Papers on X"

        listed = await owner.http.get("/api/vaults")
        assert listed.status_code == 200
        assert listed.json() == {"vaults": [vault, described]}
        assert (await owner.http.get(f"/api/vaults/{vault['id']}")).json() == {"vault": vault}

        members = await owner.http.get(f"/api/vaults/{vault['id']}/members")
        assert members.status_code == 200
        (me,) = members.json()["members"]
        checks.member(me)
        assert (me["userId"], me["email"], me["name"], me["role"]) == (
            owner.id,
            owner.email,
            owner.name,
            "owner",
        )
        # Someone else's vaults are not listed.
        assert (await stranger.http.get("/api/vaults")).json() == {"vaults": []}
    finally:
        await owner.http.aclose()
        await stranger.http.aclose()


async def test_each_member_sees_the_vault_with_their_own_role(team: Team) -> None:
    for role in ("owner", "contributor", "viewer"):
        response = await team.by_role(role).http.get(f"/api/vaults/{team.vault_id}")
        assert response.status_code == 200, response.text
        checks.vault(response.json()["vault"])
        assert response.json()["vault"]["role"] == role
        assert response.json()["vault"]["seq"] == 2  # two member:added so far

    members = (await team.viewer.http.get(f"/api/vaults/{team.vault_id}/members")).json()
    for m in members["members"]:
        checks.member(m)
    assert [(m["userId"], m["role"]) for m in members["members"]] == [
        (team.owner.id, "owner"),
        (team.contributor.id, "contributor"),
        (team.viewer.id, "viewer"),
    ]


async def test_the_owner_renames_and_describes_the_vault(team: Team) -> None:
    path = f"/api/vaults/{team.vault_id}"
    renamed = await team.owner.http.patch(path, json={"name": "  Renamed  "})
    assert renamed.status_code == 200, renamed.text
    vault = renamed.json()["vault"]
    checks.vault(vault)
    assert (vault["name"], vault["description"], vault["seq"]) == ("Renamed", None, 3)
    assert vault["createdAt"] == team.vault["createdAt"]
    assert vault["updatedAt"] >= team.vault["updatedAt"]

    described = await team.owner.http.patch(path, json={"description": "About things"})
    assert described.json()["vault"]["name"] == "Renamed"  # left out, so left alone
    assert described.json()["vault"]["description"] == "About things"
    cleared = await team.owner.http.patch(path, json={"description": None})
    assert cleared.json()["vault"]["description"] is None
    seen = await team.viewer.http.get(path)
    assert seen.json()["vault"] == {**cleared.json()["vault"], "role": "viewer"}


async def test_deleting_a_vault_takes_its_sources_and_memberships(team: Team) -> None:
    source = await factories.source(team.contributor, team.vault_id)
    deleted = await team.owner.http.delete(f"/api/vaults/{team.vault_id}")
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    for who in (team.owner, team.contributor, team.viewer):
        checks.error(await who.http.get(f"/api/vaults/{team.vault_id}"), 404, "NOT_FOUND")
        checks.error(await who.http.get(f"/api/sources/{source['id']}"), 404, "NOT_FOUND")
        assert (await who.http.get("/api/vaults")).json() == {"vaults": []}
    checks.error(await team.owner.http.delete(f"/api/vaults/{team.vault_id}"), 404, "NOT_FOUND")


async def test_the_owner_adds_changes_and_removes_members(team: Team) -> None:
    base = f"/api/vaults/{team.vault_id}/members"
    added = await team.owner.http.post(
        base, json={"email": team.outsider.email.upper(), "role": "viewer"}
    )
    assert added.status_code == 201, added.text
    assert set(added.json()) == {"member"}
    member = added.json()["member"]
    checks.member(member)
    assert (member["userId"], member["email"], member["name"], member["role"]) == (
        team.outsider.id,
        team.outsider.email,
        team.outsider.name,
        "viewer",
    )
    assert (await team.outsider.http.get(f"/api/vaults/{team.vault_id}")).status_code == 200

    again = await team.owner.http.post(base, json={"email": team.outsider.email, "role": "owner"})
    checks.error(again, 409, "CONFLICT")
    nobody = await team.owner.http.post(
        base, json={"email": "nobody@example.com", "role": "viewer"}
    )
    checks.error(nobody, 422, "VALIDATION_ERROR")
    assert nobody.json()["error"]["details"] == [
        {"field": "email", "message": "No registered user has this email"}
    ]

    promoted = await team.owner.http.patch(f"{base}/{team.outsider.id}", json={"role": "owner"})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json() == {"member": {**member, "role": "owner"}}
    same = await team.owner.http.patch(f"{base}/{team.outsider.id}", json={"role": "owner"})
    assert same.json() == promoted.json()

    removed = await team.owner.http.delete(f"{base}/{team.outsider.id}")
    assert removed.status_code == 204, removed.text
    assert removed.content == b""
    checks.error(await team.outsider.http.get(f"/api/vaults/{team.vault_id}"), 404, "NOT_FOUND")
    gone = await team.owner.http.delete(f"{base}/{team.outsider.id}")
    checks.error(gone, 404, "NOT_FOUND")
    checks.error(
        await team.owner.http.patch(f"{base}/{team.outsider.id}", json={"role": "viewer"}),
        404,
        "NOT_FOUND",
    )
    assert (await team.owner.http.get(f"/api/vaults/{team.vault_id}")).json()["vault"]["seq"] == 5


async def test_any_member_may_leave(team: Team) -> None:
    base = f"/api/vaults/{team.vault_id}/members"
    for who in (team.viewer, team.contributor):
        left = await who.http.delete(f"{base}/{who.id}")
        assert left.status_code == 204, left.text
        checks.error(await who.http.get(f"/api/vaults/{team.vault_id}"), 404, "NOT_FOUND")
    members = (await team.owner.http.get(base)).json()["members"]
    assert [m["userId"] for m in members] == [team.owner.id]


async def test_a_vault_never_loses_its_last_owner(team: Team) -> None:
    base = f"/api/vaults/{team.vault_id}/members"
    before = (await team.owner.http.get(base)).json()
    for attempt in (
        team.owner.http.delete(f"{base}/{team.owner.id}"),
        team.owner.http.patch(f"{base}/{team.owner.id}", json={"role": "contributor"}),
        team.owner.http.patch(f"{base}/{team.owner.id}", json={"role": "viewer"}),
    ):
        checks.error(await attempt, 409, "CONFLICT")
    assert (await team.owner.http.get(base)).json() == before

    # With a second owner, the first may step down, and then leave.
    await team.owner.http.patch(f"{base}/{team.contributor.id}", json={"role": "owner"})
    demoted = await team.owner.http.patch(f"{base}/{team.owner.id}", json={"role": "viewer"})
    assert demoted.status_code == 200, demoted.text
    assert demoted.json()["member"]["role"] == "viewer"
    # Now the former owner manages nothing, and the new last owner is protected too.
    refused = await team.owner.http.patch(f"{base}/{team.viewer.id}", json={"role": "owner"})
    checks.error(refused, 403, "INSUFFICIENT_PERMISSIONS")
    last = await team.contributor.http.delete(f"{base}/{team.contributor.id}")
    checks.error(last, 409, "CONFLICT")
    left = await team.owner.http.delete(f"{base}/{team.owner.id}")
    assert left.status_code == 204, left.text


async def test_vault_and_member_fields_are_held_to_the_contract_limits(team: Team) -> None:
    http = team.owner.http
    path = f"/api/vaults/{team.vault_id}"
    refused = [
        ({"name": ""}, {"name"}),
        ({"name": "   "}, {"name"}),
        ({"name": "n" * 201}, {"name"}),
        ({"name": 7}, {"name"}),
        ({"name": "ok", "description": "d" * 2001}, {"description"}),
        ({"name": "ok", "descripton": "typo"}, {"descripton"}),
        ({}, {"name"}),
    ]
    for body, named in refused:
        assert checks.fields(await http.post("/api/vaults", json=body)) == named, body
        if body:  # PATCH takes every field as optional
            assert checks.fields(await http.patch(path, json=body)) == named, body
    assert checks.fields(await http.patch(path, json={"name": None})) == {"name"}
    members = f"{path}/members"
    for body, named in [
        ({"email": team.outsider.email, "role": "admin"}, {"role"}),
        ({"email": "no-at-sign", "role": "viewer"}, {"email"}),
        ({"email": team.outsider.email}, {"role"}),
        ({"email": team.outsider.email, "role": "viewer", "note": "hi"}, {"note"}),
    ]:
        assert checks.fields(await http.post(members, json=body)) == named, body
    patch = f"{members}/{team.viewer.id}"
    assert checks.fields(await http.patch(patch, json={"role": "boss"})) == {"role"}
    assert checks.fields(await http.patch(patch, json={})) == {"role"}

    # Nothing above changed anything; the limits themselves are accepted.
    assert (await http.get("/api/vaults")).json()["vaults"] == [{**team.vault, "seq": 2}]
    assert len((await http.get(members)).json()["members"]) == 3
    ok = await http.post("/api/vaults", json={"name": "n" * 200, "description": "d" * 2000})
    assert ok.status_code == 201, ok.text
