"""The broadcast fast path keeps order when a reader falls behind: a client that stops reading
for a while (its socket buffers full, the server's writes to it waiting) and then reads again
gets every event exactly once and in commit order, and is not dropped. A burst of events handed
over as one outbox (which the fast path writes to each socket together) reaches every member
complete and in order too, a member that is not reading included."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from sourcevault.auth.principal import Principal
from sourcevault.db.base import iso, utcnow
from sourcevault.events import Outbox, deliver
from sourcevault.sources.schemas import SourceCreate
from sourcevault.sources.service import create_source
from tests import factories
from tests.factories import Team
from tests.live import LiveServer
from tests.realtime.sockets import Socket, bare_socket
from tests.test_metrics import scrape

# Enough 8 KB events to fill the kernel's buffers on both ends of the loopback connection, so
# the server's writes to the paused reader have to wait; fewer than socket_max_queued behind.
EVENTS = 600
# 2 KB events: more than the fast path corks for one socket before writing, enough to fill the
# stalled reader's buffers (so it falls back to its queue mid-burst), fewer than
# socket_max_queued.
BURST = 300


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def read_seqs(reader: ClientConnection, count: int) -> list[int]:
    """The seqs of the next ``count`` vault events a bare socket receives, answering pings
    (presence announcements, which have no seq, are passed over)."""
    seqs: list[int] = []
    while len(seqs) < count:
        frame = str(await asyncio.wait_for(reader.recv(), 10))
        if frame == "2":  # Engine.IO ping
            await reader.send("3")
        elif frame.startswith("42"):
            name, event = json.loads(frame[2:])
            if not name.startswith("presence:"):
                seqs.append(event["seq"])
    return seqs


async def test_a_reader_that_falls_behind_gets_every_event_in_order(
    server: LiveServer, team: Team
) -> None:
    reader = await bare_socket(server, team.viewer.token, team.vault_id)
    watcher = await Socket(server, team.contributor.token).connect()
    await watcher.join(team.vault_id)
    author = Principal(team.owner.id, team.owner.name, team.owner.email, "s", utcnow())
    body = SourceCreate(title="bulk", annotation="x" * 8000)
    for _ in range(EVENTS):
        await create_source(server.ctx, author, team.vault_id, body)
    expected = list(range(3, EVENTS + 3))  # seq 1 and 2 are the team's member:added events
    try:
        seqs = await read_seqs(reader, EVENTS)
        await watcher.wait_for("source:created", lambda e: e["seq"] == EVENTS + 2, timeout=30)
        assert seqs == expected
        assert [e["seq"] for e in watcher.events("source:created")] == expected
        assert server.app.state.realtime.sio.dropped_slow == 0
    finally:
        await watcher.close()
        await reader.close()


async def test_a_burst_in_one_outbox_reaches_every_member_in_order(
    server: LiveServer, team: Team
) -> None:
    watcher = await Socket(server, team.contributor.token).connect()
    await watcher.join(team.vault_id)
    reading = await bare_socket(server, team.viewer.token, team.vault_id)
    stalled = await bare_socket(server, team.owner.token, team.vault_id)  # reads only later
    first = 1000
    burst = [
        {
            "type": "source:created",
            "vaultId": team.vault_id,
            "seq": first + i,
            "at": iso(utcnow()),
            "source": {"id": f"{i:032x}", "annotation": "x" * 2000},
        }
        for i in range(BURST)
    ]
    await deliver(server.ctx.broadcaster, Outbox(events=burst))
    expected = list(range(first, first + BURST))
    try:
        assert await read_seqs(reading, BURST) == expected
        assert await read_seqs(stalled, BURST) == expected
        await watcher.wait_for("source:created", lambda e: e["seq"] == expected[-1])
        assert [e["seq"] for e in watcher.events("source:created")] == expected
        assert server.app.state.realtime.sio.dropped_slow == 0
    finally:
        await watcher.close()
        await reading.close()
        await stalled.close()


DIRECT = 'sourcevault_socket_deliveries_total{route="direct"}'
QUEUED = 'sourcevault_socket_deliveries_total{route="queued"}'


@pytest.mark.fast_transport
async def test_events_to_members_who_keep_up_are_written_directly(
    server: LiveServer, client: httpx.AsyncClient, team: Team
) -> None:
    """The fast path is what serves members who read: /metrics counts each delivery's route."""
    watchers = [await Socket(server, m.token).connect() for m in (team.contributor, team.viewer)]
    try:
        for watcher in watchers:
            await watcher.join(team.vault_id)
        before = await scrape(server)
        for _ in range(3):
            source_id = (await factories.source(team.owner, team.vault_id))["id"]
            for watcher in watchers:
                await watcher.wait_for(
                    "source:created", lambda e, id_=source_id: e["source"]["id"] == id_
                )
        after = await scrape(server)
        assert after[DIRECT] - before[DIRECT] == 3 * len(watchers)
        assert after[QUEUED] == before[QUEUED]
    finally:
        for watcher in watchers:
            await watcher.close()
