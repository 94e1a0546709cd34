"""``sourcevault watch`` end to end: a real server process, the command as a subprocess, and
what it prints, awaited line by line."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

import httpx
import pytest

from tests import factories
from tests.client.procs import SOURCEVAULT, server_env
from tests.client.writes import Writer, rest_team
from tests.factories import PASSWORD, Team
from tests.live import LiveServer

TIMEOUT = 15.0


class Output:
    """A subprocess's output lines as they come, with an await for the one a test expects."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._seen = 0
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            async with self._changed:
                self.lines.append(line.decode().rstrip())
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    async def expect(self, text: str) -> str:
        """The next line (after the last one expected) that contains ``text``."""

        def found() -> int | None:
            for index in range(self._seen, len(self.lines)):
                if text in self.lines[index]:
                    return index
            return None

        async def wait() -> int:
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None or self._task.done())
            index = found()
            assert index is not None, f"{text!r} never printed:\n" + "\n".join(self.lines)
            return index

        try:
            index = await asyncio.wait_for(wait(), TIMEOUT)
        except TimeoutError:
            raise AssertionError(f"{text!r} not printed:\n" + "\n".join(self.lines)) from None
        self._seen = index + 1
        return self.lines[index]

    async def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(self.proc.wait(), TIMEOUT)
        await self._task
        return code


@contextlib.asynccontextmanager
async def watching(*args: str, stdin: bytes | None = None) -> AsyncIterator[Output]:
    proc = await asyncio.create_subprocess_exec(
        SOURCEVAULT, "watch", *args,
        env=server_env("sqlite+aiosqlite:///unused.db"),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # no terminal: the password prompt reads stdin
    )  # fmt: skip
    assert proc.stdin is not None
    if stdin is not None:
        proc.stdin.write(stdin)
        await proc.stdin.drain()
    output = Output(proc)
    try:
        yield output
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await output._task


async def test_watch_prints_rest_changes_and_keeps_printing_after_a_restart(spawn):
    server = await spawn()
    other = await spawn()  # takes a write while the first is down
    team = await rest_team(server.url)
    vault_id = team.vault_id
    async with watching(vault_id, "--server", server.url, "--token", team.viewer.token) as out:
        await out.expect('following "Reading list" as viewer: 0 sources, seq 2')

        await factories.source(team.owner, vault_id, title="Read me first")
        line = await out.expect("source:created")
        assert "#3 " in line and '"Read me first"' in line and "by Olive Owner (owner)" in line
        assert line.rstrip().endswith(" ms")

        await server.stop()
        await out.expect("connection lost")
        await out.expect("reconnecting: attempt 1")
        writer = Writer(other.url, team.contributor.token, vault_id)
        await writer.create(title="Written while away")
        await writer.close()
        await server.start()
        await out.expect("reconnected after")
        line = await out.expect('"Written while away"')
        assert "#4 " in line and line.endswith("(caught up)")
        await out.expect("caught up 1 event; at seq 4")

        await factories.source(team.owner, vault_id, title="After the restart")
        line = await out.expect('"After the restart"')
        assert "#5 " in line and "source:created" in line
        assert await out.interrupt() == 130
    await team.close()


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def test_watch_logs_in_with_a_prompted_password(server: LiveServer, team: Team):
    login = f"{PASSWORD}\n".encode()
    args = (team.vault_id, "--server", server.url, "--email", team.contributor.email)
    async with watching(*args, stdin=login) as out:
        await out.expect('following "Reading list" as contributor')
        await factories.source(team.owner, team.vault_id, title="Seen by Carl")
        await out.expect('"Seen by Carl"')
        assert await out.interrupt() == 130

    async with watching(*args, stdin=b"not the password\n") as out:
        await out.expect("Invalid email or password")
        assert await asyncio.wait_for(out.proc.wait(), TIMEOUT) == 1

    async with httpx.AsyncClient(base_url=server.url) as http:
        stranger = await factories.member(server, http, "Sam Stranger")
    async with watching(team.vault_id, "--server", server.url, "--token", stranger.token) as out:
        await out.expect("no such vault, or you are not a member")
        assert await asyncio.wait_for(out.proc.wait(), TIMEOUT) == 1
    await stranger.http.aclose()
