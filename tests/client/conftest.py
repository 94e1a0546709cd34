"""Fixtures for the client's tests: a database migrated by ``sourcevault db upgrade``, server
processes and proxies that are always cleaned up, and clients that record what they report."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from sourcevault.client import Client
from tests.client.procs import SOURCEVAULT, ServerProcess, TcpProxy, server_env
from tests.client.recording import Watched


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("migrated")
    path = folder / "template.db"
    subprocess.run(
        [SOURCEVAULT, "db", "upgrade"],
        env=server_env(f"sqlite+aiosqlite:///{path}"),
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path


@pytest.fixture
def process_db(migrated_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite file for this test's server processes."""
    path = tmp_path / "sourcevault.db"
    shutil.copy(migrated_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def spawn(
    process_db: str, tmp_path: Path
) -> AsyncIterator[Callable[..., Coroutine[Any, Any, ServerProcess]]]:
    """``await spawn(*args, **settings)``: a started ``sourcevault serve *args`` process on the
    test's database, with ``SOURCEVAULT_<KEY>`` set for each setting."""
    started: list[ServerProcess] = []

    async def spawn_(*args: str, **settings: str) -> ServerProcess:
        proc = ServerProcess(process_db, tmp_path, *args, **settings)
        started.append(proc)
        await proc.start()
        return proc

    yield spawn_
    for proc in started:
        await proc.kill()


@pytest.fixture
async def proxy() -> AsyncIterator[Callable[[int], Coroutine[Any, Any, TcpProxy]]]:
    made: list[TcpProxy] = []

    async def proxy_(port: int) -> TcpProxy:
        p = TcpProxy(port)
        made.append(p)
        await p.start()
        return p

    yield proxy_
    for p in made:
        await p.close()


@pytest.fixture
async def watched() -> AsyncIterator[Callable[..., Coroutine[Any, Any, Watched]]]:
    """``await watched(url, token)``: a connected client whose updates are recorded."""
    opened: list[Watched] = []

    async def open_(url: str, token: str) -> Watched:
        client = Client(url, token)
        await client.connect()
        w = Watched(client)
        opened.append(w)
        return w

    yield open_
    for w in opened:
        await w.close()
