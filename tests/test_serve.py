"""``sourcevault serve`` listens before it starts: a client that connects while the server is
still starting (as every client does when it comes back after a restart) is held by the kernel
and answered once the app is up, not refused into its reconnect backoff. It starts without
Python's cycle collector, and turns it back on once the app is built. Stopped, it finishes a
request in flight and exits as soon as its connections are gone."""

from __future__ import annotations

import gc
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sourcevault import cli
from tests.client.procs import server_env
from tests.multi.cluster import SOURCEVAULT, STARTUP, free_port


@pytest.fixture
def backend() -> str:
    return "sqlite"


def start_serve(database_url: str, cwd: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(SOURCEVAULT), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env(database_url),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


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
    log = tmp_path / "serve.log"
    port = free_port()
    proc = start_serve(database_url, tmp_path, port, log)
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


# What a server on SQLite never needs until a request does: the import formats' parsers and
# SQLAlchemy's PostgreSQL dialect (the transfer and search suites show both still work).
_LOADED_ON_USE = ("rispy", "bibtexparser", "pylatexenc", "sqlalchemy.dialects.postgresql")


def test_a_server_on_sqlite_builds_its_app_without_the_parsers_or_the_postgresql_dialect(
    database_url: str,
) -> None:
    script = (
        "import sys\n"
        "from sourcevault import cli\n"
        "from sourcevault.config import get_settings\n"
        "cli.build_app(get_settings())\n"
        f"print(sorted(n for n in sys.modules if n.startswith({_LOADED_ON_USE!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=server_env(database_url),
        capture_output=True,
        text=True,
        timeout=STARTUP,
        check=True,
    )
    assert out.stdout.strip() == "[]", out.stdout


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


def until_logged(proc: subprocess.Popen[bytes], log: Path, text: str) -> None:
    """Until a line of ``log`` contains ``text`` (the log is a file: polled)."""
    deadline = time.monotonic() + STARTUP
    while text not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in the log:\n{log.read_text()}")
        time.sleep(0.01)


def test_a_stopping_serve_finishes_a_request_in_flight_then_exits(
    database_url: str, tmp_path: Path
) -> None:
    """SIGTERM while a request's body is still arriving: serve stops accepting, waits for that
    connection, answers the request once its body is in, and exits as soon as the connection is
    gone (well before its 10 s graceful-shutdown limit)."""
    log = tmp_path / "serve.log"
    port = free_port()
    proc = start_serve(database_url, tmp_path, port, log)
    body = b'{"email": "nobody@example.com", "password": "not the password"}'
    try:
        with connect_when_listening(port, proc) as sock:
            sock.sendall(
                b"POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
            )
            # Sent once the endpoint asks for the body: the request is in flight.
            assert sock.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
            proc.send_signal(signal.SIGTERM)
            until_logged(proc, log, "Waiting for connections to close")
            assert proc.poll() is None
            sock.sendall(body)
            response = read_all(sock)
        assert response.startswith(b"HTTP/1.1 401"), response
        assert b"connection: close" in response.lower()
        # uvicorn ends by raising the signal it caught again, as the process's own exit.
        assert proc.wait(5) in (0, -signal.SIGTERM), log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(STARTUP)
