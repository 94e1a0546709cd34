"""The processes of a run: a server (ours or the Node reference) and the load generator.

Servers are pinned to one core and the generators (and this orchestrator) to the others, where
the machine has two or more; every child gets the open-file limit raised to its hard maximum,
since thousands of sockets need thousands of descriptors. CPU time and resident memory are read
from ``/proc``.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import itertools
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "bench"
NODE_MODULES = ROOT / "node_modules"
SERVE_MODULE = "bench.serve"


class BenchError(RuntimeError):
    """A process of the run failed or a scenario could not be carried out."""


@dataclass(frozen=True)
class Pins:
    """Which cores the servers get and which the generators get (empty: no pinning)."""

    server: frozenset[int]
    clients: frozenset[int]

    @classmethod
    def plan(cls, enabled: bool = True) -> Pins:
        try:
            cores = sorted(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            cores = []
        if not enabled or len(cores) < 2:
            return cls(frozenset(), frozenset())
        return cls(frozenset(cores[:1]), frozenset(cores[1:]))

    def pin_self(self) -> None:
        if self.clients:
            os.sched_setaffinity(0, self.clients)


def raise_nofile() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for wanted in (max(hard, 65536), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return
        except (ValueError, OSError):
            continue


def child_setup(cores: frozenset[int]) -> Callable[[], None]:
    def setup() -> None:
        raise_nofile()
        if cores:
            os.sched_setaffinity(0, cores)

    return setup


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def waited_seconds(pid: int) -> float:
    """Time the threads of a process spent runnable but waiting for a core (``schedstat``): on
    a machine shared with other work, what its wall-clock figures lost to that work."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):  # a thread that ended meanwhile
            continue
    return total / 1e9


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"no VmRSS for {pid}")


def node() -> str:
    return os.environ.get("NODE", "node")


def check_node() -> str | None:
    """Why the Node side cannot run, or None when it can."""
    for package in ("socket.io", "socket.io-client"):
        if not (NODE_MODULES / package / "package.json").exists():
            return f"node_modules/{package} is missing (run: npm ci)"
    try:
        import subprocess

        subprocess.run([node(), "--version"], check=True, capture_output=True)  # noqa: S603
    except (OSError, subprocess.CalledProcessError):
        return "Node.js is not installed"
    return None


@dataclass
class Server:
    """One server process on a fixed port; ``restart`` keeps the port and the data."""

    name: str
    command: list[str]
    port: int
    cores: frozenset[int]
    log: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    proc: asyncio.subprocess.Process | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError(f"{self.name} is not running")
        return self.proc.pid

    async def start(self, within: float = 60.0) -> float:
        """Start and wait until it answers /healthz; returns the seconds that took."""
        started = time.monotonic()
        self._log_file = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=self._log_file,
            env=self.env,
            cwd=self.cwd,
            preexec_fn=child_setup(self.cores),
        )
        if self.cores and os.sched_getaffinity(self.proc.pid) != self.cores:
            raise BenchError(f"{self.name} is not pinned to cores {sorted(self.cores)}")
        # A server that listens before it is ready (``serve`` does) holds the probe in its
        # backlog, behind the clients that came back before it, and answers it in turn: the
        # probe waits for that answer rather than giving up after a second and joining the
        # back of the queue again, which measured the backlog's length, not the server.
        async with httpx.AsyncClient(timeout=httpx.Timeout(within, connect=1.0)) as http:
            while time.monotonic() - started < within:
                if self.proc.returncode is not None:
                    raise BenchError(
                        f"{self.name} exited with {self.proc.returncode}; see {self.log}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return time.monotonic() - started
                await asyncio.sleep(0.01)
        raise BenchError(f"{self.name} did not answer within {within:.0f} s; see {self.log}")

    async def stop(self, within: float = 30.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), within)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def compile_ours() -> None:
    """Our server's modules compiled to bytecode, before any server of the run starts: each
    then starts from it, as an installed server does (pip compiles a wheel's modules), even
    where ``PYTHONDONTWRITEBYTECODE`` keeps the servers from writing it, which would make every
    start, B6's restart among them, compile the package's modules again."""
    for folder in (ROOT / "src", JS):
        if not compileall.compile_dir(folder, quiet=1):
            raise BenchError(f"cannot compile {folder}")


