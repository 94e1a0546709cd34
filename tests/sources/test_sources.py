"""Sources over REST: shapes, versions, deletion, and the contract's field limits."""

from __future__ import annotations

import httpx

from tests import checks, factories
from tests.factories import Team
from tests.live import Recorder


async def test_a_source_made_with_a_title_only_has_empty_fields(team: Team) -> None:
    response = await team.contributor.http.post(
        f"/api/vaults/{team.vault_id}/sources", json={"title": "  Only a title  "}
    )
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"source"}
    source = response.json()["source"]
    checks.source(source)
    assert source["vaultId"] == team.vault_id
    assert (source["title"], source["url"], source["annotation"], source["tags"]) == (
        "Only a title",
        None,
        None,
        [],
    )
    assert source["version"] == 1
    assert source["createdBy"] == {"userId": team.contributor.id, "userName": "Carl Contributor"}
    assert source["createdAt"] == source["updatedAt"]
    for who in (team.owner, team.viewer):
        got = await who.http.get(f"/api/sources/{source['id']}")
        assert got.status_code == 200
        assert got.json() == {"source": source}


async def test_updates_change_only_what_they_name_and_count_versions(team: Team) -> None:
    made = await factories.source(
        team.contributor,
        team.vault_id,
        title="Attention Is All You Need",
        url="https://arxiv.org/abs/1706.03762",
        annotation="The transformer paper.",
        tags=["ml", "nlp"],
    )
    assert (made["url"], made["annotation"], made["tags"]) == (
        "https://arxiv.org/abs/1706.03762",
        "The transformer paper.",
        ["ml", "nlp"],
    )
    path = f"/api/sources/{made['id']}"

    retitled = await team.owner.http.patch(path, json={"title": "Attention (2017)"})
    assert retitled.status_code == 200, retitled.text
    first = retitled.json()["source"]
    checks.source(first)
    assert first == {
        **made,
        "title": "Attention (2017)",
        "version": 2,
        "updatedAt": first["updatedAt"],
    }
    assert first["updatedAt"] >= made["updatedAt"]

    cleared = await team.contributor.http.patch(
        path, json={"url": None, "annotation": None, "tags": []}
    )
    second = cleared.json()["source"]
    assert (second["url"], second["annotation"], second["tags"], second["version"]) == (
        None,
        None,
        [],
        3,
    )
    # The creator stays the creator, whoever edits.
    assert second["createdBy"] == made["createdBy"]
    assert second["createdAt"] == made["createdAt"]
    assert (await team.viewer.http.get(path)).json() == {"source": second}


async def test_an_update_that_changes_nothing_is_no_new_version_and_no_event(
    team: Team, recorder: Recorder
) -> None:
    made = await factories.source(team.contributor, team.vault_id, title="Same", tags=["a"])
    path = f"/api/sources/{made['id']}"
    for body in ({}, {"title": "Same"}, {"title": "Same", "tags": ["a"], "url": None}):
        answer = await team.owner.http.patch(path, json=body)
        assert answer.status_code == 200
        assert answer.json() == {"source": made}
    assert recorder.types() == ["source:created"]


async def test_a_deleted_source_is_gone_for_everyone(team: Team) -> None:
    made = await factories.source(team.owner, team.vault_id)
    kept = await factories.source(team.owner, team.vault_id)
    path = f"/api/sources/{made['id']}"
    deleted = await team.contributor.http.delete(path)
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    checks.error(await team.viewer.http.get(path), 404, "NOT_FOUND")
    checks.error(await team.owner.http.patch(path, json={"title": "x"}), 404, "NOT_FOUND")
    checks.error(await team.owner.http.delete(path), 404, "NOT_FOUND")
    listed = (await team.viewer.http.get(f"/api/vaults/{team.vault_id}/sources")).json()
    assert [s["id"] for s in listed["sources"]] == [kept["id"]]


