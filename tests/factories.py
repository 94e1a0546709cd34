"""Small functions that make users, vaults and sources through the real REST API."""

from __future__ import annotations

import functools
import itertools
import ssl
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.live import LiveServer

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@dataclass
class Member:
    """A registered user with a bearer-token client of their own."""

    id: str
    email: str
    name: str
    token: str
    http: httpx.AsyncClient

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
) -> dict[str, Any]:
    n = next(_counter)
    email = email or f"user{n}-{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post(
        "/api/auth/register",
        json={"email": email, "name": name or f"User {n}", "password": password},
    )
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()["user"]
    return user


async def token_for(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


_password_hash: str | None = None


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every test client: building one loads the CA bundle (~50 ms), and
    these clients only ever talk plain HTTP to 127.0.0.1."""
    return ssl.create_default_context()


async def member(server: LiveServer, client: httpx.AsyncClient, name: str | None = None) -> Member:
    """A user who can log in with PASSWORD, and a client holding a fresh token of theirs.

    Made through the service layer with one Argon2 hash reused, so that setting up a team does
    not spend most of a test's time hashing (registration itself is tested over REST)."""
    global _password_hash
    from sourcevault.auth.models import User
    from sourcevault.auth.passwords import hash_password
    from sourcevault.auth.service import open_session
    from sourcevault.db.base import new_id
    from sourcevault.db.engine import write_session

    if _password_hash is None:
        _password_hash = await hash_password(PASSWORD)
    n = next(_counter)
    user = User(
        id=new_id(),
        email=f"user{n}-{uuid.uuid4().hex[:8]}@example.com",
        name=name or f"User {n}",
        password_hash=_password_hash,
    )
    async with write_session(server.ctx.sessionmaker) as session:
        session.add(user)
    token, _principal = await open_session(server.ctx, user, "token")
    http = httpx.AsyncClient(
        base_url=server.url,
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
        verify=tls_context(),
        # Idle connections are dropped well before uvicorn's keep-alive (5 s) closes them: at
        # 5 s each, a request could go out on a connection the server was closing (ReadError).
        limits=httpx.Limits(keepalive_expiry=2.0),
    )
    return Member(user.id, user.email, user.name, token, http)


async def vault(owner: Member, name: str = "Reading list", **fields: Any) -> dict[str, Any]:
    response = await owner.http.post("/api/vaults", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["vault"]
    return created


async def add(owner: Member, vault_id: str, who: Member, role: str) -> dict[str, Any]:
    response = await owner.http.post(
        f"/api/vaults/{vault_id}/members", json={"email": who.email, "role": role}
    )
    assert response.status_code == 201, response.text
    added: dict[str, Any] = response.json()["member"]
    return added


async def source(author: Member, vault_id: str, **fields: Any) -> dict[str, Any]:
    body = {"title": f"Source {next(_counter)}", **fields}
    response = await author.http.post(f"/api/vaults/{vault_id}/sources", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["source"]
    return created


@dataclass
class Team:
    """One vault with an owner, a contributor and a viewer, and an outsider who is in none."""

    owner: Member
    contributor: Member
    viewer: Member
    outsider: Member
    vault: dict[str, Any]

    @property
    def vault_id(self) -> str:
        return str(self.vault["id"])

    def by_role(self, role: str) -> Member:
        return {
            "owner": self.owner,
            "contributor": self.contributor,
            "viewer": self.viewer,
            "outsider": self.outsider,
        }[role]

    async def close(self) -> None:
        for m in (self.owner, self.contributor, self.viewer, self.outsider):
            await m.http.aclose()


async def team(server: LiveServer, client: httpx.AsyncClient) -> Team:
    owner = await member(server, client, "Olive Owner")
    contributor = await member(server, client, "Carl Contributor")
    viewer = await member(server, client, "Vera Viewer")
    outsider = await member(server, client, "Otto Outsider")
    v = await vault(owner)
    await add(owner, v["id"], contributor, "contributor")
    await add(owner, v["id"], viewer, "viewer")
    return Team(owner, contributor, viewer, outsider, v)
