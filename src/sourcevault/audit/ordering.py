"""Per-vault ordering of this process's hand-overs to the broadcaster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class VaultWriters:
    """Orders this process's hand-overs per vault.

    The vault's row lock orders the commits, but it ends with the commit: two writers that
    commit seq 5 and 6 could then hand them to the broadcaster as 6, 5, and a client would
    see a gap that is not one. So a writer also holds its vault here, in this process, from
    before its transaction until its events are handed over. A waiting writer holds no
    database connection. An entry lives only while some writer holds or awaits it.
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, vault_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(vault_id) or (asyncio.Lock(), 0)
        self._locks[vault_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[vault_id]
            if users == 1:
                del self._locks[vault_id]
            else:
                self._locks[vault_id] = (lock, users - 1)
