"""Real processes for the multi-instance tests: ``sourcevault serve`` instances sharing a fresh
PostgreSQL database and a Redis, a Redis server of the test's own (to stop and restart), and
nginx in front, configured from the repository's deploy/nginx.conf."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sourcevault.db.migrate import upgrade
from tests import services

ROOT = Path(__file__).resolve().parents[2]
SOURCEVAULT = Path(sys.executable).parent / "sourcevault"
STARTUP = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def require(pg: bool = True, redis: bool = True) -> None:
    """Skip (fail under CI=true) unless the services these tests run against are there."""
    if pg and not services.pg_available():
        services.missing("PostgreSQL on 127.0.0.1:5432")
    if redis and not services.redis_available():
        services.missing("Redis on 127.0.0.1:6379")


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new, migrated PostgreSQL database, dropped afterwards; yields its URL."""
    name = f"sourcevault_multi_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(services.pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = services.pg_url(name)
        upgrade(url)
        yield url
    finally:
        asyncio.run(services.pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Instance:
    """One ``sourcevault serve`` process. Its log (JSON lines, since stderr is a file) is kept
    in ``log``."""

    name: str
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> Instance:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(SOURCEVAULT), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env={**self.env, "SOURCEVAULT_METRICS_BIND": f"127.0.0.1:{self.metrics_port}"},
                cwd=self.workdir,  # no stray .env file is read
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP
        with httpx.Client(timeout=2) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.url}/readyz").status_code == 200:
                        return self
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready in {STARTUP} s:\n{self.log.read_text()}")

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        self.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def lines(self) -> list[dict[str, Any]]:
        """The log, parsed; a line that is not JSON is a failure of the log format."""
        text = self.log.read_text() if self.log.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def errors(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["level"] in ("error", "critical")]


def instance_env(database_url: str, redis_url: str, channel: str, **extra: str) -> dict[str, str]:
    env = services.inherited_env()
    env.update(
        SOURCEVAULT_DATABASE_URL=database_url,
        SOURCEVAULT_REDIS_URL=redis_url,
        SOURCEVAULT_REDIS_CHANNEL=channel,
        # As deploy/nginx.conf is run: nginx on the instances' host, its forwarding believed.
        SOURCEVAULT_TRUSTED_PROXIES="127.0.0.1",
        **{f"SOURCEVAULT_{k.upper()}": v for k, v in extra.items()},
    )
    return env


@contextlib.contextmanager
def cluster(
    workdir: Path,
    redis_url: str = services.REDIS_URL,
    count: int = 2,
    quiet: bool = True,
    **settings: str,
) -> Iterator[list[Instance]]:
    """``count`` instances on one fresh database and one Redis channel of their own. With
    ``quiet``, an error logged by any of them fails the test that used them."""
    with fresh_database() as database_url:
        env = instance_env(
            database_url, redis_url, f"sourcevault-test-{uuid.uuid4().hex}", **settings
        )
        instances = [Instance(chr(ord("a") + i), env, workdir) for i in range(count)]
        try:
            for instance in instances:
                instance.start()
            yield instances
        finally:
            for instance in instances:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    instance.stop()
        if quiet:
            errors = [line for instance in instances for line in instance.errors()]
            assert errors == [], f"the instances logged errors: {errors}"


class RedisServer:
    """A Redis of the test's own on a free port, to stop and start again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.binary is not None
        with (self.workdir / "redis.log").open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """``redis-cli shutdown nosave``: Redis closes every connection and exits."""
        if self.proc is None or self.proc.poll() is not None:
            return
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
            capture_output=True,
            check=False,
            timeout=10,
        )
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


class Nginx:
    """nginx in front of the instances, with the repository's deploy/nginx.conf (its upstream
    addresses and listen port swapped for the test's) inside a minimal main configuration."""

    def __init__(self, workdir: Path, upstreams: list[Instance]) -> None:
        self.binary = nginx_binary()
        self.port = free_port()
        self.dir = workdir / "nginx"
        self.upstreams = upstreams
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _site(self) -> str:
        site = (ROOT / "deploy" / "nginx.conf").read_text()
        swaps = {"listen 80;": f"listen 127.0.0.1:{self.port};"}
        for i, instance in enumerate(self.upstreams):
            swaps[f"server 127.0.0.1:{8001 + i} "] = f"server 127.0.0.1:{instance.port} "
        for old, new in swaps.items():
            assert site.count(old) == 1, f"deploy/nginx.conf should have {old!r} once"
            site = site.replace(old, new)
        return site

    def start(self) -> None:
        assert self.binary is not None
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "site.conf").write_text(self._site())
        temp = " ".join(
            f"{kind}_temp_path {self.dir / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (self.dir / "nginx.conf").write_text(
            f"""
daemon off;
master_process off;
pid {self.dir / "nginx.pid"};
error_log {self.dir / "error.log"} info;
events {{ worker_connections 1024; }}
http {{
    access_log {self.dir / "access.log"};
    {temp}
    include {self.dir / "site.conf"};
}}
"""
        )
        with (self.dir / "stderr.log").open("ab") as err:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "-p",
                    str(self.dir),
                    "-c",
                    str(self.dir / "nginx.conf"),
                    "-e",
                    "stderr",
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + 10
        with httpx.Client(timeout=2) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError((self.dir / "stderr.log").read_text())
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.url}/healthz").status_code == 200:
                        return
                time.sleep(0.02)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def until_status(url: str, status: int, timeout: float = 15.0) -> httpx.Response:
    """Poll ``url`` until it answers ``status`` (another process's state cannot be awaited)."""
    async with httpx.AsyncClient(timeout=2) as http, asyncio.timeout(timeout):
        while True:
            with contextlib.suppress(httpx.HTTPError):
                response = await http.get(url)
                if response.status_code == status:
                    return response
            await asyncio.sleep(0.05)


async def until_logged(instance: Instance, needle: str, timeout: float = 15.0) -> dict[str, Any]:
    """The first log line of ``instance`` whose message contains ``needle``."""
    return await until_line(instance, lambda line: needle in line["message"], timeout)


async def until_line(
    instance: Instance, match: Callable[[dict[str, Any]], bool], timeout: float = 15.0
) -> dict[str, Any]:
    """The first log line of ``instance`` that ``match`` accepts (the log is a file: polled)."""
    async with asyncio.timeout(timeout):
        while True:
            for line in instance.lines():
                if match(line):
                    return line
            await asyncio.sleep(0.05)


async def sockets_on(instance: Instance) -> int:
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(instance.metrics_url)).text
    for family in text_string_to_metric_families(text):
        if family.name == "sourcevault_sockets_connected":
            return int(family.samples[0].value)
    raise AssertionError("no sourcevault_sockets_connected")
