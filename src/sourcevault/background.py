"""A loop an app runs in the background from its start to its shutdown."""

from __future__ import annotations

import asyncio
import contextlib


class BackgroundLoop:
    """``start()`` runs ``_run`` as a task on the running loop (once); ``aclose()`` cancels it
    and waits for it to end. Subclasses write ``_run``."""

    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        raise NotImplementedError
