from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import httpx
import pytest

from tests import factories
from tests.multi import cluster
from tests.multi.cluster import Instance
from tests.realtime.sockets import Socket

OpenSocket = Callable[..., Coroutine[Any, Any, Socket]]


@pytest.fixture(scope="session")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Instance]]:
    """Instances A and B: two ``sourcevault serve`` processes on one fresh PostgreSQL
    database and one Redis channel, shared by the tests that do not stop either."""
    cluster.require()
    with cluster.cluster(tmp_path_factory.mktemp("pair")) as instances:
        yield instances


async def rest_member(url: str, name: str) -> factories.Member:
    """A user registered over REST on ``url``, with a bearer client of their own there."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        user = await factories.register(client, name=name)
        token = await factories.token_for(client, user["email"])
    http = httpx.AsyncClient(base_url=url, timeout=10, headers={"Authorization": f"Bearer {token}"})
    return factories.Member(user["id"], user["email"], user["name"], token, http)


async def rest_team(url: str) -> factories.Team:
    """The team of tests/factories.py, made entirely over REST on ``url``."""
    owner = await rest_member(url, "Olive Owner")
    contributor = await rest_member(url, "Carl Contributor")
    viewer = await rest_member(url, "Vera Viewer")
    outsider = await rest_member(url, "Otto Outsider")
    vault = await factories.vault(owner)
    await factories.add(owner, vault["id"], contributor, "contributor")
    await factories.add(owner, vault["id"], viewer, "viewer")
    return factories.Team(owner, contributor, viewer, outsider, vault)


@pytest.fixture
async def team(pair: list[Instance]) -> AsyncIterator[factories.Team]:
    """A team whose REST clients talk to instance A."""
    made = await rest_team(pair[0].url)
    yield made
    await made.close()


@pytest.fixture
async def open_socket() -> AsyncIterator[OpenSocket]:
    """``await open_socket(instance, token)``: a connected socket, closed after the test."""
    opened: list[Socket] = []

    async def open_(instance: Instance, token: str) -> Socket:
        sock = Socket(instance.url, token)
        opened.append(sock)
        return await sock.connect()

    yield open_
    for sock in opened:
        await sock.close()
