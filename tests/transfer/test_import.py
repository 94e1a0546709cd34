"""Importing files into a vault over REST: real browser and Zotero exports, dry runs, the
contract's limits, who may import, and files that are not what they claim."""

from __future__ import annotations

import pytest

from tests import checks, factories
from tests.factories import Team
from tests.live import Recorder
from tests.transfer.conftest import FIXTURES
from tests.transfer.helpers import all_sources, content, imported, post_import, statuses

# Typographic apostrophe and en dash, as Firefox keeps the page's title.
TABLEAUX = "Tableaux de l\u2019\u00e9conomie fran\u00e7aise \u2013 \u00c9dition 2020"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


async def test_a_firefox_export_becomes_sources_tagged_by_folder(
    team: Team, recorder: Recorder
) -> None:
    answer = await imported(
        team.contributor, team.vault_id, "bookmarks", fixture("firefox-bookmarks.html")
    )
    assert statuses(answer) == [
        ("new", "Getting Started"),
        ("new", "Attention Is All You Need"),
        ("new", TABLEAUX),
        ("duplicate", "Attention (again, filed twice)"),
        ("new", "Zotero | Your personal research assistant"),
        ("invalid", "Most Visited"),
        ("new", "東京 - Wikipedia"),
    ]
    assert answer["entries"][3]["reason"] == "The URL is already in this file, at entry 1"
    assert "http" in answer["entries"][5]["reason"]
    assert answer["dryRun"] is False
    assert answer["import"]["count"] == 5 and answer["import"]["format"] == "bookmarks"

    sources = {s["title"]: s for s in await all_sources(team.viewer, team.vault_id)}
    assert sorted(s["id"] for s in sources.values()) == sorted(answer["import"]["sourceIds"])
    for source in sources.values():
        checks.source(source)
        assert source["createdBy"]["userId"] == team.contributor.id
    assert content(sources["Attention Is All You Need"]) == (
        "Attention Is All You Need",
        "https://arxiv.org/abs/1706.03762",
        'The transformer paper & its "scaled dot-product" attention.',
        ("Research", "transformers", "nlp"),
    )
    assert sources[TABLEAUX]["tags"] == [
        "Research",
        "Économie",
    ]
    # The toolbar and "Other Bookmarks" are where Firefox keeps things, not tags.
    assert sources["Zotero | Your personal research assistant"]["tags"] == []
    tokyo = sources["東京 - Wikipedia"]
    assert tokyo["annotation"] == "Multi-line note:\nfirst line,\nsecond line."

    # One event for the whole file, after the commit, carrying the new ids.
    assert recorder.types() == ["sources:imported"]
    assert recorder.published[0].committed
    event = recorder.events[0]
    assert event["import"] == answer["import"]
    assert event["actor"]["role"] == "contributor" and event["seq"] == 3


async def test_a_chrome_export_keeps_nested_folders_and_names_untitled_links(
    team: Team,
) -> None:
    answer = await imported(
        team.owner, team.vault_id, "bookmarks", fixture("chrome-bookmarks.html")
    )
    assert [e["status"] for e in answer["entries"]] == ["new", "new", "new", "invalid", "new"]
    sources = {s["url"]: s for s in await all_sources(team.owner, team.vault_id)}
    assert sources["https://de.wikipedia.org/wiki/Stra%C3%9Fe"]["tags"] == [
        "Reading group",
        "Straße & Co",
    ]
    assert sources["https://scholar.google.com/"]["tags"] == []
    untitled = "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC3159421/"
    assert sources[untitled]["title"] == untitled


async def test_a_zotero_bibtex_export_reads_latex_doi_and_multiline_abstracts(
    team: Team,
) -> None:
    answer = await imported(team.contributor, team.vault_id, "bibtex", fixture("zotero.bib"))
    assert [e["status"] for e in answer["entries"]] == ["new", "new", "new", "invalid", "new"]
    assert answer["entries"][3]["reason"] == "An unreadable BibTeX entry, at line 48"
    sources = {s["title"]: s for s in await all_sources(team.viewer, team.vault_id)}
    alphafold = sources["Highly accurate protein structure prediction with AlphaFold"]
    assert alphafold["url"] == "https://www.nature.com/articles/s41586-021-03819-2"
    assert alphafold["annotation"].startswith("Proteins are essential to life")
    assert "function.\nThrough an enormous" in alphafold["annotation"]
    assert alphafold["tags"] == [
        "Machine learning",
        "Protein structure predictions",
        "Structural biology",
    ]
    book = sources["Über die Grundlagen der Erkenntnis: Studien zu Kant & Hegel"]
    assert (book["url"], book["annotation"]) == (None, None)
    # annote (a Zotero note) wins over the abstract.
    assert sources["Attention Is All You Need"]["annotation"] == "Comment: 15 pages, 5 figures"
    assert "自然言語処理の新しい手法 — a bilingual title" in sources


