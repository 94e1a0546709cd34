"""P1: what presence churn costs B1. Ours alone (the reference has no presence).

B1's creations are made twice to the same watchers: once alone, then while other members of
the vault join and leave it, ``CHURN`` joins and as many leaves in all, each one announced to
the room (``presence:joined`` / ``presence:left``). The churn is paced to span the creations
and comes from python-socketio clients in this process (on the load generators' cores), each
kept under the server's per-socket event rate. The figure is the ratio of the two p99s of
commit-to-delivery.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import socketio

from bench import scenarios
from bench.procs import BenchError
from bench.world import World, make_world

CHURN = 1000  # joins, and as many leaves (QUICK: CHURN_QUICK)
CHURN_QUICK = 100
CHURNERS = 40  # sockets, one user each, so that every join and leave is announced
MAX_EVENTS_PER_S = 12.0  # per churning socket: under the default rate limit of 20/s


def churn_count(sizes: scenarios.Sizes) -> int:
    return CHURN_QUICK if sizes == scenarios.QUICK else CHURN


def world(sizes: scenarios.Sizes) -> World:
    return make_world("p1", 1, sizes.b1_clients + CHURNERS)


async def p1(run: scenarios.Run) -> dict[str, Any]:
    vault = run.world.vaults[0]
    watchers = World((replace(vault, watchers=vault.watchers[: run.sizes.b1_clients]),))
    churners = vault.watchers[run.sizes.b1_clients :]
    count, interval = run.sizes.b1_creations, run.sizes.b1_interval_ms
    async with run.loadgen("p1") as lg:
        await scenarios.connect(run, lg, watchers.clients())
        alone = await scenarios.creations(run, lg, vault, count, interval)
        await lg.call("reset")
        sockets = await _connect(run.server.url, [u.token for u in churners])
        try:
            joins = churn_count(run.sizes)
            span = max(count * interval / 1000, joins * 2 / len(sockets) / MAX_EVENTS_PER_S)
            run.status(f"{joins:,} joins and leaves over {span:.1f} s, with B1")
            churn = asyncio.ensure_future(_churn(sockets, vault.id, joins, span))
            churned = await scenarios.creations(run, lg, vault, count, interval)
            done = await churn
        finally:
            await asyncio.gather(*(s.disconnect() for s in sockets), return_exceptions=True)
    ratio = churned["delivery"]["p99"] / alone["delivery"]["p99"]
    return {
        "alone": _lean(alone),
        "churned": _lean(churned),
        "p99_ratio": ratio,
        "joins": done["joins"],
        "churn_seconds": done["seconds"],
        "complete": alone["complete"] and churned["complete"] and done["joins"] == joins,
    }


def _lean(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "samples"}


async def _connect(url: str, tokens: list[str]) -> list[socketio.AsyncClient]:
    sockets = [socketio.AsyncClient(reconnection=False) for _ in tokens]
    await asyncio.gather(
        *(
            s.connect(url, auth={"token": t}, transports=["websocket"], wait_timeout=30)
            for s, t in zip(sockets, tokens, strict=True)
        )
    )
    return sockets


async def _churn(
    sockets: list[socketio.AsyncClient], vault_id: str, joins: int, span: float
) -> dict[str, Any]:
    """``joins`` join-and-leave cycles shared by the sockets, spread evenly over ``span``
    seconds; every ack must be ok."""
    per_socket = [joins // len(sockets) + (i < joins % len(sockets)) for i in range(len(sockets))]
    started = time.monotonic()

    async def cycles(sock: socketio.AsyncClient, n: int, offset: float) -> int:
        done = 0
        gap = span / max(n, 1)
        for i in range(n):
            await _until(started + offset + i * gap)
            for event in ("vault:join", "vault:leave"):
                ack = await sock.call(event, {"vaultId": vault_id}, timeout=30)
                if not ack.get("ok"):
                    raise BenchError(f"{event} refused during churn: {ack}")
            done += 1
        return done

    offsets = [span / max(n, 1) * i / len(sockets) for i, n in enumerate(per_socket)]
    counts = await asyncio.gather(
        *(cycles(s, n, o) for s, n, o in zip(sockets, per_socket, offsets, strict=True))
    )
    return {"joins": sum(counts), "seconds": time.monotonic() - started}


async def _until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
