"""Our server as the benchmark runs it: ``sourcevault serve`` itself, plus one route.

``python -m sourcevault.bench.serve serve --host H --port P`` runs the real ``serve`` command
(its migration check, its uvicorn options) on an app that also has ``POST /bench/fanout``: the
driver of the sustained fan-out scenario (B3), which hands events of a source:created event's
shape to the broadcaster at a given rate, through the same ``deliver`` call every committed
mutation makes, so it measures the broadcast path without the database in front of it. The
route exists only in this process, which the benchmark binds to the loopback interface.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from pydantic import Field

from sourcevault.config import Settings
from sourcevault.context import Context
from sourcevault.db.base import iso, utcnow
from sourcevault.realtime.broadcaster import Outbox, deliver
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
            await deliver(ctx.broadcaster, Outbox(events=events))
            if sent < body.count:
                await asyncio.sleep(0.001)
        return {"emitted": sent, "seconds": loop.time() - start}


def main() -> None:
    from sourcevault import app as app_module
    from sourcevault import cli

    build = app_module.create_app

    def create_app(settings: Settings) -> FastAPI:
        app = build(settings)
        add_fanout_route(app)
        return app

    app_module.create_app = create_app  # ``serve`` imports it when it runs
    cli.main()


if __name__ == "__main__":
    main()
