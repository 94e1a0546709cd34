"""B8, several instances: two servers of a side sharing Redis, clients split across them, the
writes sent to one of them.

Ours are two ``sourcevault serve`` processes on one PostgreSQL database created for the run
(and dropped after, as B7's PostgreSQL half does) and one Redis channel of the run's own, each
with its metrics listener on a free port. The reference is two ``bench/reference-server.js``
processes with the stock ``@socket.io/redis-adapter`` on the same Redis under a key prefix of
the run's own; each is seeded with the same users and vaults through its ``/bench/seed`` (its
state lives in its memory), and since the writes go to the first only, only its event log
advances: the second's sockets get the events through the adapter, as ours get them through
the channel. Both servers of a side are pinned as one server is (``Pins.server``).

Half the clients connect to each server, one load generator per server; the first generator
also makes the REST creations, at a steady pace, to the first server. An event's last receiver
is the last of all clients, on either server. For ours, ``/metrics`` is read on each instance
before and after the creations: how many Redis messages each decoded per event (one, whatever
its number of sockets) and how many deliveries it wrote.

At that pace both sides deliver what is offered, so the delivered rate there says nothing of
capacity. Then, on the same connections, B3's measure (``scenarios.fanout_capacity``): offered
fan-out rates in turn, through the first server's ``/bench/fanout`` only (the writes go to one
server, as above: the second gets every event through Redis, the way a deployment's other
instances do), to every client on both servers; the figure is the highest delivered rate
sustained (every client got every event, at least 90% of the offered rate).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.procs import (
    BenchError,
    Server,
    cpu_seconds,
    free_port,
    our_server,
    reference_server,
    waited_seconds,
)
from bench.report import summarize
from bench.scenarios import Run, _complete, connect, create, fanout_capacity
from bench.world import World, seed_database

if TYPE_CHECKING:
    from bench.runner import Bench

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
NAMES = ("a", "b")
METRICS_BIND = "SOURCEVAULT_METRICS_BIND"
DECODED = "sourcevault_redis_messages_decoded_total"
DELIVERIES = "sourcevault_socket_deliveries_total"


@contextlib.asynccontextmanager
async def serving(bench: Bench, key: str, side: str, world: World) -> AsyncIterator[list[Server]]:
    """The side's two servers, started (the first takes the writes), stopped after."""
    redis_url = bench.options.redis_url
    if redis_url is None:
        raise BenchError("Redis is off for this run")
    run_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tag = f"{key}-{side}".lower()
    async with contextlib.AsyncExitStack() as stack:
        if side == "ours":
            url = await stack.enter_async_context(bench._database(tag, "postgres"))
            bench.status("writing users and vaults")
            await seed_database(url, world)
            settings = {
                "SOURCEVAULT_REDIS_URL": redis_url,
                "SOURCEVAULT_REDIS_CHANNEL": f"sourcevault-bench-{run_id}",
            }
            servers = [
                our_server(
                    free_port(),
                    url,
                    bench.pins.server,
                    bench.workdir,
                    bench.logs / f"{tag}-{name}.log",
                    settings | {METRICS_BIND: f"127.0.0.1:{free_port()}"},
                )
                for name in NAMES
            ]
        else:
            prefix = f"socket.io-bench-{run_id}"
            servers = [
                reference_server(
                    free_port(),
                    bench.pins.server,
                    bench.workdir / f"{tag}-{name}.json",
                    bench.logs / f"{tag}-{name}.log",
                    redis=(redis_url, prefix),
                )
                for name in NAMES
            ]
        bench.status("starting")
        for server in servers:
            stack.push_async_callback(server.stop)
        await asyncio.gather(*(server.start() for server in servers))
        if side != "ours":
            seed = world.reference_seed()
            async with httpx.AsyncClient(timeout=120) as http:
                for server in servers:  # each keeps its state in its own memory
                    (await http.post(f"{server.url}/bench/seed", json=seed)).raise_for_status()
        yield servers


def metrics_url(server: Server) -> str | None:
    bind = (server.env or {}).get(METRICS_BIND)
    return f"http://{bind}/metrics" if bind else None


async def counters(server: Server) -> dict[str, float]:
    """Our instance's decode and delivery counters, from its ``/metrics``."""
    url = metrics_url(server)
    if url is None:
        raise BenchError(f"{server.name} has no metrics listener")
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(url)
    response.raise_for_status()
    found = {"decoded": 0.0, "direct": 0.0, "queued": 0.0}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == DECODED:
                found["decoded"] = sample.value
            elif sample.name == DELIVERIES:
                found[sample.labels["route"]] = sample.value
    return found


