from __future__ import annotations

from fastapi import APIRouter, Request, Response

from sourcevault.auth import service
from sourcevault.auth.cookies import COOKIE_NAME
from sourcevault.auth.dependencies import Ctx, CurrentUser
from sourcevault.auth.principal import Principal
from sourcevault.auth.schemas import (
    LoginIn,
    RegisterIn,
    SessionOut,
    TokenOut,
    UserEnvelope,
    UserOut,
)
from sourcevault.client_address import client_address
from sourcevault.errors import InsufficientPermissions
from sourcevault.http_errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=ERROR_RESPONSES)


def _session_out(principal: Principal) -> SessionOut:
    user = UserOut(id=principal.user_id, email=principal.email, name=principal.name)
    return SessionOut(user=user, expires=principal.expires_at)


@router.post("/register", status_code=201, response_model=UserEnvelope)
async def register(body: RegisterIn, ctx: Ctx) -> UserEnvelope:
    if not ctx.settings.allow_signup:
        raise InsufficientPermissions("Sign-up is disabled on this server")
    return UserEnvelope(user=await service.register(ctx, body))


@router.post("/login", response_model=SessionOut)
async def login(body: LoginIn, ctx: Ctx, request: Request, response: Response) -> SessionOut:
    token, principal = await service.login(ctx, body, "cookie", client_address(request.scope))
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=ctx.settings.session_max_age,
        expires=principal.expires_at,
        path="/",
        httponly=True,
        samesite="lax",
        secure=ctx.settings.cookie_secure,
    )
    return _session_out(principal)


@router.post("/token", response_model=TokenOut)
async def token(body: LoginIn, ctx: Ctx, request: Request) -> TokenOut:
    secret, principal = await service.login(ctx, body, "token", client_address(request.scope))
    session = _session_out(principal)
    return TokenOut(token=secret, user=session.user, expires=session.expires)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(principal: CurrentUser, ctx: Ctx) -> Response:
    await service.logout(ctx, principal)
    response = Response(status_code=204)
    response.delete_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=ctx.settings.cookie_secure
    )
    return response


@router.get("/session", response_model=SessionOut)
async def session(principal: CurrentUser) -> SessionOut:
    return _session_out(principal)
