"""Many keyed deadlines on one loop timer (Engine.IO pings, session expiries)."""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
from collections.abc import Callable

log = logging.getLogger(__name__)


class Timers:
    """Many keyed deadlines on one loop timer.

    A timer handle per socket or per session stays for as long as
    the connection, or the session, is open. Here the deadlines are a heap, and one timer is
    set for the earliest. A key set again, or cancelled, leaves a stale heap entry behind,
    skipped when it comes up and swept once stale entries outnumber the live ones."""

    def __init__(self, fire: Callable[[str], None]) -> None:
        self.at: dict[str, float] = {}  # key: the loop time it fires
        self.heap: list[tuple[float, str]] = []
        self._fire = fire
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def __len__(self) -> int:
        return len(self.at)

    def set(self, key: str, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        at = loop.time() + max(0.0, seconds)
        self.at[key] = at
        heapq.heappush(self.heap, (at, key))
        if at < self._timer_at:
            self._arm(loop)
        else:
            self._sweep()

    def cancel(self, key: str) -> None:
        if self.at.pop(key, None) is not None:
            self._sweep()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, math.inf
        self.at.clear()
        self.heap.clear()

    def _sweep(self) -> None:
        if len(self.heap) > 2 * len(self.at) + 64:  # mostly stale: keep the live ones
            self.heap = [(at, key) for key, at in self.at.items()]
            heapq.heapify(self.heap)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """The timer, set for the earliest live deadline (stale ones on top are dropped)."""
        heap = self.heap
        while heap and self.at.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, math.inf
        if heap:
            self._timer_at = heap[0][0]
            self._timer = loop.call_at(self._timer_at, self._due)

    def _due(self) -> None:
        self._timer, self._timer_at = None, math.inf
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self.heap and self.heap[0][0] <= now:
            at, key = heapq.heappop(self.heap)
            if self.at.get(key) == at:
                del self.at[key]
                try:
                    self._fire(key)
                except Exception:  # one key's failure must not stop the others' deadlines
                    log.exception("the deadline of %s failed", key)
        self._arm(loop)
