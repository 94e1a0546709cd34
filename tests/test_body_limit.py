"""Request bodies are limited while they are read: a body over the limit, declared or chunked,
is refused with 413 in the contract's body as soon as it passes the limit, and the server's
memory stays flat however much is sent."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, Request

from sourcevault.body_limit import allow_body
from tests import checks, factories
from tests.client.procs import ServerProcess
from tests.live import LiveServer

LIMIT = 1024 * 1024  # the default
MIB = 1024 * 1024


@pytest.fixture
def backend() -> str:
    return "sqlite"  # where the body goes does not depend on the database


async def chunked(
    port: int, path: str, total: int, headers: dict[str, str] | None = None
) -> tuple[int, bytes, int]:
    """POST ``total`` bytes of an unfinished JSON string with chunked encoding; returns the
    status, the body of the answer, and how many bytes were sent before it came."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    writer.write(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
    chunk = b'{"email": "' + b"a" * (64 * 1024 - 11)
    sent = 0
    answered = asyncio.Event()

    async def send() -> None:
        nonlocal sent
        with contextlib.suppress(ConnectionError):
            while sent < total and not answered.is_set():
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
                sent += len(chunk)
                # drain() does not yield while the server keeps up: let the reader see the
                # answer as soon as it comes, as a client that reads while it sends would.
                await asyncio.sleep(0)

    sender = asyncio.create_task(send())
    try:
        status_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), 60)
        answered.set()
        response_head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":", 1)[1]
                for line in response_head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        body = await reader.readexactly(length)
        return int(status_line.split()[1]), body, sent
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def refused_as_too_large(status: int, body: bytes) -> None:
    checks.error(httpx.Response(status, content=body), 413, "PAYLOAD_TOO_LARGE")


async def test_a_chunked_flood_is_refused_early_and_memory_stays_flat(
    database_url: str, tmp_path: Path
) -> None:
    server = ServerProcess(database_url, tmp_path)
    await server.start()
    try:
        assert server.proc is not None
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            user = await factories.register(http)
            token = await factories.token_for(http, user["email"])
            vault = (
                await http.post(
                    "/api/vaults",
                    json={"name": "v"},
                    headers={"Authorization": f"Bearer {token}"},
                )
            ).json()["vault"]
        before = peak_rss_kb(server.proc.pid)
        for path, headers in (
            ("/api/auth/login", {}),  # no sign-in needed
            (f"/api/vaults/{vault['id']}/sources", {"Authorization": f"Bearer {token}"}),
        ):
            status, body, sent = await chunked(server.port, path, 200 * MIB, headers)
            refused_as_too_large(status, body)
            assert sent < 50 * MIB, f"{sent} bytes went in before the answer"
        grown_kb = peak_rss_kb(server.proc.pid) - before
        assert grown_kb < 16 * 1024, f"the server's peak memory grew by {grown_kb} KB"
    finally:
        await server.stop()


async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    server: LiveServer,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(
            b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (LIMIT + 1)
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)
        assert status_line.split()[1] == b"413"
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"application/json" in head.lower()
    finally:
        writer.close()


async def test_a_body_at_the_limit_is_read_and_one_byte_over_is_not(
    client: httpx.AsyncClient,
) -> None:
    at_limit = b'{"email": "' + b"a" * (LIMIT - 13) + b'"}'
    assert len(at_limit) == LIMIT
    read = await client.post("/api/auth/login", content=at_limit, headers=JSON)
    checks.error(read, 422, "VALIDATION_ERROR")  # parsed, and found wanting
    over = await client.post("/api/auth/login", content=at_limit + b" ", headers=JSON)
    checks.error(over, 413, "PAYLOAD_TOO_LARGE")
    # The polling transport of Socket.IO reads its own bodies: limited all the same.
    polled = await client.post(
        "/socket.io/", params={"EIO": "4", "transport": "polling"}, content=at_limit + b" "
    )
    checks.error(polled, 413, "PAYLOAD_TOO_LARGE")


JSON = {"Content-Type": "application/json"}


async def test_a_route_that_takes_files_declares_its_own_larger_limit(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    async def upload(request: Request) -> dict[str, int]:
        size = 0
        async for part in request.stream():
            size += len(part)
        return {"size": size}

    server.app.add_api_route(
        "/test-upload", upload, methods=["POST"], dependencies=[Depends(allow_body(3 * MIB))]
    )
    taken = await client.post("/test-upload", content=b"x" * (2 * MIB))
    assert taken.status_code == 200 and taken.json() == {"size": 2 * MIB}
    checks.error(
        await client.post("/test-upload", content=b"x" * (3 * MIB + 1)), 413, "PAYLOAD_TOO_LARGE"
    )
