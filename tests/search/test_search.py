"""Full-text search over REST, on SQLite and PostgreSQL: what matches, in which order, how it
pages, the tag filter, and that no query string can break it."""

from __future__ import annotations

from typing import Any

import httpx

from tests import checks, factories
from tests.factories import Team


async def search(who: factories.Member, vault_id: str, **params: Any) -> list[str]:
    response = await who.http.get(f"/api/vaults/{vault_id}/sources", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"sources", "seq", "nextCursor"}
    for source in body["sources"]:
        checks.source(source)
    return [s["title"] for s in body["sources"]]


async def everywhere(who: factories.Member, **params: Any) -> list[str]:
    response = await who.http.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"sources", "nextCursor"}
    return [s["title"] for s in response.json()["sources"]]


async def test_a_new_source_is_found_at_once_title_matches_first(team: Team) -> None:
    v = team.vault_id
    await factories.source(team.contributor, v, title="Notes", annotation="About transformers.")
    await factories.source(team.contributor, v, title="Cooking", tags=["Transformers"])
    await factories.source(team.contributor, v, title="Transformers, explained")
    await factories.source(team.contributor, v, title="Unrelated", url="https://x.org/transformers")
    await factories.source(team.contributor, v, title="Transformer (singular)")
    assert await search(team.viewer, v, q="TRANSFORMERS") == [
        "Transformers, explained",
        "Cooking",
        "Unrelated",
        "Notes",
    ]
    assert await everywhere(team.viewer, q="transformers") == [
        "Transformers, explained",
        "Cooking",
        "Unrelated",
        "Notes",
    ]
    assert await search(team.viewer, v, q="transformer*") == [
        "Transformer (singular)",
        "Transformers, explained",
        "Cooking",
        "Unrelated",
        "Notes",
    ]


async def test_phrases_prefixes_and_every_word(team: Team) -> None:
    v = team.vault_id
    await factories.source(team.owner, v, title="Deep neural networks")
    await factories.source(team.owner, v, title="Networks of neural cells")
    await factories.source(team.owner, v, title="Attention", url="https://arxiv.org/abs/1706.03762")
    await factories.source(team.owner, v, title="Tagged", tags=["deep learning", "networks"])
    assert await search(team.viewer, v, q='"neural networks"') == ["Deep neural networks"]
    assert await search(team.viewer, v, q="neural networks") == [
        "Networks of neural cells",
        "Deep neural networks",
    ]
    assert await search(team.viewer, v, q='"neural net"*') == ["Deep neural networks"]
    assert await search(team.viewer, v, q="netw*") == [
        "Networks of neural cells",
        "Deep neural networks",
        "Tagged",
    ]
    # A phrase does not reach across two tags, nor across two fields.
    assert await search(team.viewer, v, q='"learning networks"') == []
    assert await search(team.viewer, v, q='"tagged deep"') == []
    assert await search(team.viewer, v, q="arxiv.org") == ["Attention"]
    assert await search(team.viewer, v, q="1706.03762 attention") == ["Attention"]
    assert await search(team.viewer, v, q="1706 missing") == []


async def test_tags_filter_with_and_without_a_query(team: Team) -> None:
    v = team.vault_id
    await factories.source(team.owner, v, title="One", tags=["ml", "to read"])
    await factories.source(team.owner, v, title="Two", tags=["ml"])
    await factories.source(team.owner, v, title="Three ml", tags=["ML"])
    assert await search(team.viewer, v, tag="ml") == ["Two", "One"]
    assert await search(team.viewer, v, tag=["ml", " to read "]) == ["One"]
    assert await search(team.viewer, v, tag=["ml", "nope"]) == []
    assert await search(team.viewer, v, q="ml", tag="ML") == ["Three ml"]
    assert await everywhere(team.viewer, tag="ml") == ["Two", "One"]
    path = f"/api/vaults/{v}/sources"
    for bad in ([""], ["  "], ["x" * 51], [f"t{i}" for i in range(21)]):
        assert checks.fields(await team.viewer.http.get(path, params={"tag": bad})) == {"tag"}
        assert checks.fields(await team.viewer.http.get("/api/search", params={"tag": bad})) == {
            "tag"
        }


async def test_changes_and_deletions_reach_the_index_at_once(team: Team) -> None:
    v = team.vault_id
    made = await factories.source(team.owner, v, title="Old title", annotation="kept words")
    path = f"/api/sources/{made['id']}"
    assert (await team.owner.http.patch(path, json={"title": "New title"})).status_code == 200
    assert await search(team.viewer, v, q="old") == []
    assert await search(team.viewer, v, q="new kept") == ["New title"]
    # A words search filtered by tags holds a source to its tags as they are now.
    retag = {"tags": ["reading"]}
    assert (await team.owner.http.patch(path, json=retag)).status_code == 200
    assert await search(team.viewer, v, q="kept", tag="reading") == ["New title"]
    assert (await team.owner.http.patch(path, json={"tags": ["done"]})).status_code == 200
    assert await search(team.viewer, v, q="kept", tag="reading") == []
    assert await everywhere(team.viewer, q="kept", tag="done") == ["New title"]
    assert (await team.owner.http.delete(path)).status_code == 204
    assert await search(team.viewer, v, q="new") == []
    other = await factories.vault(team.owner, "Doomed")
    await factories.source(team.owner, other["id"], title="Doomed source")
    assert await everywhere(team.owner, q="doomed") == ["Doomed source"]
    assert (await team.owner.http.delete(f"/api/vaults/{other['id']}")).status_code == 204
    assert await everywhere(team.owner, q="doomed") == []


