"""Writers of one vault that arrive together share a commit (group commit), and each is still on
its own: a writer refused, in conflict, or failing after its rows were written takes only its
own changes back, and announces nothing, while the rest of its group commits with gapless seqs,
announced in commit order, after the commit."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests import factories
from tests.factories import Team
from tests.live import LiveServer, Recorder

KEPT = 30
EACH = 8  # of every kind that fails
REFUSED = "Refused"  # the log refuses these sources' events: the source row is written first


@pytest.fixture
async def refusing_log(database_url: str) -> AsyncIterator[None]:
    """The database refuses the audit row of a source titled ``Refused ...`` (a trigger): the
    creation fails after its source and index rows were written in the transaction."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.split("///", 1)[1]) as db:
            db.execute(
                "CREATE TRIGGER refuse_event BEFORE INSERT ON audit_events"
                f' WHEN NEW.data LIKE \'%"title": "{REFUSED}%\''
                f' OR NEW.data LIKE \'%"title":"{REFUSED}%\''
                " BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        yield
        return
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.data->'source'->>'title' LIKE '{REFUSED}%' THEN"
            " RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
        )
        await conn.execute(
            "CREATE TRIGGER refuse_event BEFORE INSERT ON audit_events"
            " FOR EACH ROW EXECUTE FUNCTION refuse_event()"
        )
        yield
    finally:
        await conn.execute("DROP TRIGGER IF EXISTS refuse_event ON audit_events")
        await conn.execute("DROP FUNCTION IF EXISTS refuse_event()")
        await conn.close()


def _counter(server: LiveServer, name: str) -> float:
    value = server.ctx.metrics.registry.get_sample_value(name)
    return 0.0 if value is None else value


@pytest.mark.usefixtures("refusing_log")
async def test_writers_arriving_together_share_commits_and_fail_alone(
    server: LiveServer, team: Team, recorder: Recorder
) -> None:
    vault_id = team.vault_id
    path = f"/api/vaults/{vault_id}/sources"
    edited = await factories.source(team.owner, vault_id, title="Edited by many")
    before = (await team.owner.http.get(path, params={"limit": 1})).json()["seq"]
    commits = _counter(server, "sourcevault_write_commits_total")
    writes = _counter(server, "sourcevault_writes_committed_total")
    recorder.published.clear()

    def create(member: factories.Member, title: str) -> asyncio.Future[httpx.Response]:
        return asyncio.ensure_future(member.http.post(path, json={"title": title}))

    kinds: dict[str, list[asyncio.Future[httpx.Response]]] = {
        "kept": [],
        "viewer": [],
        "broken": [],
        "stale": [],
    }
    for i in range(KEPT):  # the failures are spread among the creations that stand
        kinds["kept"].append(create(team.owner if i % 2 else team.contributor, f"Kept {i}"))
        if i < EACH:
            kinds["viewer"].append(create(team.viewer, f"Viewer {i}"))
            kinds["broken"].append(create(team.contributor, f"{REFUSED} {i}"))
            stale = {"title": f"Stale {i}", "version": 99}
            kinds["stale"].append(
                asyncio.ensure_future(
                    team.owner.http.patch(f"/api/sources/{edited['id']}", json=stale)
                )
            )
    answers = {kind: await asyncio.gather(*futures) for kind, futures in kinds.items()}

    assert [r.status_code for r in answers["kept"]] == [201] * KEPT
    assert [r.status_code for r in answers["viewer"]] == [403] * EACH
    assert {r.json()["error"]["code"] for r in answers["viewer"]} == {"INSUFFICIENT_PERMISSIONS"}
    assert [r.status_code for r in answers["broken"]] == [500] * EACH
    assert [r.status_code for r in answers["stale"]] == [409] * EACH

    # Only the kept creations were written, their index rows with them, and nothing else.
    kept = {r.json()["source"]["id"] for r in answers["kept"]}
    listed = (await team.viewer.http.get(path, params={"limit": 100})).json()
    assert {s["id"] for s in listed["sources"]} == kept | {edited["id"]}
    assert listed["seq"] == before + KEPT
    for word in (REFUSED, "Viewer", "Stale"):
        found = await team.viewer.http.get(path, params={"q": word})
        assert found.json()["sources"] == [], word
    unchanged = await team.viewer.http.get(f"/api/sources/{edited['id']}")
    assert unchanged.json()["source"]["version"] == 1

    # Gapless, in commit order, each logged with its change and announced after the commit.
    log = await team.viewer.http.get(
        f"/api/vaults/{vault_id}/events", params={"after": before, "limit": 500}
    )
    events = log.json()["events"]
    assert [e["seq"] for e in events] == list(range(before + 1, before + KEPT + 1))
    assert {e["source"]["id"] for e in events} == kept
    assert [p.event for p in recorder.published] == events
    assert all(p.committed for p in recorder.published)

    # They shared commits: fewer commits than the writes they carried.
    commits = _counter(server, "sourcevault_write_commits_total") - commits
    writes = _counter(server, "sourcevault_writes_committed_total") - writes
    assert writes == KEPT
    assert commits < writes
