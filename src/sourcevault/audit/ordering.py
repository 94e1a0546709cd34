"""Per-vault ordering of this process's writers, and the hand-over of one transaction to those
waiting (group commit)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any


class Part:
    """A waiting writer's turn inside a transaction another writer leads: its ``shared`` (what
    the leader hands over: the session and the locked vault), the ``done`` future the writer
    settles when its part has run (True: its changes stand; False: it failed and undid them),
    and ``committed``, which the leader settles once the transaction has committed and every
    part's events are handed over (or with the error that stopped the commit)."""

    __slots__ = ("committed", "done", "shared")

    def __init__(self, shared: Any) -> None:
        loop = asyncio.get_running_loop()
        self.shared = shared
        self.done: asyncio.Future[bool] = loop.create_future()
        self.committed: asyncio.Future[None] = loop.create_future()

    def finish(self, stands: bool) -> None:
        if not self.done.done():
            self.done.set_result(stands)

    def settle(self, error: BaseException | None = None) -> None:
        if self.committed.done():
            return
        if error is None:
            self.committed.set_result(None)
        else:
            self.committed.set_exception(error)
            # A part whose writer stopped waiting (cancelled) leaves it unread: not an error.
            self.committed.add_done_callback(_read)


def _read(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


class _Line:
    __slots__ = ("busy", "waiting")

    def __init__(self) -> None:
        self.busy = False
        # Each waiting writer's future: settled with None (it leads next) or a ``Part``.
        self.waiting: deque[asyncio.Future[Part | None]] = deque()


class VaultWriters:
    """This process's writers of each vault, one at a time, in arrival order.

    The vault's row lock orders the commits, but it ends with the commit: two writers that
    commit seq 5 and 6 could then hand them to the broadcaster as 6, 5, and a client would
    see a gap that is not one. So a writer also holds its vault's line here, in this process,
    from before its transaction until its events are handed over.

    The writer at the head of the line leads a transaction (``enter`` returns None); once its
    own changes are made it may hand that open transaction to writers waiting behind it, one
    after the other (``next_part``), each of which gets a ``Part`` from ``enter`` instead of a
    transaction of its own, and the leader commits them all at once: under concurrent writes
    to one vault a commit, the vault's lock and a delivery per socket are paid per group, not
    per write. ``leave`` lets the next writer lead. A waiting writer holds no database
    connection. A line lives only while some writer holds or awaits it.
    """

    def __init__(self) -> None:
        self._lines: dict[str, _Line] = {}

    async def enter(self, vault_id: str) -> Part | None:
        """Wait for this writer's turn: None to lead a transaction (then call ``leave``), or a
        ``Part`` of another writer's (settle its ``done``; do not call ``leave``)."""
        line = self._lines.get(vault_id)
        if line is None:
            line = self._lines[vault_id] = _Line()
        if not line.busy:
            line.busy = True
            return None
        turn: asyncio.Future[Part | None] = asyncio.get_running_loop().create_future()
        line.waiting.append(turn)
        try:
            return await turn
        except asyncio.CancelledError:
            if not turn.done() or turn.cancelled():
                # The leader may have passed over it already (a cancelled turn is done).
                with contextlib.suppress(ValueError):
                    line.waiting.remove(turn)
            elif turn.result() is None:  # it was its turn to lead: the next one leads
                self.leave(vault_id)
            else:
                part = turn.result()
                assert part is not None
                part.finish(False)
            raise

    def next_part(self, vault_id: str, shared: Any) -> Part | None:
        """The next waiting writer, given a part of the leader's transaction; None when
        nobody waits."""
        line = self._lines.get(vault_id)
        while line is not None and line.waiting:
            turn = line.waiting.popleft()
            if turn.done():  # cancelled while waiting
                continue
            part = Part(shared)
            turn.set_result(part)
            return part
        return None

    def leave(self, vault_id: str) -> None:
        """The leader is done: the next waiting writer leads, or the line ends."""
        line = self._lines.get(vault_id)
        if line is None:
            return
        while line.waiting:
            turn = line.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        del self._lines[vault_id]
