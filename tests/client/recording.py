"""A client plus everything it reported, with awaits for what a test expects (never a sleep),
and the check every fault test ends with: the client holds exactly the database's events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from sourcevault.client import Applied, Client, Update

TIMEOUT = 15.0
U = TypeVar("U")


class Watched:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.updates: list[Update] = []
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        async for update in self.client.updates():
            async with self._changed:
                self.updates.append(update)
                self._changed.notify_all()

    async def next(
        self,
        kind: type[U],
        where: Callable[[U], bool] = lambda _u: True,
        after: int = 0,
        timeout: float = TIMEOUT,
    ) -> U:
        """The first update of ``kind`` at index >= ``after`` that satisfies ``where``."""

        def found() -> U | None:
            for update in self.updates[after:]:
                if isinstance(update, kind) and where(update):
                    return update
            return None

        async def wait() -> U:
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None)
            result = found()
            assert result is not None
            return result

        return await asyncio.wait_for(wait(), timeout)

    async def ended(self, timeout: float = TIMEOUT) -> None:
        """The updates stream ended (it ends with ``Stopped``)."""
        await asyncio.wait_for(asyncio.shield(self._task), timeout)

    def of(self, kind: type[U]) -> list[U]:
        return [u for u in self.updates if isinstance(u, kind)]

    def applied(self, vault_id: str) -> list[dict[str, Any]]:
        return [u.event for u in self.of(Applied) if u.vault_id == vault_id]

    async def synced(self, vault_id: str, seq: int) -> None:
        async with asyncio.timeout(TIMEOUT):
            await self.client.synced(vault_id, seq)

    async def close(self) -> None:
        await self.client.close()
        await asyncio.wait_for(self._task, TIMEOUT)


async def database_events(http: httpx.AsyncClient, vault_id: str) -> list[dict[str, Any]]:
    """Every event of the vault, from the server's event log."""
    events: list[dict[str, Any]] = []
    while True:
        response = await http.get(
            f"/api/vaults/{vault_id}/events", params={"after": len(events), "limit": 500}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        events.extend(page["events"])
        if not page["hasMore"]:
            return events


async def database_sources(http: httpx.AsyncClient, vault_id: str) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    params: dict[str, Any] = {"limit": 100}
    while True:
        response = await http.get(f"/api/vaults/{vault_id}/sources", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        sources.update({s["id"]: s for s in page["sources"]})
        if not page["nextCursor"]:
            return sources
        params["cursor"] = page["nextCursor"]


async def assert_exact(w: Watched, http: httpx.AsyncClient, vault_id: str, since: int) -> None:
    """The client applied every event after ``since`` once, in order, as the database holds
    them, and its sources are the database's."""
    events = await database_events(http, vault_id)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    expected = [e for e in events if e["seq"] > since]
    applied = w.applied(vault_id)
    assert [e["seq"] for e in applied] == [e["seq"] for e in expected]
    assert applied == expected
    view = w.client.vaults[vault_id]
    assert view.seq == events[-1]["seq"]
    assert view.sources == await database_sources(http, vault_id)