async def b8(run: Run) -> dict[str, Any]:
    servers = run.servers
    if len(servers) != len(NAMES):
        raise BenchError(f"B8 needs {len(NAMES)} servers, got {len(servers)}")
    writer = servers[0]
    vault = run.world.vaults[0]
    clients = run.world.clients()
    shares = [clients[i :: len(servers)] for i in range(len(servers))]
    count, interval = run.sizes.b8_creations, run.sizes.b8_interval_ms
    to_writer = replace(run, server=writer)  # the owner's creations all go to the first
    async with contextlib.AsyncExitStack() as stack:
        gens = [await stack.enter_async_context(run.loadgen(f"b8-{name}")) for name in NAMES]
        for server, gen, share in zip(servers, gens, shares, strict=True):
            await connect(replace(run, server=server), gen, share)
        if run.sizes.warmup:
            run.status("warming up")
            await create(to_writer, gens[0], vault, run.sizes.warmup, interval)
            for gen in gens:
                await gen.call("wait", expected=run.sizes.warmup, timeoutMs=30_000)
                await gen.call("reset")
        before = [await counters(s) for s in servers] if run.side == "ours" else []
        cpu0 = [cpu_seconds(s.pid) for s in servers]
        waited0 = [waited_seconds(s.pid) for s in servers]
        run.status(f"{count:,} REST creations to one server")
        made = await create(to_writer, gens[0], vault, count, interval)
        run.status("waiting for every delivery")
        for gen in gens:
            await gen.call("wait", expected=count, timeoutMs=30_000)
        cpu1 = [cpu_seconds(s.pid) for s in servers]
        waited = [waited_seconds(s.pid) - w for s, w in zip(servers, waited0, strict=True)]
        after = [await counters(s) for s in servers] if run.side == "ours" else []
        stats = [await gen.call("stats", within=120) for gen in gens]
        run.status("capacity: fan-out through the first server")
        capacity = await fanout_capacity(
            run, writer, gens, run.sizes.b8_rates, run.sizes.b8_seconds
        )
    out = _figures(run, count, made, stats, cpu1, cpu0, waited, before, after)
    out["capacity"] = capacity
    out["complete"] = out["complete"] and capacity["complete"]
    return out


def _figures(
    run: Run,
    count: int,
    made: dict[str, Any],
    stats: list[dict[str, Any]],
    cpu1: list[float],
    cpu0: list[float],
    waited: list[float],
    before: list[dict[str, float]],
    after: list[dict[str, float]],
) -> dict[str, Any]:
    # key -> [receivers, at, first receipt, last receipt, source id], over both generators
    events: dict[str, list[Any]] = {}
    for st in stats:
        for key, n, at, first, last, source_id in st["events"]:
            entry = events.setdefault(key, [0, at, first, last, source_id])
            entry[0] += n
            entry[2] = min(entry[2], first)
            entry[3] = max(entry[3], last)
    clients = sum(len(st["clients"]) for st in stats)
    last_receiver = [e[3] - e[1] for e in events.values()]
    by_source = {e[4]: e for e in events.values()}
    rest_to_last = [by_source[c[0]][3] - c[1] for c in stats[0]["calls"] if c[0] in by_source]
    delivery = [x for st in stats for x in st["latencies"]]
    delivered = sum(c[0] for st in stats for c in st["clients"])
    window = (max(e[3] for e in events.values()) - min(e[1] for e in events.values())) / 1000
    instances = []
    for i, (server, st) in enumerate(zip(run.servers, stats, strict=True)):
        one: dict[str, Any] = {
            "name": NAMES[i],
            "takes_writes": i == 0,
            "clients": len(st["clients"]),
            "cpu_s": cpu1[i] - cpu0[i],
            "cpu": (cpu1[i] - cpu0[i]) / made["seconds"],
            # runnable but waiting for a core, over the creations: others' load, on a shared core
            "waited_for_cpu_s": waited[i],
            "last_receiver": summarize([row[4] - row[2] for row in st["events"]]),
            "log": str(server.log),
        }
        if after:
            decoded = after[i]["decoded"] - before[i]["decoded"]
            one |= {
                "redis_decoded": decoded,
                "decoded_per_event": decoded / count,
                "deliveries_direct": after[i]["direct"] - before[i]["direct"],
                "deliveries_queued": after[i]["queued"] - before[i]["queued"],
            }
        instances.append(one)
    complete = (
        all(_complete(st, count) for st in stats)
        and len(events) == count
        and all(e[0] == clients for e in events.values())
    )
    out: dict[str, Any] = {
        "clients": clients,
        "events": count,
        "seconds": made["seconds"],
        "per_s": count / made["seconds"],
        "delivered": delivered,
        # At the fixed pace: what was offered. The capacity is ``capacity.delivered_per_s``.
        "delivered_per_s": delivered / max(window, 0.001),
        "complete": complete,
        "delivery": summarize(delivery),
        "last_receiver": summarize(last_receiver),
        "rest_to_last": summarize(rest_to_last),
        "rest": summarize([c[2] - c[1] for c in stats[0]["calls"]]),
        "instances": instances,
        "samples": {"last_receiver": last_receiver, "rest_to_last": rest_to_last},
    }
    if after:
        # The most any instance decoded per event: 1 when each decodes each message once.
        out["decoded_per_event"] = max(one["decoded_per_event"] for one in instances)
    return out
