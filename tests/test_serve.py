"""``sourcevault serve`` listens before it starts: a client that connects while the server is
still starting (as every client does when it comes back after a restart) is held by the kernel
and answered once the app is up, not refused into its reconnect backoff. It starts without
Python's cycle collector, and turns it back on once the app is built."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from sourcevault import cli
from tests.multi.cluster import SOURCEVAULT, STARTUP, free_port


@pytest.fixture
def backend() -> str:
    return "sqlite"


def connect_when_listening(port: int, proc: subprocess.Popen[bytes]) -> socket.socket:
    """The first TCP connection the port accepts (a refused one is retried at once)."""
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited with {proc.returncode}")
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=STARTUP)
        except ConnectionRefusedError:
            time.sleep(0.002)
    raise RuntimeError(f"nothing listened on {port} within {STARTUP} s")


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_client_connecting_while_serve_starts_is_held_then_answered(
    database_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCEVAULT_")}
    env["SOURCEVAULT_DATABASE_URL"] = database_url
    log = tmp_path / "serve.log"
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(SOURCEVAULT), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with connect_when_listening(port, proc) as sock:
            started = "Application startup complete" in log.read_text()
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            response = read_all(sock)
        assert not started  # connected while the app was still starting
        assert response.startswith(b"HTTP/1.1 200"), response
        assert response.endswith(b'{"status":"ok"}')
        # python-socketio's client side (aiohttp, whose compiled modules would be mapped into
        # the process, and requests) was kept out of the server's start.
        mapped = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "aiohttp" not in mapped and "multidict" not in mapped
    finally:
        proc.terminate()
        proc.wait(STARTUP)


def test_the_collector_serve_turns_off_for_its_start_is_back_on_when_it_serves() -> None:
    """``serve`` starts without the cycle collector; ``_tune_gc``, run once the app is built,
    turns it back on (a server left without it would never free cyclic garbage), with what
    start-up made frozen out of its sight and full collections made rarer."""
    threshold = gc.get_threshold()
    frozen = gc.get_freeze_count()
    gc.disable()
    try:
        made_at_start = [[] for _ in range(1000)]
        cli._tune_gc()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(made_at_start)
        assert gc.get_threshold()[2] == 1000
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        gc.enable()