async def test_a_zotero_ris_export_reads_keywords_notes_and_dois(team: Team) -> None:
    answer = await imported(team.contributor, team.vault_id, "ris", fixture("zotero.ris"))
    assert answer["import"]["count"] == 4
    sources = {s["title"]: s for s in await all_sources(team.viewer, team.vault_id)}
    kyoto = sources["自然言語処理の新しい手法 — a bilingual title"]
    assert kyoto["url"] == "https://doi.org/10.18653/v1/P19-1001"
    book = sources["Über die Grundlagen der Erkenntnis: Studien zu Kant & Hegel"]
    assert book["annotation"] == (
        "<p>Gelesen im Seminar; Kapitel 3 („Anschauung“) ist zentral.</p>"
    )
    assert book["tags"] == ["Philosophie", "Erkenntnistheorie"]
    assert sources["Highly accurate protein structure prediction with AlphaFold"][
        "annotation"
    ].startswith("Proteins are essential to life")


async def test_a_dry_run_reports_every_entry_and_writes_nothing(
    team: Team, recorder: Recorder
) -> None:
    kept = await factories.source(
        team.owner, team.vault_id, title="Already here", url="https://arxiv.org/abs/1706.03762"
    )
    before = (await team.owner.http.get(f"/api/vaults/{team.vault_id}")).json()["vault"]["seq"]
    recorder.published.clear()
    response = await post_import(
        team.contributor,
        team.vault_id,
        "bookmarks",
        fixture("firefox-bookmarks.html"),
        dry_run=True,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["dryRun"] is True
    assert answer["import"] == {"count": 4, "format": "bookmarks", "sourceIds": []}
    attention = answer["entries"][1]
    assert attention == {
        "index": 1,
        "title": "Attention Is All You Need",
        "url": "https://arxiv.org/abs/1706.03762",
        "status": "duplicate",
        "reason": "The URL is already in the vault",
    }
    assert answer["entries"][3]["status"] == "duplicate"
    assert [s["id"] for s in await all_sources(team.owner, team.vault_id)] == [kept["id"]]
    after = (await team.owner.http.get(f"/api/vaults/{team.vault_id}")).json()["vault"]["seq"]
    assert after == before
    assert recorder.events == []


async def test_entries_over_the_contracts_limits_are_skipped_with_the_reason(
    team: Team,
) -> None:
    rows = [
        "title,url,annotation,tags",
        "Fine,https://example.org/fine,a note,one|two|one",
        "T" * 501 + ",,,",
        "Bad scheme,ftp://example.org/file,,",
        "Long url,https://example.org/" + "a" * 2048 + ",,",
        "Long note,," + "n" * 10_001 + ",",
        "Many tags,,," + "|".join(f"t{i}" for i in range(21)),
        "Long tag,,," + "x" * 51,
        ",https://example.org/untitled,,",
    ]
    answer = await imported(team.contributor, team.vault_id, "csv", "\r\n".join(rows))
    assert [e["status"] for e in answer["entries"]] == ["new"] + ["invalid"] * 7
    reasons = [e["reason"] for e in answer["entries"][1:]]
    assert reasons[0].startswith("title:") and "500" in reasons[0]
    assert reasons[1].startswith("url:") and "http" in reasons[1]
    assert reasons[2].startswith("url:") and "2048" in reasons[2]
    assert reasons[3].startswith("annotation:") and "10000" in reasons[3]
    assert reasons[4].startswith("tags:") and "20" in reasons[4]
    assert reasons[5].startswith("tags.0:") and "50" in reasons[5]
    assert reasons[6].startswith("title:")
    (only,) = await all_sources(team.viewer, team.vault_id)
    # A tag given twice is kept once.
    assert content(only) == ("Fine", "https://example.org/fine", "a note", ("one", "two"))


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [("viewer", 403, "INSUFFICIENT_PERMISSIONS"), ("outsider", 404, "NOT_FOUND")],
)
async def test_only_owners_and_contributors_import(
    team: Team, recorder: Recorder, role: str, status: int, code: str
) -> None:
    for dry_run in (True, False):
        response = await post_import(
            team.by_role(role), team.vault_id, "csv", "title\nNope\n", dry_run=dry_run
        )
        checks.error(response, status, code)
    assert await all_sources(team.owner, team.vault_id) == []
    assert recorder.events == []


