"""On SQLite, a request that has to wait for another process's write lock waits without
holding the server up: the server keeps answering (health, reads, sockets) meanwhile, and the
write goes through once the lock is released. (Statements that wait for no lock run on the
event loop's thread; the transaction's ``BEGIN IMMEDIATE``, which may wait, does not:
realtime/transport/sqlite.py. With the stock adapter every statement waits on aiosqlite's
thread.)"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event

from sourcevault.config import Settings
from sourcevault.context import Context
from sourcevault.db.engine import sqlite_file
from tests.factories import Team
from tests.live import LiveServer
from tests.realtime.sockets import Socket


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def test_a_write_waiting_for_another_process_does_not_stop_the_server(
    server: LiveServer, client: httpx.AsyncClient, team: Team, database_url: str
) -> None:
    other = sqlite3.connect(database_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing: it holds the write lock
    try:
        creating = asyncio.create_task(
            team.owner.http.post(f"/api/vaults/{team.vault_id}/sources", json={"title": "held"})
        )
        watcher = await Socket(server, team.viewer.token).connect()  # reads, on the socket
        try:
            await watcher.join(team.vault_id)
            assert (await client.get("/healthz")).status_code == 200
            listed = await team.viewer.http.get(f"/api/vaults/{team.vault_id}/sources")
            assert listed.status_code == 200
            assert not creating.done()  # still waiting for the lock
            other.execute("COMMIT")
            created = await asyncio.wait_for(creating, 10)
            assert created.status_code == 201, created.text
            event = await watcher.wait_for("source:created")
            assert event["source"]["title"] == "held"
        finally:
            await watcher.close()
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


@pytest.mark.fast_sqlite_adapter
async def test_sockets_connecting_at_once_reuse_the_pooled_connections(
    server: LiveServer, team: Team
) -> None:
    """Fifty sockets authenticating and joining together open no database connection beyond
    the one a lookup at a time needs (each opened connection costs a thread on SQLite)."""
    opened = []
    event.listen(server.ctx.engine.sync_engine, "connect", lambda *_: opened.append(1))
    sockets = [Socket(server, team.viewer.token) for _ in range(50)]
    try:
        await asyncio.gather(*(s.connect() for s in sockets))
        await asyncio.gather(*(s.join(team.vault_id) for s in sockets))
        assert opened == []
    finally:
        await asyncio.gather(*(s.close() for s in sockets))


async def test_commits_leave_the_wal_checkpoint_to_the_background(database_url: str) -> None:
    """A commit that takes the log past SQLite's automatic checkpoint does not write the log
    back to the database file (with its sync to disk) on the event loop's thread; the app's
    checkpointer does, on a thread of its own, soon after."""
    ctx = Context.build(Settings(database_url=database_url))
    try:
        file = sqlite_file(ctx.engine)
        assert file is not None
        path = Path(file)

        def size() -> int:
            return path.stat().st_size

        before = size()
        async with ctx.engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE filler (data BLOB)")
            for _ in range(1500):  # past the automatic checkpoint's 1,000 pages
                await connection.exec_driver_sql("INSERT INTO filler VALUES (randomblob(4000))")
        assert size() == before  # committed, and all of it still in the log

        ctx.start()

        async def written_back() -> None:
            # The checkpointer runs every second; look until the file has the pages.
            while size() < before + 1500 * 4000:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

        await asyncio.wait_for(written_back(), 10)
    finally:
        await ctx.aclose()
