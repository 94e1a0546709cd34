"""The users, tokens and vaults a scenario needs, made the same in both servers.

Ours gets them written straight into its fresh database before it starts (thousands of users
through the REST API would time the password hash, not the server); the reference gets the
same ids and tokens through its ``/bench/seed`` route. Every connection is a distinct user
with a token session of its own, a viewer of its vault; each vault's owner makes the REST
creations. A vault may start with sources already in it (the web app's long vault), written
the same way, without events: its ``seq`` stays 0.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from sourcevault.auth.models import AuthSession, User
from sourcevault.auth.passwords import hash_password
from sourcevault.auth.service import hash_token
from sourcevault.db.base import new_id, utcnow
from sourcevault.db.engine import build_engine
from sourcevault.sources.models import Source
from sourcevault.vaults.models import Membership, Vault
from sourcevault.vaults.roles import Role


@dataclass(frozen=True)
class BenchUser:
    id: str
    name: str
    email: str
    token: str


@dataclass(frozen=True)
class BenchVault:
    id: str
    name: str
    owner: BenchUser
    watchers: tuple[BenchUser, ...]
    sources: int = 0  # written into our database before the server starts


@dataclass(frozen=True)
class World:
    vaults: tuple[BenchVault, ...]

    @property
    def users(self) -> list[BenchUser]:
        """Each user once, though one may be in several vaults."""
        return list(dict.fromkeys(u for v in self.vaults for u in (v.owner, *v.watchers)))

    def clients(self) -> list[dict[str, Any]]:
        """The load generator's view: one connection per watcher, joined to its vault."""
        return [{"token": w.token, "vaults": [v.id]} for v in self.vaults for w in v.watchers]

    def reference_seed(self) -> dict[str, Any]:
        return {
            "users": [{"id": u.id, "name": u.name, "token": u.token} for u in self.users],
            "vaults": [
                {
                    "id": v.id,
                    "name": v.name,
                    "members": [{"userId": v.owner.id, "role": Role.OWNER.value}]
                    + [{"userId": w.id, "role": Role.VIEWER.value} for w in v.watchers],
                }
                for v in self.vaults
            ],
        }


def _user(tag: str, n: int) -> BenchUser:
    user_id = new_id()
    return BenchUser(
        id=user_id,
        name=f"Bench {tag} {n}",
        email=f"bench-{tag}-{n}-{user_id[-8:]}@example.com".lower(),
        token=secrets.token_urlsafe(32),
    )


def make_world(tag: str, vaults: int, watchers_per_vault: int) -> World:
    made = []
    n = 0
    for i in range(vaults):
        owner = _user(tag, n)
        n += 1
        watchers = []
        for _ in range(watchers_per_vault):
            watchers.append(_user(tag, n))
            n += 1
        made.append(BenchVault(new_id(), f"Bench {tag} vault {i}", owner, tuple(watchers)))
    return World(tuple(made))


def merge(*worlds: World) -> World:
    return World(tuple(v for w in worlds for v in w.vaults))


TAGS = ("method", "survey", "dataset", "theory", "replication", "review")


def source_title(n: int) -> str:
    """The title of a vault's n-th seeded source (0 is the oldest)."""
    return f"Bench source {n:05d}"


def _sources(vault: BenchVault, now: datetime) -> list[dict[str, Any]]:
    """The vault's seeded sources, by its owner, one millisecond apart, the newest now."""
    return [
        {
            "id": new_id(),
            "vault_id": vault.id,
            "title": source_title(n),
            "url": f"https://example.org/papers/{n}",
            "annotation": "Read for the benchmark." if n % 3 == 0 else None,
            "tags": sorted({TAGS[n % len(TAGS)], TAGS[n // len(TAGS) % len(TAGS)]})
            if n % 4
            else [],
            "version": 1,
            "created_by_id": vault.owner.id,
            "created_by_name": vault.owner.name,
            "created_at": (at := now - timedelta(milliseconds=vault.sources - n)),
            "updated_at": at,
        }
        for n in range(vault.sources)
    ]


async def seed_database(database_url: str, world: World) -> None:
    """Write the world's users, token sessions, vaults, memberships and sources in one
    transaction."""
    password_hash = await hash_password(secrets.token_urlsafe(16))  # nobody logs in with it
    now = utcnow()
    expires = now + timedelta(days=1)
    users = world.users
    engine = build_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(User),
                [
                    {
                        "id": u.id,
                        "email": u.email,
                        "name": u.name,
                        "password_hash": password_hash,
                        "created_at": now,
                    }
                    for u in users
                ],
            )
            await conn.execute(
                insert(AuthSession),
                [
                    {
                        "id": new_id(),
                        "user_id": u.id,
                        "token_hash": hash_token(u.token),
                        "kind": "token",
                        "created_at": now,
                        "expires_at": expires,
                    }
                    for u in users
                ],
            )
            await conn.execute(
                insert(Vault),
                [
                    {"id": v.id, "name": v.name, "seq": 0, "created_at": now, "updated_at": now}
                    for v in world.vaults
                ],
            )
            await conn.execute(
                insert(Membership),
                [
                    {"vault_id": v.id, "user_id": u.id, "role": role.value, "joined_at": now}
                    for v in world.vaults
                    for u, role in [(v.owner, Role.OWNER), *((w, Role.VIEWER) for w in v.watchers)]
                ],
            )
            sources = [s for v in world.vaults for s in _sources(v, now)]
            if sources:
                await conn.execute(insert(Source), sources)
    finally:
        await engine.dispose()
