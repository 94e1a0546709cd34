"""Concurrent writers to one vault on PostgreSQL: the vault's row lock serializes them, so the
event numbers are gapless and in commit order, and the broadcaster gets them in that order."""

from __future__ import annotations

import asyncio

import pytest

from tests import factories
from tests.factories import Team
from tests.live import Recorder

WRITERS = 50


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])  # SQLite serializes every writer anyway
async def test_concurrent_creations_get_gapless_seqs(team: Team, recorder: Recorder) -> None:
    vault = await factories.vault(team.owner, "Busy")
    path = f"/api/vaults/{vault['id']}/sources"
    responses = await asyncio.gather(
        *(team.owner.http.post(path, json={"title": f"Source {i}"}) for i in range(WRITERS))
    )
    assert [r.status_code for r in responses] == [201] * WRITERS

    served = await team.owner.http.get(f"/api/vaults/{vault['id']}/events", params={"limit": 500})
    events = served.json()["events"]
    assert [e["seq"] for e in events] == list(range(1, WRITERS + 1))
    assert sorted(e["source"]["title"] for e in events) == sorted(
        f"Source {i}" for i in range(WRITERS)
    )
    created = {r.json()["source"]["id"] for r in responses}
    assert {e["source"]["id"] for e in events} == created

    mine = [p for p in recorder.published if p.event["vaultId"] == vault["id"]]
    assert [p.event["seq"] for p in mine] == list(range(1, WRITERS + 1))
    assert all(p.committed for p in mine)
    assert [p.event for p in mine] == events
    listed = await team.owner.http.get(path, params={"limit": 100})
    assert listed.json()["seq"] == WRITERS
    assert {s["id"] for s in listed.json()["sources"]} == created
