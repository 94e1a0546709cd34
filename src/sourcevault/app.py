"""``create_app(settings)``: FastAPI and the Socket.IO server on one ASGI app, one port."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from sourcevault import __version__, http_errors
from sourcevault.audit.routes import router as events_router
from sourcevault.auth.pruning import SessionPruner
from sourcevault.auth.routes import router as auth_router
from sourcevault.body_limit import BodyLimit
from sourcevault.config import Settings
from sourcevault.context import Context
from sourcevault.invites.routes import router as invites_router
from sourcevault.logs import RequestId, id_for, request_id
from sourcevault.metrics_server import MetricsServer
from sourcevault.realtime import transport
from sourcevault.realtime.broadcaster import SocketBroadcaster
from sourcevault.realtime.server import Realtime
from sourcevault.search.routes import router as search_router
from sourcevault.security_headers import SecurityHeaders, with_docs_policy
from sourcevault.sources.routes import router as sources_router
from sourcevault.transfer.routes import router as transfer_router
from sourcevault.vaults.routes import router as vaults_router
from sourcevault.web.routes import router as web_router

log = logging.getLogger(__name__)


SOCKETIO_PATH = "socket.io"


class _SocketIO:
    """Sends ``/socket.io/`` to the Socket.IO server and everything else to FastAPI; a
    polling request from a page of a foreign origin is refused here, in the contract's body."""

    def __init__(self, app: ASGIApp, realtime: Realtime) -> None:
        self.realtime = realtime
        self.asgi = socketio.ASGIApp(realtime.sio, other_asgi_app=app, socketio_path=SOCKETIO_PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_SOCKETS_PREFIX):
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            refusal = origin and self.realtime.refuse_origin(
                origin, scope["scheme"], headers.get("host")
            )
            if refusal:
                await http_errors.error_response(refusal)(scope, receive, send)
                return
        await self.asgi(scope, receive, send)


class App(FastAPI):
    """FastAPI, handing Socket.IO's WebSocket connections straight to the Socket.IO server.

    Through the whole stack, a WebSocket at ``/socket.io/`` passes FastAPI's error, telemetry
    and body-limit layers, the request-id middleware and the router in front of Socket.IO,
    none of which does anything for it, and every one of them stays on the connection's task
    for as long as it is open: work at each of thousands of connections, memory for each idle
    one, and a wrapper around every frame sent. Here such a connection only gets its request
    id, as ``RequestId`` gives it; HTTP, the polling transport included, takes the full stack.
    """

    sockets: ASGIApp | None = None  # the Socket.IO server's ASGI app, set by create_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sockets = self.sockets
        if (
            sockets is not None
            and scope["type"] == "websocket"
            and scope["path"].startswith(_SOCKETS_PREFIX)
        ):
            token = request_id.set(id_for(scope))
            try:
                await sockets(scope, receive, send)
            finally:
                request_id.reset(token)
            return
        await super().__call__(scope, receive, send)


_SOCKETS_PREFIX = f"/{SOCKETIO_PATH}/"


def create_app(settings: Settings) -> FastAPI:
    ctx = Context.build(settings, sqlite_module=transport.sqlite_dbapi(settings))
    realtime = Realtime(ctx)
    ctx.broadcaster = ctx.metrics.metered(SocketBroadcaster(realtime.transport))
    ctx.metrics.watch(realtime)
    address = settings.metrics_address
    metrics = None if address is None else MetricsServer(ctx.metrics.registry, *address)
    pruner = SessionPruner(ctx, settings.session_prune_interval)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await realtime.start()
        ctx.start()
        if metrics is not None:
            await metrics.start()
        pruner.start()
        try:
            yield
        finally:
            await pruner.aclose()
            if metrics is not None:
                await metrics.aclose()
            await realtime.shutdown()  # the Socket.IO server, then Redis
            await ctx.aclose()

    app = App(
        title="sourcevault",
        version=__version__,
        description="Shared vaults of research sources, live to every member.",
        lifespan=lifespan,
        docs_url=None,  # served below, with the policy its inline script needs
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.realtime = realtime
    app.state.metrics_server = metrics
    http_errors.install(app)
    for router in (
        auth_router,
        vaults_router,
        sources_router,
        transfer_router,
        events_router,
        invites_router,
        search_router,
        web_router,
    ):
        # Each route as its router built it, when its module was imported. include_router
        # would keep the router and build every route of it again for this app, on the first
        # request (FastAPI 0.165): the work of building them twice, at every start, and that
        # request (a client's first after a restart) waiting for the second. Nothing is lost:
        # the app adds no prefix, tag, response or dependency to these routes, the routers
        # have no lifespan, and no test or caller uses app.dependency_overrides (which an
        # included route would honour and these do not).
        app.router.routes.extend(router.routes)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses={503: {"description": "a dependency is down"}})
    async def readyz() -> Any:
        checks = await readiness(ctx, realtime.transport)
        status = 200 if all(v == "ok" for v in checks.values()) else 503
        return JSONResponse({"status": "ok" if status == 200 else "unavailable", **checks}, status)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return with_docs_policy(get_swagger_ui_html(openapi_url="/openapi.json", title=app.title))

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return with_docs_policy(get_redoc_html(openapi_url="/openapi.json", title=app.title))

    app.add_middleware(_SocketIO, realtime=realtime)
    app.sockets = socketio.ASGIApp(realtime.sio, socketio_path=SOCKETIO_PATH)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestId)
    return app


async def readiness(ctx: Context, wire: transport.Transport | None = None) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"down: {type(exc).__name__}"
    broker = None if wire is None else await wire.health()
    if broker is not None:
        checks["redis"] = broker
    return checks
