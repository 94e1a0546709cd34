"""Real processes for fault tests: ``sourcevault serve`` as a subprocess that can be killed and
restarted on its port, and a TCP proxy of our own that can cut one client off."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import time
from pathlib import Path

import httpx

from tests import services

SOURCEVAULT = str(Path(sys.executable).with_name("sourcevault"))
READY_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, **settings: str) -> dict[str, str]:
    env = services.inherited_env()
    env["SOURCEVAULT_DATABASE_URL"] = database_url
    env["SOURCEVAULT_METRICS_BIND"] = ""  # several may run at once; a test that reads them sets one
    env.update({f"SOURCEVAULT_{k.upper()}": v for k, v in settings.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ServerProcess:
    """``sourcevault serve`` on a fixed port; ``start()`` returns when it answers /healthz."""

    def __init__(
        self, database_url: str, cwd: Path, *args: str, port: int | None = None, **settings: str
    ):
        self.args = args
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = server_env(database_url, **settings)
        self.cwd = cwd
        self.proc: asyncio.subprocess.Process | None = None
        self.output: list[str] = []
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> float:
        """Start it and wait until it answers; the ``time.monotonic()`` of its first answer."""
        self.proc = await asyncio.create_subprocess_exec(
            SOURCEVAULT, "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args,
            cwd=self.cwd, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        self._drain = asyncio.create_task(self._read(self.proc))
        async with httpx.AsyncClient(timeout=1) as http:
            deadline = time.monotonic() + READY_TIMEOUT
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"server exited:\n{self.log()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return time.monotonic()
                await asyncio.sleep(0.02)  # polling a process we do not control
        raise RuntimeError(f"server did not answer within {READY_TIMEOUT} s:\n{self.log()}")

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            self.output.append(line.decode(errors="replace").rstrip())

    def log(self) -> str:
        return "\n".join(self.output[-40:])

    async def kill(self) -> None:
        """SIGKILL: no goodbye to anyone."""
        await self._end(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM: a normal shutdown."""
        await self._end(signal.SIGTERM)

    async def _end(self, sig: signal.Signals) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(sig)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._drain is not None:
            await self._drain


class TcpProxy:
    """Forwards a port to the server. ``cut()`` drops every connection through it and refuses
    new ones (the client sees its transport close); ``restore()`` lets them through again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._pipes.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._pipes.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def cut(self) -> None:
        assert self._server is not None
        server, self._server = self._server, None
        server.close()
        for writer in list(self._pipes):
            transport = writer.transport
            if isinstance(transport, asyncio.Transport):
                transport.abort()
        await server.wait_closed()

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        if self._server is not None:
            await self.cut()
