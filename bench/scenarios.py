"""The scenarios, each run the same way on our server and on the Node reference (B7's writes
are also measured beside a floor: the same rows written by a plain script), or on ours alone.

A scenario gets a started server (its users, tokens and vaults already made, see ``world``)
and starts the load generators it needs. Latencies are in milliseconds: an event's delivery is
its receive time minus its ``at`` (which both servers stamp, to the millisecond, when the change
is made); "REST call to last delivery" runs from the moment the creation request is sent to the
moment the last client in the room has the event. Every scenario also says whether it was
complete: every client connected, and got every event exactly once and in order.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import orjson

from bench import presence, web
from bench.procs import BenchError, Loadgen, Server, child_setup, cpu_seconds, rss_bytes
from bench.report import summarize
from bench.world import BenchVault, World, make_world


@dataclass(frozen=True)
class Sizes:
    b1_clients: int = 100
    b1_creations: int = 200
    b1_interval_ms: float = 20
    b2_clients: int = 1000
    b2_creations: int = 50
    b2_interval_ms: float = 100
    b3_clients: int = 100
    # Offered fan-out rates, events/s into the room, tried in turn until one is not sustained.
    b3_rates: tuple[int, ...] = (250, 500, 1000, 1500, 2000, 3000)
    b3_seconds: float = 2.0
    b4_connections: int = 10_000
    b4_vaults: int = 1000
    b5_handshakes: int = 1000
    b5_concurrency: int = 1
    b6_clients: int = 1000
    b6_vaults: int = 10
    b7_watchers: int = 100
    b7_creations: int = 1000
    b7_concurrency: int = 8
    b8_clients: int = 1000
    b8_creations: int = 200
    b8_interval_ms: float = 100
    # B8's capacity: offered fan-out rates into the vault through the first server, as B3's.
    b8_rates: tuple[int, ...] = (25, 50, 75, 100, 150, 200, 300)
    b8_seconds: float = 2.0
    connect_concurrency: int = 100
    # Creations (or, in B3, a short fan-out) made and discarded before each measurement.
    warmup: int = 20
    # W1-W3, the web app in Chromium (bench/web.py).
    w1_loads: int = 5
    w1_vaults: int = 10
    w2_sources: int = 5000
    w3_sources: int = 1000
    w3_events: int = 300
    w3_interval_ms: float = 100


FULL = Sizes()
QUICK = replace(
    FULL,
    b1_clients=10,
    b1_creations=10,
    b2_clients=20,
    b2_creations=5,
    b2_interval_ms=20,
    b3_clients=10,
    b3_rates=(200,),
    b3_seconds=0.5,
    b4_connections=200,
    b4_vaults=20,
    b5_handshakes=20,
    b6_clients=20,
    b6_vaults=2,
    b7_watchers=10,
    b7_creations=20,
    b8_clients=20,
    b8_creations=5,
    b8_interval_ms=20,
    b8_rates=(50,),
    b8_seconds=0.5,
    warmup=2,
    w1_loads=1,
    w1_vaults=2,
    w2_sources=250,
    w3_sources=20,
    w3_events=10,
    w3_interval_ms=20,
)


@dataclass
class Run:
    """One scenario on one server."""

    side: str
    server: Server
    world: World
    sizes: Sizes
    loadgen: Callable[[str], AbstractAsyncContextManager[Loadgen]]
    status: Callable[[str], None]
    # Every server of the side when the scenario runs several (B8); ``server`` is the first.
    servers: tuple[Server, ...] = ()


async def connect(
    run: Run, lg: Loadgen, clients: list[dict[str, Any]], *, reconnect: bool = False
) -> dict[str, Any]:
    run.status(f"connecting {len(clients):,} clients")
    answer = await lg.call(
        "connect",
        within=600,
        url=run.server.url,
        clients=clients,
        concurrency=run.sizes.connect_concurrency,
        reconnect=reconnect,
    )
    if answer["connected"] != len(clients) or answer["joinFailures"]:
        raise BenchError(
            f"{answer['failed']} of {len(clients)} connections and {answer['joinFailures']} "
            f"joins failed: {answer['errors']}"
        )
    return answer


def _complete(stats: dict[str, Any], expected: int) -> bool:
    """Every client connected and got ``expected`` events, none twice, none skipped."""
    return all(
        received == expected and not dups and not gaps and connected
        for received, dups, gaps, connected in stats["clients"]
    )


async def create(
    run: Run,
    lg: Loadgen,
    vault: BenchVault,
    count: int,
    interval_ms: float,
    concurrency: int = 1,
    via: str = "rest",
) -> dict[str, Any]:
    """``count`` creations in ``vault`` by its owner, ``interval_ms`` apart, made by ``lg``;
    none may fail."""
    made: dict[str, Any] = await lg.call(
        "create",
        within=600,
        url=run.server.url,
        vaultId=vault.id,
        token=vault.owner.token,
        count=count,
        intervalMs=interval_ms,
        concurrency=concurrency,
        via=via,
    )
    if made["failed"]:
        raise BenchError(f"{made['failed']} of {count} {via} creations failed")
    return made


async def creations(
    run: Run,
    lg: Loadgen,
    vault: BenchVault,
    count: int,
    interval_ms: float,
    concurrency: int = 1,
    via: str = "rest",
) -> dict[str, Any]:
    """REST creations (or, ``via`` "socket", ``source:create`` calls with an acknowledgement on
    one socket of the owner's) in ``vault`` while ``lg``'s clients watch it, then every
    delivery; and the server's CPU time per creation made.

    A few creations first warm both ends up (the reference's JIT, our first queries); they are
    waited for and then forgotten.
    """
    warmup = run.sizes.warmup
    if warmup:
        run.status("warming up")
        await create(run, lg, vault, warmup, interval_ms, concurrency, via)
        await lg.call("wait", expected=warmup, timeoutMs=30_000)
    await lg.call("reset")
    run.status(f"{count:,} {via} creations")
    cpu0 = cpu_seconds(run.server.pid)
    made = await create(run, lg, vault, count, interval_ms, concurrency, via)
    cpu = cpu_seconds(run.server.pid) - cpu0
    run.status("waiting for every delivery")
    await lg.call("wait", expected=count, timeoutMs=30_000)
    stats = await lg.call("stats", within=120)
    events = {row[5]: row for row in stats["events"]}  # by source id
    last_receiver = [row[4] - row[2] for row in stats["events"]]
    rest_to_last = [events[c[0]][4] - c[1] for c in stats["calls"] if c[0] in events]
    rest = [c[2] - c[1] for c in stats["calls"]]
    complete = (
        _complete(stats, count)
        and len(stats["events"]) == count
        and all(row[1] == len(stats["clients"]) for row in stats["events"])
    )
    return {
        "clients": len(stats["clients"]),
        "events": count,
        "seconds": made["seconds"],
        "per_s": count / made["seconds"],
        # The server's, while the calls were made (the last deliveries may finish after).
        "cpu_ms_per_creation": cpu * 1000 / count,
        "complete": complete,
        "delivery": summarize(stats["latencies"]),
        "last_receiver": summarize(last_receiver),
        "rest_to_last": summarize(rest_to_last),
        "rest": summarize(rest),
        "samples": {
            "delivery": stats["latencies"],
            "last_receiver": last_receiver,
            "rest_to_last": rest_to_last,
        },
    }


# -- B1, B2: latency of REST creations to a room -------------------------------------------------


async def b1(run: Run) -> dict[str, Any]:
    vault = run.world.vaults[0]
    async with run.loadgen("b1") as lg:
        await connect(run, lg, run.world.clients())
        return await creations(run, lg, vault, run.sizes.b1_creations, run.sizes.b1_interval_ms)


async def b2(run: Run) -> dict[str, Any]:
    vault = run.world.vaults[0]
    async with run.loadgen("b2") as lg:
        await connect(run, lg, run.world.clients())
        return await creations(run, lg, vault, run.sizes.b2_creations, run.sizes.b2_interval_ms)


# -- B3: sustained fan-out ------------------------------------------------------------------------


async def b3(run: Run) -> dict[str, Any]:
    """Offered rates in turn, to one server's clients: ``fanout_capacity``."""
    async with run.loadgen("b3") as lg:
        await connect(run, lg, run.world.clients())
        return await fanout_capacity(
            run, run.server, [lg], run.sizes.b3_rates, run.sizes.b3_seconds
        )


async def fanout_capacity(
    run: Run,
    through: Server,
    gens: list[Loadgen],
    rates: tuple[int, ...],
    seconds: float,
) -> dict[str, Any]:
    """Offered rates in turn, each for ``seconds``, through ``through``'s ``/bench/fanout`` into
    the first vault, whose watchers are connected through ``gens`` (to any of ``run.servers``).
    The figure is the best delivered rate at which every client got every event, and it stops at
    the first rate not sustained (under 90% delivered, or lost). Server CPU is over every server
    of the side."""
    vault = run.world.vaults[0]
    n = len(vault.watchers)
    servers = run.servers or (run.server,)
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None

    async def wait(expected: int, timeout_ms: int) -> list[dict[str, Any]]:
        for gen in gens:
            await gen.call("wait", expected=expected, timeoutMs=timeout_ms)
        return [await gen.call("stats", within=120) for gen in gens]

    def cpu() -> float:
        return sum(cpu_seconds(s.pid) for s in servers)

    async with httpx.AsyncClient(base_url=through.url, timeout=600) as http:
        run.status("warming up")
        # From zero: a generator's counts may hold what a scenario did before (B8's
        # creations), which would satisfy the wait below before the warm-up's events are in,
        # and those would then be counted in the first step.
        for gen in gens:
            await gen.call("reset")
        warm = run.sizes.warmup * 10
        body = {"vaultId": vault.id, "rate": rates[0], "count": warm}
        (await http.post("/bench/fanout", json=body)).raise_for_status()
        await wait(warm, 30_000)
        for rate in rates:
            run.status(f"offering {rate * n:,} msg/s")
            for gen in gens:
                await gen.call("reset")
            count = max(1, round(rate * seconds))
            cpu0, t0 = cpu(), time.monotonic()
            response = await http.post(
                "/bench/fanout", json={"vaultId": vault.id, "rate": rate, "count": count}
            )
            if response.status_code != 200:
                raise BenchError(f"/bench/fanout answered {response.status_code}: {response.text}")
            stats = await wait(count, int(seconds * 3000) + 5000)
            t1, cpu1 = time.monotonic(), cpu()
            received = sum(c[0] for st in stats for c in st["clients"])
            rows = [row for st in stats for row in st["events"]]
            latencies = [x for st in stats for x in st["latencies"]]
            first = min(row[2] for row in rows)  # the first event's `at`
            last = max(row[4] for row in rows)  # the last receipt, on any generator
            window = max(last - first, 1.0) / 1000
            used = cpu1 - cpu0
            step = {
                "offered_per_s": rate * n,
                "events": count,
                "delivered": received,
                "delivered_per_s": received / window,
                "complete": all(_complete(st, count) for st in stats),
                "cpu": used / (t1 - t0),
                "cpu_ms_per_1k": used * 1000 / max(received, 1) * 1000,
                "delivery": summarize(latencies),
            }
            steps.append(step)
            sustained = step["complete"] and step["delivered_per_s"] >= 0.9 * rate * n
            if step["complete"] and (
                best is None or step["delivered_per_s"] > best["delivered_per_s"]
            ):
                best = step | {"samples": {"delivery": latencies[:: max(1, received // 20000)]}}
            if not sustained:
                break
    chosen = best or {k: v for k, v in steps[0].items()}
    return {**chosen, "clients": n, "steps": steps, "complete": best is not None}


# -- B4: 10,000 connections -----------------------------------------------------------------------


async def b4(run: Run) -> dict[str, Any]:
    """Idle joined connections in one generator, B1 on top of them from a second one."""
    *idle_vaults, load_vault = run.world.vaults
    idle = World(tuple(idle_vaults)).clients()
    warm = max(1, len(idle) // 100)
    async with run.loadgen("b4-idle") as idle_lg, run.loadgen("b4-b1") as b1_lg:
        await connect(run, idle_lg, idle[:warm])  # warms the server's code paths first
        await asyncio.sleep(0.5)
        rss0 = rss_bytes(run.server.pid)
        ramp = await connect(run, idle_lg, idle[warm:])
        run.status("idle")
        await asyncio.sleep(1.0)
        rss1 = rss_bytes(run.server.pid)
        ramped = len(idle) - warm
        await connect(run, b1_lg, World((load_vault,)).clients())
        at_load = await creations(
            run, b1_lg, load_vault, run.sizes.b1_creations, run.sizes.b1_interval_ms
        )
        idle_stats = await idle_lg.call("stats", within=120)
    idle_ok = all(c[3] and not c[0] for c in idle_stats["clients"])
    return {
        "connections": len(idle),
        "vaults": len(idle_vaults),
        "ramped": ramped,
        "rss_before": rss0,
        "rss_after": rss1,
        "kb_per_connection": (rss1 - rss0) / ramped / 1000,
        "accepted_per_s": ramped / ramp["connectSeconds"],
        "joins_per_s": ramped / ramp["joinSeconds"],
        "connect_seconds": ramp["connectSeconds"],
        "join_seconds": ramp["joinSeconds"],
        "at_load": at_load,
        "complete": at_load["complete"] and idle_ok,
    }


# -- B5: refusals ---------------------------------------------------------------------------------


async def b5(run: Run) -> dict[str, Any]:
    n = run.sizes.b5_handshakes
    async with run.loadgen("b5") as lg:
        run.status("warming up")
        await lg.call("refuse", url=run.server.url, n=run.sizes.warmup, concurrency=1)
        run.status(f"{n:,} handshakes with a bad token")
        answer = await lg.call(
            "refuse", url=run.server.url, n=n, concurrency=run.sizes.b5_concurrency
        )
    return {
        "handshakes": n,
        "concurrency": run.sizes.b5_concurrency,
        "refused": answer["refused"],
        "accepted": answer["accepted"],
        "messages": answer["messages"],
        "refusal": summarize(answer["latencies"]),
        "samples": {"refusal": answer["latencies"]},
        "complete": answer["messages"] == {"UNAUTHORIZED|UNAUTHORIZED": n},
    }


# -- B6: restart ----------------------------------------------------------------------------------


async def b6(run: Run) -> dict[str, Any]:
    """Clients reconnect by themselves (backoff from 500 ms, capped at 2 s, with jitter) and
    rejoin with ``after``; one source per vault is created as soon as the new server answers,
    so each client has to come back and catch up to it."""
    vaults = run.world.vaults
    async with run.loadgen("b6") as lg:
        await connect(run, lg, run.world.clients(), reconnect=True)
        await lg.call("setTarget", target={v.id: 1 for v in vaults})
        run.status("restarting the server")
        t0 = time.time() * 1000
        await run.server.stop()
        await run.server.start()
        ready = time.time() * 1000
        run.status("waiting for every client to catch up")
        await asyncio.gather(*(create(run, lg, v, 1, 0) for v in vaults))
        answer = await lg.call("caughtUp", timeoutMs=30_000)
        stats = await lg.call("stats", within=120)
    # An event can come both live and in the rejoin's ``missed`` (the socket enters the room
    # before the catch-up read); clients drop the second copy by seq, as the contract says.
    complete = answer["caughtUp"] == answer["total"] and not any(
        gaps for _r, _dups, gaps, _c in stats["clients"]
    )
    return {
        "clients": answer["total"],
        "caught_up": answer["caughtUp"],
        "duplicates_dropped": sum(dups for _r, dups, _g, _c in stats["clients"]),
        "reconnects": answer["reconnects"],
        "disconnects": stats["disconnects"],
        "ready_s": (ready - t0) / 1000,
        "caught_up_s": (answer["last"] - t0) / 1000 if complete else None,
        "complete": complete,
    }


# -- B7: write throughput, beside the database's floor ---------------------------------------------


async def b7(run: Run) -> dict[str, Any]:
    """Back-to-back creations by ``b7_concurrency`` callers, watched: through REST, then (ours:
    the reference has no socket writes) through the socket; then, on ours, the floor
    (bench/floor.py) on the same database, pinned where the server is."""
    vault = run.world.vaults[0]
    s = run.sizes
    async with run.loadgen("b7") as lg:
        await connect(run, lg, run.world.clients())
        out = await creations(run, lg, vault, s.b7_creations, 0, concurrency=s.b7_concurrency)
        out.pop("samples")
        if run.side == "ours":
            socket = await creations(
                run, lg, vault, s.b7_creations, 0, concurrency=s.b7_concurrency, via="socket"
            )
            socket.pop("samples")
            out["socket"] = socket
            out["complete"] = out["complete"] and socket["complete"]
    if run.side == "ours":
        run.status(f"the floor: {s.b7_creations:,} plain writes")
        out["floor"] = await floor(run, vault, s.b7_creations, s.b7_concurrency)
    return out


async def floor(run: Run, vault: BenchVault, count: int, concurrency: int) -> dict[str, Any]:
    env = run.server.env or {}
    command = [sys.executable, "-m", "bench.floor", env["SOURCEVAULT_DATABASE_URL"]]
    command += [vault.id, vault.owner.id, str(count), str(concurrency)]
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=run.server.cwd,
        preexec_fn=child_setup(run.server.cores),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 600)
    if proc.returncode != 0:
        raise BenchError(f"the floor failed: {err.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = orjson.loads(out)
    return result


# -- B8: several instances -------------------------------------------------------------------------


async def b8(run: Run) -> dict[str, Any]:
    """Two servers over Redis, clients split across them, writes to one: bench/multi.py."""
    from bench import multi  # which builds on this module

    return await multi.b8(run)


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    world: Callable[[Sizes], World]
    run: Callable[[Run], Awaitable[dict[str, Any]]]
    # The databases our server runs it on; more than one nests ours' results by database.
    databases: tuple[str, ...] = ("sqlite",)
    # False for a scenario of ours alone (its targets are absolute): no Node side is run.
    reference: bool = True
    # Servers per side; more than one share Redis (and, ours, a PostgreSQL database): multi.py.
    instances: int = 1


SCENARIOS = [
    Scenario(
        "B1",
        "100 clients in one vault, REST creations 20 ms apart",
        lambda s: make_world("b1", 1, s.b1_clients),
        b1,
    ),
    Scenario(
        "B2",
        "1,000 clients in one vault, creations 100 ms apart",
        lambda s: make_world("b2", 1, s.b2_clients),
        b2,
    ),
    Scenario(
        "B3",
        "sustained fan-out to 100 clients",
        lambda s: make_world("b3", 1, s.b3_clients),
        b3,
    ),
    Scenario(
        "B4",
        "10,000 joined connections across 1,000 vaults, and B1 on top",
        lambda s: _b4_world(s),
        b4,
    ),
    Scenario("B5", "unauthenticated handshakes", lambda s: make_world("b5", 1, 0), b5),
    Scenario(
        "B6",
        "1,000 clients, server restart",
        lambda s: make_world("b6", s.b6_vaults, s.b6_clients // s.b6_vaults),
        b6,
    ),
    Scenario(
        "B7",
        "creations/s (REST, socket) with 100 watchers, beside the database's floor",
        lambda s: make_world("b7", 1, s.b7_watchers),
        b7,
        databases=("sqlite", "postgres"),
    ),
    Scenario(
        "B8",
        "two instances over Redis, 1,000 clients split across them, writes to one",
        lambda s: make_world("b8", 1, s.b8_clients),
        b8,
        databases=("postgres",),
        instances=2,
    ),
    Scenario(
        "P1",
        "B1 with presence churn: 1,000 joins and leaves by other members meanwhile",
        lambda s: presence.world(s),
        lambda run: presence.p1(run),
        reference=False,
    ),
    Scenario(
        "W1",
        "the web app: first load of / until the vault list is interactive",
        web.w1_world,
        web.w1,
        reference=False,
    ),
    Scenario(
        "W2",
        "the web app: a vault of 5,000 sources opened and scrolled to its end",
        web.w2_world,
        web.w2,
        reference=False,
    ),
    Scenario(
        "W3",
        "the web app: a source:created event's arrival to its row in the DOM",
        web.w3_world,
        web.w3,
        reference=False,
    ),
]


def _b4_world(s: Sizes) -> World:
    idle = make_world("b4", s.b4_vaults, s.b4_connections // s.b4_vaults)
    at_load = make_world("b4load", 1, s.b1_clients)
    return World(idle.vaults + at_load.vaults)


# -- scenarios of ours alone (bench/collab.py) ---------------------------------------------------

from bench import collab  # noqa: E402  (it imports this module's names lazily)

SCENARIOS += [
    Scenario(
        "S1",
        "search over 100,000 sources: a vault's and every vault's",
        collab.s1_world,
        collab.s1,
        databases=("sqlite", "postgres"),
        reference=False,
    ),
    Scenario(
        "I1",
        "a 50,000-entry import",
        collab.i1_world,
        collab.i1,
        databases=("sqlite", "postgres"),
        reference=False,
    ),
]
