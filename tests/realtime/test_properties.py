"""Properties over random inputs (hypothesis), against one live server:

* room isolation (FR-014): with random memberships and random mutations across several vaults,
  every socket receives exactly the events of the vaults it joined while it was a member, in
  seq order, and nothing else;
* fuzzed payloads: every event gets an ack or is ignored, the connection and the server stay
  healthy, and nothing is written.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sourcevault.audit.models import AuditEvent
from sourcevault.audit.service import list_events
from sourcevault.auth.principal import Principal
from sourcevault.db.base import utcnow
from sourcevault.errors import AppError
from sourcevault.sources import service as sources
from sourcevault.sources.models import Source
from sourcevault.sources.schemas import SourceCreate, SourceUpdate
from sourcevault.vaults import service as vaults
from sourcevault.vaults.roles import Role
from sourcevault.vaults.schemas import MemberAdd, VaultCreate
from tests import factories
from tests.conftest import make_settings
from tests.live import LiveServer, live_server
from tests.realtime.loop_thread import LoopThread
from tests.realtime.sockets import Socket

USERS = 4
VAULTS = 3
ROLES = ["viewer", "contributor", "owner"]


@dataclass
class World:
    loop: LoopThread
    server: LiveServer
    members: list[factories.Member]

    def principal(self, n: int) -> Principal:
        m = self.members[n]
        return Principal(m.id, m.name, m.email, f"session-{n}", utcnow())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[World]:
    path = tmp_path_factory.mktemp("properties") / "sourcevault.db"
    shutil.copy(sqlite_template, path)
    loop = LoopThread()
    stack = contextlib.AsyncExitStack()

    async def up() -> World:
        server = await stack.enter_async_context(
            live_server(make_settings(f"sqlite+aiosqlite:///{path}", socket_rate_burst=10_000))
        )
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=server.url))
        members = [await factories.member(server, client, f"User {n}") for n in range(USERS)]
        for m in members:
            stack.push_async_callback(m.http.aclose)
        return World(loop, server, members)

    made = loop.run(up())
    try:
        yield made
    finally:
        loop.run(stack.aclose())
        loop.close()


# -- room isolation ----------------------------------------------------------------------------

memberships = st.lists(
    st.lists(st.sampled_from([None, *ROLES]), min_size=USERS - 1, max_size=USERS - 1),
    min_size=VAULTS,
    max_size=VAULTS,
)
joins = st.lists(
    st.lists(st.booleans(), min_size=VAULTS, max_size=VAULTS), min_size=USERS, max_size=USERS
)
user = st.integers(0, USERS - 1)
vault = st.integers(0, VAULTS - 1)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), user, vault),
        st.tuples(st.just("update"), user, vault),
        st.tuples(st.just("delete"), user, vault),
        st.tuples(st.just("remove"), user, vault),
        st.tuples(st.just("add"), user, vault, st.sampled_from(ROLES)),
        st.tuples(st.just("role"), user, vault, st.sampled_from(ROLES)),
    ),
    min_size=1,
    max_size=20,
)


async def apply(world: World, vault_ids: list[str], op: tuple[Any, ...]) -> None:
    """One mutation through the service layer; refused ones are part of the plan."""
    ctx = world.server.ctx
    kind, who, v = op[0], op[1], op[2]
    actor, vault_id = world.principal(who), vault_ids[v]
    owner = world.principal(0)
    with contextlib.suppress(AppError):
        if kind == "create":
            await sources.create_source(ctx, actor, vault_id, SourceCreate(title=f"by {who}"))
        elif kind in ("update", "delete"):
            async with ctx.sessionmaker() as session:
                source_id = await session.scalar(
                    select(Source.id).where(Source.vault_id == vault_id).limit(1)
                )
            if source_id is None:
                return
            if kind == "update":
                await sources.update_source(ctx, actor, source_id, SourceUpdate(title="edited"))
            else:
                await sources.delete_source(ctx, actor, source_id)
        elif kind == "remove":
            await vaults.remove_member(ctx, owner, vault_id, world.members[who].id)
        elif kind == "add":
            await vaults.add_member(
                ctx, owner, vault_id, MemberAdd(email=world.members[who].email, role=Role(op[3]))
            )
        else:
            await vaults.update_member(ctx, owner, vault_id, world.members[who].id, Role(op[3]))


async def isolation(
    world: World,
    plan_members: list[list[str | None]],
    plan_joins: list[list[bool]],
    ops: list[tuple[Any, ...]],
) -> None:
    ctx, owner = world.server.ctx, world.principal(0)
    vault_ids = []
    for v, roles in enumerate(plan_members):
        made = await vaults.create_vault(ctx, owner, VaultCreate(name=f"vault {v}"))
        vault_ids.append(made.id)
        for n, role in enumerate(roles, start=1):
            if role is not None:
                await vaults.add_member(
                    ctx, owner, made.id, MemberAdd(email=world.members[n].email, role=Role(role))
                )
    barrier = await vaults.create_vault(ctx, owner, VaultCreate(name="barrier"))
    for m in world.members[1:]:
        await vaults.add_member(ctx, owner, barrier.id, MemberAdd(email=m.email, role=Role.VIEWER))

    sockets = [await Socket(world.server, m.token).connect() for m in world.members]
    try:
        joined_at: list[dict[str, int]] = []
        for n, sock in enumerate(sockets):
            joined_at.append({})
            for v, wanted in enumerate(plan_joins[n]):
                if not wanted:
                    continue
                ack = await sock.call("vault:join", {"vaultId": vault_ids[v]})
                member = n == 0 or plan_members[v][n - 1] is not None
                assert ack["ok"] is member, ack
                if member:
                    joined_at[n][vault_ids[v]] = ack["seq"]
            await sock.join(barrier.id)
        for op in ops:
            await apply(world, vault_ids, op)
        done = await sources.create_source(ctx, owner, barrier.id, SourceCreate(title="barrier"))
        for sock in sockets:
            await sock.wait_for("source:created", lambda e: e["source"]["id"] == done.id)

        async with ctx.sessionmaker() as session:
            logs = {vid: (await list_events(session, vid, 0, 1000))[0] for vid in vault_ids}
        for n, sock in enumerate(sockets):
            for vid in vault_ids:
                expected = []
                if vid in joined_at[n]:
                    for event in logs[vid]:
                        if event["seq"] <= joined_at[n][vid]:
                            continue
                        expected.append(event)
                        removed = event["type"] == "member:removed"
                        if removed and event["member"]["userId"] == world.members[n].id:
                            break  # told, then out of the room: nothing after this
                assert sock.vault_events(vid) == expected, (n, vid)
    finally:
        for sock in sockets:
            await sock.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_members=memberships, plan_joins=joins, ops=operations)
def test_each_socket_hears_exactly_its_joined_vaults_while_a_member(
    world: World,
    plan_members: list[list[str | None]],
    plan_joins: list[list[bool]],
    ops: list[tuple[Any, ...]],
) -> None:
    world.loop.run(isolation(world, plan_members, plan_joins, ops))


# -- fuzzed payloads ---------------------------------------------------------------------------

EVENTS = ["vault:join", "vault:leave", "source:create", "source:update", "source:delete"]
KEYS = ["vaultId", "sourceId", "title", "url", "annotation", "tags", "after", "x"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
payloads = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6),
)
event_names = st.one_of(
    st.sampled_from([*EVENTS, "connect", "disconnect", "message", "*"]), st.text(max_size=20)
)


async def counts(world: World) -> tuple[int, int]:
    async with world.server.ctx.sessionmaker() as session:
        n_sources = await session.scalar(select(func.count()).select_from(Source))
        n_events = await session.scalar(select(func.count()).select_from(AuditEvent))
    return int(n_sources or 0), int(n_events or 0)


async def fuzz(world: World, batch: list[tuple[str, Any, bool]]) -> None:
    ctx = world.server.ctx
    viewer_vault = await vaults.create_vault(ctx, world.principal(0), VaultCreate(name="fuzz"))
    await vaults.add_member(
        ctx,
        world.principal(0),
        viewer_vault.id,
        MemberAdd(email=world.members[1].email, role=Role.VIEWER),
    )
    before = await counts(world)
    sock = await Socket(world.server, world.members[1].token).connect()
    try:
        for name, payload, real_id in batch:
            if real_id and isinstance(payload, dict):
                payload = {**payload, "vaultId": viewer_vault.id}
            answers: list[Any] = []
            await sock.sio.emit(name, payload, callback=lambda *a, into=answers: into.append(a))
            probe = await sock.call("vault:leave", {"vaultId": "probe"})
            assert probe == {"ok": True}  # the connection is alive and answering
            for answer in answers:  # an answer, if any, is an ack in the contract's shape
                ack = answer[0]
                assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool)
                if not ack["ok"]:
                    assert set(ack["error"]) >= {"code", "message"}
            assert sock.sio.connected
        async with httpx.AsyncClient(base_url=world.server.url) as http:
            assert (await http.get("/healthz")).status_code == 200
        assert await counts(world) == before  # a viewer's fuzz writes nothing
    finally:
        await sock.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(st.tuples(event_names, payloads, st.booleans()), min_size=1, max_size=10))
def test_fuzzed_socket_payloads_never_hurt_the_connection_or_write(
    world: World, batch: list[tuple[str, Any, bool]]
) -> None:
    world.loop.run(fuzz(world, batch))
