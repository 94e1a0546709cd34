"""An import that fails part-way writes nothing: the database refuses one entry far into the
file, after earlier chunks of sources and their index rows were written in the transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.factories import Team
from tests.live import Recorder
from tests.transfer.helpers import all_sources, post_import

ENTRIES = 6_000
REFUSED = "Entry 5500"  # past the first chunk of sources on either backend


def csv_of(n: int) -> str:
    return "title,url,annotation,tags\n" + "".join(
        f"Entry {i},https://example.org/papers/{i},Zeolite notes {i},alpha|beta\n" for i in range(n)
    )


@pytest.fixture
async def refusing_database(database_url: str) -> AsyncIterator[None]:
    """The database refuses to insert the source titled ``REFUSED`` (a trigger), as it would
    a row it cannot write; the trigger is gone after the test."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.split("///", 1)[1]) as db:
            db.execute(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON sources"
                f" WHEN NEW.title = '{REFUSED}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        yield
        return
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    statements = [
        "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF NEW.title = '{REFUSED}' THEN RAISE EXCEPTION 'refused'; END IF;"
        " RETURN NEW; END $$",
        "CREATE TRIGGER refuse_one BEFORE INSERT ON sources"
        " FOR EACH ROW EXECUTE FUNCTION refuse_one()",
    ]
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
        yield
    finally:
        await conn.execute("DROP TRIGGER IF EXISTS refuse_one ON sources")
        await conn.execute("DROP FUNCTION IF EXISTS refuse_one()")
        await conn.close()


@pytest.mark.usefixtures("refusing_database")
async def test_an_import_refused_part_way_leaves_no_source_index_row_or_event(
    team: Team, recorder: Recorder
) -> None:
    response = await post_import(
        team.contributor, team.vault_id, "csv", csv_of(ENTRIES), timeout=60
    )
    # A fault of the server's own (here the database refusing), not of the request: the
    # contract's error body, no traceback.
    assert response.status_code == 500, response.text[:300]
    assert response.json() == {"error": {"code": "INTERNAL_ERROR", "message": "Internal error"}}
    assert await all_sources(team.viewer, team.vault_id) == []
    found = await team.viewer.http.get(
        f"/api/vaults/{team.vault_id}/sources", params={"q": "zeolite"}
    )
    assert found.status_code == 200 and found.json()["sources"] == []
    assert recorder.events == []