async def test_source_fields_are_held_to_the_contract_limits(
    team: Team, recorder: Recorder
) -> None:
    create = f"/api/vaults/{team.vault_id}/sources"
    existing = await factories.source(team.contributor, team.vault_id, title="Untouched")
    update = f"/api/sources/{existing['id']}"
    before = len(recorder.published)
    refused: list[tuple[dict[str, object], str]] = [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 501}, "title"),
        ({"title": 42}, "title"),
        ({"title": ["a list"]}, "title"),
        ({"url": "ftp://example.com/file"}, "url"),
        ({"url": "example.com/no-scheme"}, "url"),
        ({"url": "/relative/path"}, "url"),
        ({"url": "http://"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://exa mple.com/"}, "url"),
        ({"url": "https://example.com:99999/"}, "url"),
        ({"url": "https://example.com/" + "a" * 2029}, "url"),  # 2,049 characters
        ({"url": ""}, "url"),
        ({"annotation": "a" * 10_001}, "annotation"),
        ({"annotation": 3}, "annotation"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"tags": ["ok", ""]}, "tags.1"),
        ({"tags": ["  "]}, "tags.0"),
        ({"tags": ["x" * 51]}, "tags.0"),
        ({"tags": "not-a-list"}, "tags"),
        ({"tags": [1]}, "tags.0"),
        ({"tilte": "typo"}, "tilte"),
        ({"body": "x"}, "body"),
        ({"query": "x"}, "query"),
        ({"vaultId": team.vault_id}, "vaultId"),
        # Unknown on create; on an update a version is a positive integer (a stale one is
        # a CONFLICT: tests/sources/test_edit_conflicts.py).
        ({"version": "7"}, "version"),
    ]
    for change, field in refused:
        body = {"title": "A title", **change}
        assert field in checks.fields(await team.contributor.http.post(create, json=body)), body
        assert field in checks.fields(await team.contributor.http.patch(update, json=change)), (
            change
        )
    for change in ({"title": None}, {"tags": None}):
        assert checks.fields(await team.contributor.http.patch(update, json=change)) == set(change)
    assert checks.fields(
        await team.contributor.http.post(create, json={"url": "https://x.org"})
    ) == {"title"}

    # Nothing was made, changed or announced.
    assert len(recorder.published) == before
    page = (await team.viewer.http.get(create)).json()
    assert page["sources"] == [existing]

    # The limits themselves are accepted.
    longest = {
        "title": "t" * 500,
        "url": "https://example.com/" + "a" * 2028,
        "annotation": "a" * 10_000,
        "tags": ["x" * 50] * 19 + ["y"],
    }
    made = await team.contributor.http.post(create, json=longest)
    assert made.status_code == 201, made.text
    assert {k: made.json()["source"][k] for k in longest} == longest
    for url in ("http://localhost:8000/a?b=c#d", "HTTPS://EXAMPLE.COM", "http://[::1]/x"):
        assert (await team.contributor.http.patch(update, json={"url": url})).status_code == 200


async def test_sources_page_newest_first_with_a_cursor(
    team: Team, client: httpx.AsyncClient
) -> None:
    made = [await factories.source(team.contributor, team.vault_id) for _ in range(7)]
    newest_first = sorted(made, key=lambda s: (s["createdAt"], s["id"]), reverse=True)
    path = f"/api/vaults/{team.vault_id}/sources"

    seen: list[dict[str, object]] = []
    cursor = None
    pages = 0
    seq = 2 + len(made)  # two member:added, then one per source
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        response = await team.viewer.http.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"sources", "seq", "nextCursor"}
        assert body["seq"] == seq
        assert len(body["sources"]) <= 3
        seen.extend(body["sources"])
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
        # A source added between pages belongs before the first page, never in a later one.
        if pages == 1:
            await factories.source(team.contributor, team.vault_id, title="Late")
            seq += 1
    assert pages == 3
    assert seen == newest_first

    everything = await team.viewer.http.get(path)
    assert everything.json()["sources"][0]["title"] == "Late"
    assert len(everything.json()["sources"]) == 8 and everything.json()["nextCursor"] is None
    exact = await team.viewer.http.get(path, params={"limit": 8})
    assert exact.json()["nextCursor"] is None


async def test_bad_paging_parameters_are_refused(team: Team) -> None:
    path = f"/api/vaults/{team.vault_id}/sources"
    for params, field in [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "99999999999999999999999"}, "limit"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "eyJhIjogMX0"}, "cursor"),  # valid base64 of valid JSON, not a cursor
        ({"cursor": "WyJub3QgYSB0aW1lIiwgIngiXQ"}, "cursor"),  # ["not a time", "x"]
        (
            {"cursor": "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzAxOjAwIiwgIngiXQ"},
            "cursor",
        ),  # a time before year 1 in UTC
        ({"cursor": "c" * 600}, "cursor"),
    ]:
        response = await team.viewer.http.get(path, params=params)
        assert field in checks.fields(response), params
