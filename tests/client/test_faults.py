"""FR-012, SC-003 with real faults: ``sourcevault serve`` processes that are killed and
restarted, a transport cut by a proxy, sessions that end. Every client comes back by itself
and holds exactly the database's events: none lost, none twice."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx

from sourcevault.client import CaughtUp, Connected, Disconnected, Reconnecting, Stopped
from tests import factories
from tests.client.recording import Watched, assert_exact
from tests.client.writes import Writer, rest_team

# The reconnect backoff is capped at 2 s, so the attempt that brings a client back starts
# within 2 s of the server answering again; the handshake and the catch-up follow at once.
BACK_WITHIN = 2.0


async def answering(url: str) -> float:
    """When the server first answers through ``url`` (the path the client takes)."""
    async with httpx.AsyncClient(base_url=url, timeout=1) as http:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/healthz")).status_code == 200:
                    return time.monotonic()
            await asyncio.sleep(0.02)


async def join_all(clients: list[Watched], vault_id: str) -> dict[Watched, int]:
    """Join, and the seq each client's snapshot was at (what it must apply from)."""
    return {w: (await w.client.join(vault_id)).seq for w in clients}


async def test_clients_lose_nothing_when_the_server_is_killed_and_restarted(spawn, watched):
    """Every client is back (its successful attempt starts within the 2 s cap of the server
    answering again), rejoins both its vaults, and holds exactly the database's events."""
    a = await spawn()
    b = await spawn()  # the other path: a second process on the same database
    team = await rest_team(a.url)
    shelf = await factories.vault(team.owner, "Second shelf")
    for member, role in ((team.contributor, "contributor"), (team.viewer, "viewer")):
        await factories.add(team.owner, shelf["id"], member, role)
    await team.close()
    vaults = [team.vault_id, shelf["id"]]
    clients = [await watched(a.url, m.token) for m in (team.owner, team.contributor, team.viewer)]
    since = {v: await join_all(clients, v) for v in vaults}
    via_a = {v: Writer(a.url, team.contributor.token, v) for v in vaults}
    via_b = {v: Writer(b.url, team.owner.token, v) for v in vaults}
    try:
        for v in vaults:
            await via_a[v].mutate(6)
            seq = await via_b[v].seq()
            for w in clients:
                await w.synced(v, seq)
        marks = {w: len(w.updates) for w in clients}

        await a.kill()
        for w in clients:
            await w.next(Disconnected, after=marks[w])
        for v in vaults:  # while every client is away
            await via_b[v].mutate(15)
        answered = await a.start()

        for w in clients:
            back = await w.next(Connected, lambda c: not c.first, after=marks[w])
            assert back.attempt_started - answered < BACK_WITHIN, w.updates[marks[w] :]
            for v in vaults:
                caught = await w.next(CaughtUp, lambda c, v=v: c.vault_id == v, after=marks[w])
                assert caught.count == 15
        # B's writes are not broadcast to A's sockets (no Redis): the next event through A
        # skips ahead, and each client fetches the gap before applying it.
        for v in vaults:
            await via_b[v].mutate(4)
            await via_a[v].mutate(1)
        for v in vaults:
            seq = await via_b[v].seq()
            for w in clients:
                await w.synced(v, seq)
                await assert_exact(w, via_b[v].http, v, since[v][w])
        assert [w.client.gaps_filled for w in clients] == [2, 2, 2]
    finally:
        for writer in (*via_a.values(), *via_b.values()):
            await writer.close()


async def test_a_client_cut_off_for_5_s_catches_up_exactly(spawn, watched, proxy):
    server = await spawn()
    team = await rest_team(server.url)
    await team.close()
    vault_id = team.vault_id
    line = await proxy(server.port)
    cut_off = await watched(line.url, team.viewer.token)
    others = [await watched(server.url, m.token) for m in (team.owner, team.contributor)]
    since = await join_all([cut_off, *others], vault_id)
    writer = Writer(server.url, team.owner.token, vault_id)
    try:
        mark = len(cut_off.updates)
        await line.cut()
        cut_at = time.monotonic()
        await cut_off.next(Disconnected, after=mark)
        # The others keep changing the vault, through the socket and through REST; more
        # than one join's worth (500) of events, so the catch-up pages through REST too.
        owner, contributor = (w.client for w in others)
        made = [await contributor.create_source(vault_id, title=f"live {n}") for n in range(12)]
        for source in made[:4]:
            await owner.update_source(source["id"], annotation="read it")
        for source in made[4:6]:
            await contributor.delete_source(source["id"])
        for _ in range(26):
            await asyncio.gather(*(writer.create() for _ in range(20)))
        await cut_off.next(Reconnecting, after=mark)
        await asyncio.sleep(max(0.0, 5.0 - (time.monotonic() - cut_at)))  # the cut lasts 5 s
        await line.restore()
        answered = await answering(line.url)

        back = await cut_off.next(Connected, lambda c: not c.first, after=mark)
        assert back.attempt_started - answered < BACK_WITHIN
        caught = await cut_off.next(CaughtUp, after=mark)
        assert caught.count == 12 + 4 + 2 + 26 * 20
        seq = await writer.seq()
        for w in (cut_off, *others):
            await w.synced(vault_id, seq)
            await assert_exact(w, writer.http, vault_id, since[w])
        for w in others:  # never affected
            assert w.of(Disconnected) == []
    finally:
        await writer.close()


async def test_an_ended_session_stops_reconnecting(spawn, watched, proxy):
    server = await spawn(session_max_age="3")
    team = await rest_team(server.url)
    await team.close()
    line = await proxy(server.port)
    # Sessions of their own, opened now: the team's may have aged while it was made.
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        owner_token = await factories.token_for(http, team.owner.email)
        viewer_token = await factories.token_for(http, team.viewer.email)
    # Connected when its session expires: the server says so, and the client stops.
    connected = await watched(server.url, owner_token)
    # Away when its session expires: its next reconnect is refused, and it stops.
    away = await watched(line.url, viewer_token)
    for w in (connected, away):
        await w.client.join(team.vault_id)
    await line.cut()
    await away.next(Reconnecting)

    stopped = await connected.next(Stopped)
    assert stopped.reason == "expired", connected.updates
    await connected.ended()
    assert connected.client.reconnect_attempts == 0
    assert connected.of(Reconnecting) == []

    before = line.accepted
    await line.restore()
    stopped = await away.next(Stopped)
    assert stopped.reason == "unauthorized", away.updates
    await away.ended()
    assert line.accepted == before + 1  # one refused attempt, and no more after it
    assert isinstance(away.updates[-1], Stopped)
