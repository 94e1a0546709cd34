"""Exporting a vault: streamed files that import back into a new vault as the same sources."""

from __future__ import annotations

import json

import pytest

from tests import checks, factories
from tests.factories import Team
from tests.transfer.helpers import all_sources, content, imported

TRICKY = [
    {
        "title": "Über {braces} & 50% of $x_1$ — #1 ~ ^ \\ back",
        "url": "https://example.org/a?q=1&r=%7E#frag",
        "annotation": "First line, with a comma\n\nThird line: «quoted», 東京\nlast",
        "tags": ["Économie", "with space", "C++"],
    },
    {"title": "Only a title", "url": None, "annotation": None, "tags": []},
    {
        "title": 'CSV "quotes", commas',
        "url": "http://example.com/path_with_underscores",
        "annotation": 'He said "hi", then\r\nleft',
        "tags": ["a-b", "x_y"],
    },
]


async def fill(team: Team) -> None:
    for fields in TRICKY:
        await factories.source(team.contributor, team.vault_id, **fields)


def expected() -> list[tuple[object, ...]]:
    # The API keeps what it was given; CSV and JSON keep "\r\n", which the other
    # formats' line-based files read as "\n".
    return sorted(content(s) for s in TRICKY)


def normalized(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return sorted(
        (t, u, a.replace("\r\n", "\n") if isinstance(a, str) else a, g) for t, u, a, g in rows
    )


@pytest.mark.parametrize("fmt", ["json", "csv", "bibtex", "ris"])
async def test_an_export_imported_into_a_new_vault_gives_the_same_sources(
    team: Team, fmt: str
) -> None:
    await fill(team)
    response = await team.viewer.http.get(
        f"/api/vaults/{team.vault_id}/export", params={"format": fmt}
    )
    assert response.status_code == 200, response.text
    extension = {"json": "json", "csv": "csv", "bibtex": "bib", "ris": "ris"}[fmt]
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="Reading list.{extension}"')

    other = await factories.vault(team.owner, "Copy")
    answer = await imported(team.owner, other["id"], fmt, response.content)
    assert answer["import"]["count"] == len(TRICKY), answer["entries"]
    copied = [content(s) for s in await all_sources(team.owner, other["id"])]
    if fmt in ("json", "csv"):
        assert sorted(copied) == expected()
    else:
        assert normalized(copied) == normalized(expected())


async def test_the_json_export_is_the_sources_as_the_api_gives_them(team: Team) -> None:
    await fill(team)
    response = await team.viewer.http.get(f"/api/vaults/{team.vault_id}/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = json.loads(response.content)
    assert (body["format"], body["version"]) == ("sourcevault", 1)
    assert body["vault"]["name"] == "Reading list"
    assert checks.is_time(body["exportedAt"])
    listed = await all_sources(team.viewer, team.vault_id)
    # Oldest first, as they were added.
    assert body["sources"] == list(reversed(listed))


async def test_an_export_is_read_a_page_at_a_time_and_misses_nothing(team: Team) -> None:
    rows = "\n".join(f"Source {n},https://example.org/{n},," for n in range(1203))
    await imported(team.owner, team.vault_id, "csv", "title,url,annotation,tags\n" + rows)
    response = await team.viewer.http.get(
        f"/api/vaults/{team.vault_id}/export", params={"format": "csv"}
    )
    lines = response.text.strip().split("\r\n")
    assert lines[0] == "title,url,annotation,tags"
    # In the file's order, every one once.
    assert lines[1:] == [f"Source {n},https://example.org/{n},," for n in range(1203)]


async def test_the_file_name_is_the_vaults_name_made_safe(team: Team) -> None:
    await team.owner.http.patch(f"/api/vaults/{team.vault_id}", json={"name": 'Ökonomie/"2024"'})
    response = await team.viewer.http.get(f"/api/vaults/{team.vault_id}/export")
    assert response.headers["content-disposition"] == (
        'attachment; filename="konomie__2024_.json"; '
        "filename*=UTF-8''%C3%96konomie%2F%222024%22.json"
    )


async def test_an_empty_vault_exports_an_empty_file_of_its_format(team: Team) -> None:
    response = await team.viewer.http.get(f"/api/vaults/{team.vault_id}/export")
    assert json.loads(response.content)["sources"] == []
    response = await team.viewer.http.get(
        f"/api/vaults/{team.vault_id}/export", params={"format": "csv"}
    )
    assert response.text == "title,url,annotation,tags\r\n"


async def test_only_members_export_and_formats_are_checked(team: Team) -> None:
    path = f"/api/vaults/{team.vault_id}/export"
    checks.error(await team.outsider.http.get(path), 404, "NOT_FOUND")
    refused = await team.viewer.http.get(path, params={"format": "xml"})
    checks.error(refused, 422, "VALIDATION_ERROR")