@pytest.mark.parametrize(
    ("fmt", "body", "field"),
    [
        ("json", b'{"sources": [', "body"),
        ("json", b'{"items": []}', "body"),
        ("csv", b"name,link\nA,https://example.org\n", "body"),
        ("csv", b"title\n\xff\xfe not utf-8\n", "body"),
        ("bookmarks", b"just some text", "body"),
        ("endnote", b"title\nA\n", "format"),
        ("csv", b"", "body"),
    ],
)
async def test_a_file_that_is_not_its_format_is_refused_and_changes_nothing(
    team: Team, recorder: Recorder, fmt: str, body: bytes, field: str
) -> None:
    response = await post_import(team.owner, team.vault_id, fmt, body)
    checks.error(response, 422, "VALIDATION_ERROR")
    assert response.json()["error"]["details"][0]["field"] == field
    assert await all_sources(team.owner, team.vault_id) == []
    assert recorder.events == []


async def test_a_format_is_required(team: Team) -> None:
    response = await team.owner.http.post(
        f"/api/vaults/{team.vault_id}/import", content=b"title\nA\n"
    )
    checks.error(response, 422, "VALIDATION_ERROR")


async def test_files_above_the_default_body_limit_and_up_to_10_mib_are_taken(
    team: Team,
) -> None:
    line = "A title that takes some room,https://example.org/{n},,\n"
    rows = ["title,url,annotation,tags\n"]
    size = len(rows[0])
    n = 0
    while size < 2 * 1024 * 1024:  # twice the 1 MiB every other route takes
        row = line.format(n=n)
        rows.append(row)
        size += len(row)
        n += 1
    response = await post_import(team.owner, team.vault_id, "csv", "".join(rows), dry_run=True)
    assert response.status_code == 200, response.text[:200]
    assert response.json()["import"]["count"] == n

    too_big = b"title\n" + b"x" * (10 * 1024 * 1024)
    response = await post_import(team.owner, team.vault_id, "csv", too_big)
    checks.error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_an_import_with_nothing_new_changes_nothing_and_announces_nothing(
    team: Team, recorder: Recorder
) -> None:
    await factories.source(team.owner, team.vault_id, url="https://example.org/a")
    recorder.published.clear()
    response = await post_import(
        team.owner, team.vault_id, "csv", "title,url\nSame,https://example.org/a\n"
    )
    assert response.status_code == 201
    assert response.json()["import"] == {"count": 0, "format": "csv", "sourceIds": []}
    assert recorder.events == []


async def test_imported_sources_are_found_by_search_at_once(team: Team) -> None:
    """An import writes its rows in bulk, past the ORM; the search index is written with them."""
    csv = "title,url,annotation,tags\n" + "".join(
        f"Quasicrystal note {n},https://example.org/{n},tessellation {n},aperiodic|tiling\n"
        for n in range(3)
    )
    await imported(team.contributor, team.vault_id, "csv", csv)
    for query in ("quasicrystal", "tessell*", '"quasicrystal note 1"'):
        found = await team.viewer.http.get(
            f"/api/vaults/{team.vault_id}/sources", params={"q": query}
        )
        assert found.status_code == 200, found.text
        titles = {s["title"] for s in found.json()["sources"]}
        expected = 1 if query.startswith('"') else 3
        assert len(titles) == expected, (query, titles)
    everywhere = await team.viewer.http.get("/api/search", params={"q": "aperiodic"})
    assert len(everywhere.json()["sources"]) == 3