async def test_ranked_pages_follow_the_cursor_without_repeats(team: Team) -> None:
    v = team.vault_id
    for n in range(4):
        await factories.source(team.owner, v, title=f"title match {n}")
        await factories.source(team.owner, v, title=f"other {n}", annotation="match here")
    await factories.source(team.owner, v, title="no hit")
    expected = [f"title match {n}" for n in reversed(range(4))] + [
        f"other {n}" for n in reversed(range(4))
    ]
    for path in (f"/api/vaults/{v}/sources", "/api/search"):
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"q": "match", "limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = (await team.viewer.http.get(path, params=params)).json()
            seen += [s["title"] for s in page["sources"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
            if len(seen) == 3:
                # A source written between pages does not shift the pages after it.
                await factories.source(team.owner, v, title="late match")
        assert seen == expected
        late = (await team.viewer.http.get(path, params={"q": "late"})).json()["sources"]
        assert (await team.owner.http.delete(f"/api/sources/{late[0]['id']}")).status_code == 204

    ranked = (
        await team.viewer.http.get(f"/api/vaults/{v}/sources", params={"q": "match", "limit": 1})
    ).json()
    plain = (await team.viewer.http.get(f"/api/vaults/{v}/sources", params={"limit": 1})).json()
    path = f"/api/vaults/{v}/sources"
    for params in (
        {"q": "match", "cursor": plain["nextCursor"]},
        {"cursor": ranked["nextCursor"]},
        {"q": "match", "cursor": "garbage"},
    ):
        assert checks.fields(await team.viewer.http.get(path, params=params)) == {"cursor"}


NASTY = [
    '"',
    '""',
    '"unclosed phrase',
    "*",
    "**",
    "a*b*",
    "NEAR(a b)",
    "{title}: x",
    "title:x",
    "^x",
    "a AND OR NOT b",
    "'",
    "''",
    "\\",
    "x:*",
    "a & b | !c <-> d",
    "( ) [ ] { }",
    "-x +y",
    "\x00",
    "\x00abc",
    "é" * 500,
    "word " * 100,
    "\u2063",
    "İstanbul ß ﬁ",
    "🙂 emoji",
    "%_",
    "; DROP TABLE sources; --",
]


async def test_no_query_string_breaks_search(team: Team, client: httpx.AsyncClient) -> None:
    v = team.vault_id
    await factories.source(team.owner, v, title="İstanbul Strasse fine", tags=["a&b"])
    await factories.source(team.owner, v, title="Café Zoë", annotation="हिंदी पाठ")
    for q in NASTY:
        await search(team.viewer, v, q=q)
        await everywhere(team.viewer, q=q)
    # Case folding and compatibility forms are one word on both backends.
    assert await search(team.viewer, v, q="istanbul") == ["İstanbul Strasse fine"]
    assert await search(team.viewer, v, q="ISTANB*") == ["İstanbul Strasse fine"]
    assert await search(team.viewer, v, q="STRASSE") == ["İstanbul Strasse fine"]
    assert await search(team.viewer, v, q="straße") == ["İstanbul Strasse fine"]
    assert await search(team.viewer, v, q="ﬁne") == ["İstanbul Strasse fine"]
    # Accents do not count; scripts with combining marks keep their words whole.
    assert await search(team.viewer, v, q="cafe zoe") == ["Café Zoë"]
    assert await search(team.viewer, v, q="CAFÉ") == ["Café Zoë"]
    assert await search(team.viewer, v, q="हिंदी") == ["Café Zoë"]
    assert await search(team.viewer, v, q='"हिंदी पाठ"') == ["Café Zoë"]
    # Only punctuation is no text filter; over 500 characters is refused.
    assert await search(team.viewer, v, q="&&&") == ["Café Zoë", "İstanbul Strasse fine"]
    path = f"/api/vaults/{v}/sources"
    assert checks.fields(await team.viewer.http.get(path, params={"q": "x" * 501})) == {"q"}
    checks.error(await team.outsider.http.get(path, params={"q": "fine"}), 404, "NOT_FOUND")
    checks.error(await client.get("/api/search", params={"q": "fine"}), 401, "UNAUTHORIZED")


async def test_a_tag_over_every_vault_is_newest_first_across_them_and_pages(team: Team) -> None:
    """Without words, ``/api/search`` lists the caller's vaults together, newest first, the
    vaults' sources interleaved by time; the cursor walks it without a repeat or a gap."""
    second = await factories.vault(team.owner, "Second")
    await factories.add(team.owner, second["id"], team.viewer, "viewer")
    stranger = await factories.vault(team.contributor, "Not the viewer's")
    made = []
    for n in range(7):
        for vault_id, author in ((team.vault_id, team.owner), (second["id"], team.owner)):
            tags = ["kept"] if n % 3 else ["kept", "other"]
            made.append(
                await factories.source(author, vault_id, title=f"{n} {vault_id}", tags=tags)
            )
        await factories.source(team.contributor, stranger["id"], title=f"hidden {n}", tags=["kept"])
    newest_first = [s["title"] for s in reversed(made)]
    for params in ({"tag": "kept"}, {}, {"q": "  "}):
        seen: list[str] = []
        cursor = None
        while True:
            page = (
                await team.viewer.http.get(
                    "/api/search",
                    params={**params, "limit": 3, **({"cursor": cursor} if cursor else {})},
                )
            ).json()
            seen += [s["title"] for s in page["sources"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert seen == newest_first, params
    both = await everywhere(team.viewer, tag=["kept", "other"])
    assert both == [s["title"] for s in reversed(made) if "other" in s["tags"]]