def our_env(database_url: str) -> dict[str, str]:
    """What our server runs with: none of the caller's ``SOURCEVAULT_`` settings but the run's
    database, and the repository root on the path, so that ``-m bench.serve`` imports from
    whichever folder the server works in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCEVAULT_")}
    env["SOURCEVAULT_DATABASE_URL"] = database_url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


def our_server(
    port: int,
    database_url: str,
    cores: frozenset[int],
    cwd: Path,
    log: Path,
    settings: dict[str, str] | None = None,
) -> Server:
    """``settings``: more ``SOURCEVAULT_`` variables (B8's Redis, channel and metrics port)."""
    env = our_env(database_url) | (settings or {})
    # The load generators are one address and a few users standing for thousands of clients:
    # the per-user and per-address socket caps would refuse them, as they would such a crowd.
    env["SOURCEVAULT_SOCKET_MAX_PER_USER"] = env["SOURCEVAULT_SOCKET_MAX_PER_ADDRESS"] = "1000000"
    # B7's socket writers are 8 callers on one socket: the per-connection event rate limit (a
    # guard against one abusive client, 20/s) would measure the guard, not the write path.
    env["SOURCEVAULT_SOCKET_RATE_PER_SECOND"] = env["SOURCEVAULT_SOCKET_RATE_BURST"] = "1000000"
    command = [sys.executable, "-m", SERVE_MODULE, "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    return Server("ours", command, port, cores, log, env=env, cwd=cwd)


def reference_server(
    port: int, cores: frozenset[int], state: Path, log: Path, redis: tuple[str, str] | None = None
) -> Server:
    """``redis``: (URL, key prefix) for the stock Redis adapter (B8's pair)."""
    script = str(JS / "reference-server.js")
    command = [node(), script, "--port", str(port), "--state", str(state)]
    if redis is not None:
        command += ["--redis", redis[0], "--redis-key", redis[1]]
    return Server("reference", command, port, cores, log, cwd=ROOT)


class Loadgen:
    """One ``bench/loadgen.js`` process, driven one JSON line per command."""

    def __init__(self, cores: frozenset[int], log: Path) -> None:
        self.cores = cores
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._log_file: IO[bytes] | None = None

    async def start(self) -> None:
        self._log_file = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            node(),
            str(JS / "loadgen.js"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log_file,
            cwd=ROOT,
            limit=1 << 30,
            preexec_fn=child_setup(self.cores),
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            answer = orjson.loads(line)
            future = self._waiting.pop(answer.get("id"), None)
            if future is not None and not future.done():
                future.set_result(answer)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(BenchError(f"the load generator exited; see {self.log}"))

    async def call(self, cmd: str, within: float = 300.0, **args: Any) -> dict[str, Any]:
        if self.proc is None or self.proc.stdin is None:
            raise BenchError("the load generator is not running")
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        self.proc.stdin.write(orjson.dumps({"id": ident, "cmd": cmd, "args": args}) + b"\n")
        await self.proc.stdin.drain()
        answer = await asyncio.wait_for(future, within)
        if not answer.get("ok"):
            raise BenchError(f"load generator {cmd}: {answer.get('error')}")
        return answer

    async def stop(self) -> None:
        if self.proc is not None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            await self._reader
        if self._log_file is not None:
            self._log_file.close()
        self.proc = None


@contextlib.asynccontextmanager
async def loadgen(cores: frozenset[int], log: Path) -> AsyncIterator[Loadgen]:
    gen = Loadgen(cores, log)
    await gen.start()
    try:
        yield gen
    finally:
        await gen.stop()
