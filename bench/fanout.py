"""The benchmark's fan-out driver (B3): ``POST /bench/fanout`` on the server it runs.

It hands events of a source:created event's shape to the broadcaster at a given rate, through
the same ``deliver`` call every committed mutation makes, so it measures the broadcast path
without the database in front of it. ``serve.py`` adds it to the app; the route exists only in
that process, which the benchmark binds to the loopback interface.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from fastapi import FastAPI
from pydantic import Field

from sourcevault.context import Context
from sourcevault.db.base import iso, utcnow
from sourcevault.events import Event, Outbox, deliver
from sourcevault.schema import InputModel

WRITER = "f" * 32


class FanoutIn(InputModel):
    vault_id: str
    rate: float = Field(gt=0)
    count: int = Field(gt=0, le=10_000_000)


def fanout_event(vault_id: str) -> dict[str, Any]:
    """Everything of a source:created event but ``seq`` and ``at``; ``type`` names the fan-out."""
    return {
        "type": "bench:fanout",
        "vaultId": vault_id,
        "actor": {"userId": WRITER, "userName": "Benchmark Writer", "role": "owner"},
        "source": {
            "id": "e" * 32,
            "vaultId": vault_id,
            "title": "A source of the benchmark, as long as a real title",
            "url": "https://example.org/papers/a-source-of-the-benchmark",
            "annotation": "Fan-out payload of the same shape as a source:created event.",
            "tags": ["bench", "fanout"],
            "version": 1,
            "createdBy": {"userId": WRITER, "userName": "Benchmark Writer"},
            "createdAt": "2026-01-01T00:00:00.000Z",
            "updatedAt": "2026-01-01T00:00:00.000Z",
        },
    }


def add_fanout_route(app: FastAPI) -> None:
    ctx: Context = app.state.ctx

    @app.post("/bench/fanout", include_in_schema=False)
    async def fanout(body: FanoutIn) -> dict[str, Any]:
        template = fanout_event(body.vault_id)
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        while sent < body.count:
            due = min(body.count, int((loop.time() - start) * body.rate) + 1)
            events = []  # what is due now goes out together, as one outbox's events do
            while sent < due:
                sent += 1
                events.append({"seq": sent, **template, "at": iso(utcnow())})
            # Of an event's shape, under a type of its own that no client applies.
            await deliver(ctx.broadcaster, Outbox(events=cast("list[Event]", events)))
            if sent < body.count:
                await asyncio.sleep(0.001)
        return {"emitted": sent, "seconds": loop.time() - start}
