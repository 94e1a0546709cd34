"""Expired sessions removed on a schedule, so the sessions table does not grow for ever.

An expired session already opens nothing (``resolve`` refuses it, and its sockets were sent
``session:expired``); its row is only left behind. ``SessionPruner`` deletes such rows every
``interval`` seconds while the app serves. Each instance sharing a database runs its own: the
deletion is one idempotent statement, so two instances pruning at once do no harm. The first
run comes after a random part of the interval, so instances started together spread their
runs out, and an instance restarted more often than the interval still prunes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from sourcevault.auth.service import prune_expired
from sourcevault.context import Context

log = logging.getLogger(__name__)
_random = secrets.SystemRandom()


class SessionPruner:
    """Runs ``prune_expired`` every ``interval`` seconds, from ``start`` until ``aclose``."""

    def __init__(self, ctx: Context, interval: float) -> None:
        self.ctx = ctx
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        """Stop; a deletion under way is rolled back, and the next instance's run does it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        await asyncio.sleep(_random.uniform(0, self.interval))
        while True:
            try:
                count = await prune_expired(self.ctx)
            except Exception:  # the database may be down for a while: the next run tries again
                log.warning("pruning expired sessions failed", exc_info=True)
            else:
                if count:
                    log.info("pruned %d expired sessions", count)
            await asyncio.sleep(self.interval)
