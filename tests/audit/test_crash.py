"""Nothing acknowledged is lost: a server killed with SIGKILL in the middle of concurrent writes
(which share commits) is started again on the same database, and every creation it answered
201 is there, with its event in the log; the log is gapless and holds an event for every
source and a source for every creation event."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx

from tests import services
from tests.multi.cluster import Instance
from tests.multi.conftest import rest_team

WRITERS = 8
ACKNOWLEDGED_BEFORE_KILL = 150


async def _all(http: httpx.AsyncClient, path: str, key: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = (await http.get(path, params=query)).json()
        items += page[key]
        cursor = page.get("nextCursor")
        if not cursor or not page[key]:
            return items


async def _events(http: httpx.AsyncClient, vault_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        page = await http.get(
            f"/api/vaults/{vault_id}/events", params={"after": len(events), "limit": 500}
        )
        batch = page.json()["events"]
        if not batch:
            return events
        events += batch


async def test_a_killed_server_loses_no_acknowledged_write(
    database_url: str, tmp_path: Path
) -> None:
    env = services.inherited_env()
    env["SOURCEVAULT_DATABASE_URL"] = database_url
    server = Instance("crash", env, tmp_path).start()
    team = await rest_team(server.url)
    path = f"/api/vaults/{team.vault_id}/sources"
    acknowledged: list[str] = []
    enough = asyncio.Event()

    async def write(n: int) -> None:
        i = 0
        while True:
            i += 1
            try:
                response = await team.owner.http.post(path, json={"title": f"W{n} #{i}"})
            except httpx.HTTPError:
                return  # the server is gone: this one was never acknowledged
            if response.status_code != 201:
                return
            acknowledged.append(response.json()["source"]["id"])
            if len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL:
                enough.set()

    writers = [asyncio.ensure_future(write(n)) for n in range(WRITERS)]
    try:
        await asyncio.wait_for(enough.wait(), 60)
        assert server.proc is not None
        server.proc.kill()  # SIGKILL, with writes in flight
        server.proc.wait()
        await asyncio.wait_for(asyncio.gather(*writers), 30)
    finally:
        for writer in writers:
            writer.cancel()
        with contextlib.suppress(Exception):
            server.stop()
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL

    again = Instance("crash-again", env, tmp_path).start()
    try:
        owner = httpx.AsyncClient(
            base_url=again.url, timeout=10, headers=dict(team.owner.http.headers)
        )
        async with owner:
            sources = await _all(owner, path, "sources", limit=100)
            events = await _events(owner, team.vault_id)
    finally:
        again.stop()
        await team.close()

    stored = {s["id"] for s in sources}
    assert set(acknowledged) <= stored
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    created = [e["source"]["id"] for e in events if e["type"] == "source:created"]
    assert set(acknowledged) <= set(created)
    assert sorted(created) == sorted(stored)
