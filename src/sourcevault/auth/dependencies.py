"""FastAPI dependencies: the context, a read session, and the authenticated caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from sourcevault.auth.cookies import COOKIE_NAME
from sourcevault.auth.origins import is_allowed, own_origin
from sourcevault.auth.principal import Principal
from sourcevault.auth.service import resolve
from sourcevault.context import Context
from sourcevault.db.engine import read_session
from sourcevault.errors import OriginRejected, Unauthorized

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def get_context(request: Request) -> Context:
    """``async`` though it never waits: FastAPI runs a plain ``def`` dependency in its thread
    pool, a hand-off to another thread and back on every request."""
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(get_context)]


async def get_db(ctx: Ctx) -> AsyncIterator[AsyncSession]:
    async with read_session(ctx.sessionmaker) as session:
        yield session


Db = Annotated[AsyncSession, Depends(get_db)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def check_origin(request: Request, ctx: Context) -> None:
    """CSRF: a cookie-authenticated unsafe request must come from an allowed origin."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    own = own_origin(request.url.scheme, request.headers.get("host"))
    if not is_allowed(origin, own, ctx.settings.allowed_origins):
        raise OriginRejected()


async def current_principal(request: Request, ctx: Ctx) -> Principal:
    token = bearer_token(request)
    via_cookie = token is None
    if via_cookie:
        token = request.cookies.get(COOKIE_NAME)
    principal = await resolve(ctx, token)
    if principal is None:
        raise Unauthorized()
    if via_cookie and request.method in UNSAFE_METHODS:
        check_origin(request, ctx)
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]
