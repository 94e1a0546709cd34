"""A client we did not write: the stock socket.io-client 4.x under Node connects by cookie,
is refused with UNAUTHORIZED, joins, receives the event payload and sees a viewer's refusal."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import factories, services
from tests.factories import PASSWORD, Team
from tests.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("node_client.js")

pytestmark = pytest.mark.node


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def node() -> str:
    binary = shutil.which("node")
    if binary is None or not (ROOT / "node_modules" / "socket.io-client").is_dir():
        services.missing("Node.js with the npm packages (make install)")
    assert binary is not None
    return binary


class NodeClient:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []

    async def next(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            assert self.proc.stdout is not None
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise AssertionError(f"node exited before {kind}: {self.lines}")
                line = json.loads(raw)
                self.lines.append(line)
                if line["type"] == kind:
                    return dict(line)

        return await asyncio.wait_for(read(), timeout)


@pytest.fixture
async def run_node(node: str) -> AsyncIterator[Any]:
    procs: list[asyncio.subprocess.Process] = []

    async def start(**opts: Any) -> NodeClient:
        proc = await asyncio.create_subprocess_exec(
            node,
            str(SCRIPT),
            json.dumps(opts),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        procs.append(proc)
        return NodeClient(proc)

    yield start
    for proc in procs:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def test_a_refused_node_client_sees_unauthorized(server: LiveServer, run_node: Any) -> None:
    client = await run_node(url=server.url, auth={"token": "wrong"})
    refused = await client.next("connect_error")
    assert refused["message"] == "UNAUTHORIZED"
    assert refused["data"]["code"] == "UNAUTHORIZED"


async def test_a_node_client_connects_by_cookie_joins_and_receives_the_event(
    server: LiveServer, client: httpx.AsyncClient, team: Team, run_node: Any
) -> None:
    login = await client.post(
        "/api/auth/login", json={"email": team.viewer.email, "password": PASSWORD}
    )
    cookie = f"sourcevault_session={login.cookies['sourcevault_session']}"
    node = await run_node(url=server.url, cookie=cookie, join=team.vault_id)
    ack = await node.next("ack")
    assert ack["ack"] == {
        "ok": True,
        "vaultId": team.vault_id,
        "role": "viewer",
        "seq": 2,
        "missed": [],
        "hasMore": False,
        "presence": [
            {
                "userId": team.viewer.id,
                "userName": "Vera Viewer",
                "role": "viewer",
                "since": ack["ack"]["presence"][0]["since"],
            }
        ],
    }
    await node.next("ready")
    created = await factories.source(team.owner, team.vault_id, url="https://example.org/x")
    while (event := await node.next("event"))["name"] != "source:created":
        pass
    assert event["data"]["source"] == created
    assert event["data"]["actor"] == {
        "userId": team.owner.id,
        "userName": "Olive Owner",
        "role": "owner",
    }


async def test_a_node_viewer_is_refused_insufficient_permissions(
    server: LiveServer, team: Team, run_node: Any
) -> None:
    node = await run_node(
        url=server.url,
        auth={"token": team.viewer.token},
        transports=["websocket"],
        emit={"event": "source:create", "data": {"vaultId": team.vault_id, "title": "no"}},
    )
    ack = await node.next("ack")
    assert ack["ack"] == {
        "ok": False,
        "error": {"code": "INSUFFICIENT_PERMISSIONS", "message": "Insufficient permissions"},
    }
