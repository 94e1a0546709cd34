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
import logging
import secrets

from sourcevault.auth.service import prune_expired
from sourcevault.background import BackgroundLoop
from sourcevault.context import Context

log = logging.getLogger(__name__)
_random = secrets.SystemRandom()


class SessionPruner(BackgroundLoop):
    """Runs ``prune_expired`` every ``interval`` seconds, from ``start`` until ``aclose``; a
    deletion under way at ``aclose`` is rolled back, and the next run does it."""

    def __init__(self, ctx: Context, interval: float) -> None:
        self.ctx = ctx
        self.interval = interval

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
