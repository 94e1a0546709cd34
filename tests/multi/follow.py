"""A ``sourcevault.client.Client`` (which rejoins with ``after`` on every reconnect and fetches
any gap it sees) with a record of everything it reported, and when."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from sourcevault.client import Applied, CaughtUp, Client, Connected, Disconnected, Update

TIMEOUT = 15.0


class Follower:
    def __init__(self, url: str, token: str, name: str = "") -> None:
        self.name = name
        self.client = Client(url, token)
        self.log: list[tuple[float, Update]] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self, *vault_ids: str) -> Follower:
        await self.client.connect()
        self._task = asyncio.create_task(self._consume())
        for vault_id in vault_ids:
            await self.client.join(vault_id)
        return self

    async def _consume(self) -> None:
        async for update in self.client.updates():
            async with self._changed:
                self.log.append((time.monotonic(), update))
                self._changed.notify_all()

    async def until(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    def of(self, kind: type[Any]) -> list[tuple[float, Any]]:
        return [(at, u) for at, u in self.log if isinstance(u, kind)]

    def applied(self, vault_id: str) -> list[Applied]:
        return [u for _at, u in self.of(Applied) if u.vault_id == vault_id]

    def seqs(self, vault_id: str) -> list[int]:
        return [a.event["seq"] for a in self.applied(vault_id)]

    async def synced(self, vault_id: str, seq: int, timeout: float = TIMEOUT) -> None:
        await self.until(lambda: seq in self.seqs(vault_id), timeout)

    def drops(self) -> list[float]:
        return [at for at, _u in self.of(Disconnected)]

    def reconnections(self) -> list[Connected]:
        return [u for _at, u in self.of(Connected) if not u.first]

    def catch_ups(self) -> list[CaughtUp]:
        return [u for _at, u in self.of(CaughtUp)]

    async def close(self) -> None:
        await self.client.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 5)
