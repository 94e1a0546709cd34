"""Accounts and database sessions: the port of the original app's NextAuth.js sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError

from sourcevault.auth.models import AuthSession, User
from sourcevault.auth.passwords import hash_password, verify_password
from sourcevault.auth.principal import Principal
from sourcevault.auth.schemas import LoginIn, RegisterIn, UserOut
from sourcevault.context import Context
from sourcevault.db.base import utcnow
from sourcevault.db.engine import write_session
from sourcevault.errors import Conflict, Unauthorized
from sourcevault.events import Outbox, deliver, session_expired

INVALID_LOGIN = "Invalid email or password"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name)


async def register(ctx: Context, data: RegisterIn) -> UserOut:
    password_hash = await hash_password(data.password)
    try:
        async with write_session(ctx.sessionmaker) as session:
            if await session.scalar(select(User.id).where(User.email == data.email)):
                raise Conflict("That email is already registered")
            user = User(email=data.email, name=data.name, password_hash=password_hash)
            session.add(user)
    except IntegrityError:  # a concurrent registration of the same email won the race
        raise Conflict("That email is already registered") from None
    return user_out(user)


async def login(ctx: Context, data: LoginIn, kind: str, address: str) -> tuple[str, Principal]:
    """Check the password and open a session; returns the secret (shown once) and the caller.

    ``address`` is the client's, for the throttle (``auth/throttle.py``)."""
    ctx.throttle.check(data.email, address)
    async with ctx.sessionmaker() as session:
        user = await session.scalar(select(User).where(User.email == data.email))
    if not await verify_password(user.password_hash if user else None, data.password):
        ctx.throttle.failed(data.email, address)
        raise Unauthorized(INVALID_LOGIN)
    assert user is not None
    ctx.throttle.succeeded(data.email, address)
    return await open_session(ctx, user, kind)


async def open_session(ctx: Context, user: User, kind: str) -> tuple[str, Principal]:
    token = secrets.token_urlsafe(32)  # 256 random bits
    expires_at = utcnow() + timedelta(seconds=ctx.settings.session_max_age)
    async with write_session(ctx.sessionmaker) as session:
        row = AuthSession(
            user_id=user.id, token_hash=hash_token(token), kind=kind, expires_at=expires_at
        )
        session.add(row)
    return token, Principal(user.id, user.name, user.email, row.id, expires_at)


# The token lookup runs at every REST request and every socket connection. Built once, as a
# Core statement: SQLAlchemy finds it in its compiled cache without building the expression
# again, and the row comes back as plain values, no ORM objects to load and throw away.
_SESSIONS = AuthSession.__table__
_USERS = User.__table__
_RESOLVE = (
    select(_USERS.c.id, _USERS.c.name, _USERS.c.email, _SESSIONS.c.id, _SESSIONS.c.expires_at)
    .select_from(_SESSIONS.join(_USERS, _USERS.c.id == _SESSIONS.c.user_id))
    .where(_SESSIONS.c.token_hash == bindparam("token_hash"))
)


async def resolve(ctx: Context, token: str | None) -> Principal | None:
    """The caller behind a secret, if its session exists and has not expired.

    One statement, run by ``ctx.lookups`` (no ORM session, and on SQLite no transaction
    around it: a single SELECT reads one snapshot by itself)."""
    if not token or len(token) > 256:
        return None
    row = await ctx.lookups.first_row(_RESOLVE, {"token_hash": hash_token(token)})
    if row is None:
        return None
    user_id, name, email, session_id, expires_at = row
    if expires_at <= utcnow():
        return None
    return Principal(user_id, name, email, session_id, expires_at)


async def logout(ctx: Context, principal: Principal) -> None:
    """Revoke the session; its sockets, wherever they are, are told and disconnected."""
    async with write_session(ctx.sessionmaker) as session:
        await session.execute(delete(AuthSession).where(AuthSession.id == principal.session_id))
    await deliver(
        ctx.broadcaster, Outbox(notices=[session_expired(principal.session_id, "logged_out")])
    )


async def prune_expired(ctx: Context) -> int:
    """Delete every session past its expiry; returns how many (``auth.pruning`` runs it)."""
    async with write_session(ctx.sessionmaker) as session:
        result = await session.execute(
            delete(AuthSession).where(AuthSession.expires_at <= utcnow())
        )
    return int(getattr(result, "rowcount", 0) or 0)
