"""The Socket.IO server: connect auth, rooms and the client events.

Handlers are thin: each validates its payload, calls the service function its REST twin
calls, and returns the ack. ``acked`` turns every failure into ``{"ok": false, "error"}``,
so no payload can end a connection or reach the client as a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

import socketio
from pydantic import BaseModel, ValidationError

from sourcevault.audit.service import catch_up
from sourcevault.auth.cookies import COOKIE_NAME
from sourcevault.auth.origins import is_allowed, own_origin
from sourcevault.auth.principal import Principal
from sourcevault.auth.service import resolve
from sourcevault.client_address import client_address
from sourcevault.context import Context
from sourcevault.db.base import utcnow
from sourcevault.errors import (
    AccessDenied,
    AppError,
    NotFound,
    OriginRejected,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from sourcevault.events import session_room, user_room, vault_room
from sourcevault.realtime.caps import ConnectionCaps
from sourcevault.realtime.presence import LocalStore, Presence, RedisStore, Store
from sourcevault.realtime.schemas import (
    JoinIn,
    LeaveIn,
    SourceCreateIn,
    SourceDeleteIn,
    SourceUpdateIn,
)
from sourcevault.realtime.transport import SESSION_EXPIRED, Timers, Transport
from sourcevault.sources import service as sources

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

MISSED_LIMIT = 500
# Engine.IO drops a connection that sends a single message larger than this; below it and
# above ``socket_max_payload`` a message is refused with an ack and the connection stays.
ENGINEIO_MAX_MESSAGE = 1024 * 1024


class Conn:
    """What the server keeps per socket: its caller and its rate-limit bucket."""

    __slots__ = ("address", "principal", "stamp", "tokens")

    def __init__(self, principal: Principal, address: str, burst: int) -> None:
        self.principal = principal
        self.address = address
        self.tokens = float(burst)
        self.stamp = time.monotonic()


class _Deadlines:
    """When each session with sockets in this process ends (``Timers``): a session watched
    again counts one more socket, and is no longer watched once its last socket has left."""

    def __init__(self, fire: Callable[[str], None]) -> None:
        self.sockets: dict[str, int] = {}  # session: its sockets here
        self.timers = Timers(self._end)
        self._fire = fire

    def watch(self, session_id: str, seconds: float) -> None:
        count = self.sockets.get(session_id, 0)
        self.sockets[session_id] = count + 1
        if not count:
            self.timers.set(session_id, seconds)

    def unwatch(self, session_id: str) -> None:
        count = self.sockets.get(session_id)
        if count is None:
            return
        if count > 1:
            self.sockets[session_id] = count - 1
            return
        del self.sockets[session_id]
        self.timers.cancel(session_id)

    def close(self) -> None:
        self.sockets.clear()
        self.timers.close()

    def _end(self, session_id: str) -> None:
        self.sockets.pop(session_id, None)
        self._fire(session_id)


_background: set[asyncio.Future[Any]] = set()


class Realtime:
    """Builds the Socket.IO server for one app and owns its per-socket state."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        settings = ctx.settings
        self.transport = Transport(
            settings,
            cors_allowed_origins=self._origin_allowed,
            cors_credentials=True,
            max_http_buffer_size=ENGINEIO_MAX_MESSAGE,
            ping_interval=settings.socket_ping_interval,
            ping_timeout=settings.socket_ping_timeout,
            max_payload=settings.socket_max_payload,
            max_queued=settings.socket_max_queued,
            transports=["polling", "websocket"],
        )
        self.sio = self.transport.sio
        self.conns: dict[str, Conn] = {}
        self.caps = ConnectionCaps(settings.socket_max_per_user, settings.socket_max_per_address)
        self._expiry = _Deadlines(self._expire)
        store: Store = LocalStore()
        if settings.redis_url is not None:
            store = RedisStore(
                settings.redis_url.get_secret_value(), settings.redis_channel, settings.presence_ttl
            )
        self.presence = Presence(store, self._emit_to_room)
        self.transport.on_notice(self.presence.on_notice)
        self._register()

    async def start(self) -> None:
        """Subscribe to Redis (when set) and start presence, before the first request."""
        await self.transport.start()
        await self.presence.start()

    async def _emit_to_room(self, event: str, data: dict[str, str], room: str) -> None:
        """A presence announcement: written in the loop's next turn, with the other
        announcements of this one (a burst of joins costs a socket one write)."""
        with self.transport.corked(defer=True):
            await self.sio.emit(event, data, room=room)

    # -- connection ----------------------------------------------------------------------------

    def _may_open(self, origin: str, scheme: str, host: str | None) -> bool:
        """A browser page of this origin may open a socket here."""
        return is_allowed(origin, own_origin(scheme, host), self.ctx.settings.allowed_origins)

    def _origin_allowed(self, origin: str, environ: dict[str, Any]) -> bool:
        allowed = self._may_open(
            origin, environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST")
        )
        return self.ctx.metrics.origin_checked(allowed, environ)

    def refuse_origin(self, origin: str, scheme: str, host: str | None) -> OriginRejected | None:
        """The answer to an HTTP (polling) request from a browser page of a foreign origin,
        made before Engine.IO sees it: its own refusal is plain text that echoes the origin."""
        if self._may_open(origin, scheme, host):
            return None
        self.ctx.metrics.refused("origin")
        return OriginRejected("This origin may not open a socket")

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            token = _cookie(environ.get("HTTP_COOKIE", ""))
        principal = None
        if token:
            principal = await resolve(self.ctx, token)
        if principal is None:
            error = Unauthorized("A valid session or token is required")
            self.ctx.metrics.refused("unauthorized")
            raise socketio.exceptions.ConnectionRefusedError(error.code, error.body())
        address = client_address(environ.get("asgi.scope", {}))
        try:
            self.caps.acquire(principal.user_id, address)
        except RateLimited as exc:
            self.ctx.metrics.refused("rate_limited")
            raise socketio.exceptions.ConnectionRefusedError(exc.code, exc.body()) from None
        self.conns[sid] = Conn(principal, address, self.ctx.settings.socket_rate_burst)
        await self.sio.enter_room(sid, user_room(principal.user_id))
        await self.sio.enter_room(sid, session_room(principal.session_id))
        self._watch_expiry(principal)

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self.conns.pop(sid, None)
        if conn is not None:
            self.caps.release(conn.principal.user_id, conn.address)
            self._unwatch_expiry(conn.principal.session_id)
        await self.presence.disconnected(sid)

    def _watch_expiry(self, principal: Principal) -> None:
        """Each session with sockets here is expired the moment it ends (``_Deadlines``)."""
        seconds = (principal.expires_at - utcnow()).total_seconds()
        self._expiry.watch(principal.session_id, seconds)

    def _unwatch_expiry(self, session_id: str) -> None:
        self._expiry.unwatch(session_id)

    def _expire(self, session_id: str) -> None:
        task = asyncio.ensure_future(
            self.transport.notify_local(
                SESSION_EXPIRED, {"reason": "expired"}, session_room(session_id)
            )
        )
        _background.add(task)
        task.add_done_callback(_background.discard)

    # -- client events -------------------------------------------------------------------------

    def _register(self) -> None:
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self.sio.on("vault:join", self._acked(JoinIn, self._join))
        self.sio.on("vault:leave", self._acked(LeaveIn, self._leave))
        self.sio.on("source:create", self._acked(SourceCreateIn, self._create))
        self.sio.on("source:update", self._acked(SourceUpdateIn, self._update))
        self.sio.on("source:delete", self._acked(SourceDeleteIn, self._delete))

    def _acked(
        self, model: type[M], handler: Callable[[str, Principal, M], Awaitable[dict[str, Any]]]
    ) -> Callable[..., Awaitable[dict[str, Any] | None]]:
        async def on_event(sid: str, *args: Any) -> dict[str, Any] | None:
            conn = self.conns.get(sid)
            if conn is None:
                return None
            try:
                self._take_token(conn)
                if conn.principal.expires_at <= utcnow():
                    raise Unauthorized("Session expired")
                try:
                    # Strict: a binary attachment is no string, nor "1" a number.
                    data = model.model_validate(args[0] if args else None, strict=True)
                except ValidationError as exc:
                    raise ValidationFailed.from_pydantic(exc.errors()) from None
                return {"ok": True, **await handler(sid, conn.principal, data)}
            except AppError as exc:
                return {"ok": False, "error": exc.body()}
            except Exception:
                log.exception("socket event failed")
                return {
                    "ok": False,
                    "error": {"code": "INTERNAL_ERROR", "message": "Internal error"},
                }

        return on_event

    def _take_token(self, conn: Conn) -> None:
        settings = self.ctx.settings
        now = time.monotonic()
        conn.tokens = min(
            float(settings.socket_rate_burst),
            conn.tokens + (now - conn.stamp) * settings.socket_rate_per_second,
        )
        conn.stamp = now
        if conn.tokens < 1:
            self.ctx.metrics.rate_limited.inc()
            raise RateLimited("Too many events; slow down")
        conn.tokens -= 1

    async def _join(self, sid: str, user: Principal, data: JoinIn) -> dict[str, Any]:
        # Enter the room before reading, so nothing committed after the read can be missed;
        # the client drops whatever it receives twice by seq.
        room = vault_room(data.vault_id)
        await self.sio.enter_room(sid, room)
        try:
            role, seq, missed, has_more = await catch_up(
                self.ctx, user.user_id, data.vault_id, data.after, MISSED_LIMIT
            )
        except NotFound:
            await self.sio.leave_room(sid, room)
            raise AccessDenied() from None
        except BaseException:
            await self.sio.leave_room(sid, room)
            raise
        presence = await self._present(sid, user, data.vault_id, role)
        await self.sio.emit("vault:joined", {"vaultId": data.vault_id, "role": role}, to=sid)
        return {
            "vaultId": data.vault_id,
            "role": role,
            "seq": seq,
            "missed": missed,
            "hasMore": has_more,
            "presence": presence,
        }

    async def _present(self, sid: str, user: Principal, vault_id: str, role: str) -> list[Any]:
        """Count the socket in the vault's presence, unless it left the room meanwhile (a
        revocation or a disconnect while the join read the database)."""
        room = vault_room(vault_id)
        if room in self.sio.rooms(sid):
            entries = await self.presence.join(sid, user.user_id, user.name, vault_id, role)
            if room in self.sio.rooms(sid):
                return list(entries)
            await self.presence.leave(sid, vault_id)
        raise AccessDenied()

    async def _leave(self, sid: str, user: Principal, data: LeaveIn) -> dict[str, Any]:
        await self.sio.leave_room(sid, vault_room(data.vault_id))
        await self.presence.leave(sid, data.vault_id)
        return {}

    async def _create(self, sid: str, user: Principal, data: SourceCreateIn) -> dict[str, Any]:
        try:
            source = await sources.create_source(self.ctx, user, data.vault_id, data)
        except NotFound:
            raise AccessDenied() from None
        return {"source": source.wire()}

    async def _update(self, sid: str, user: Principal, data: SourceUpdateIn) -> dict[str, Any]:
        source = await sources.update_source(self.ctx, user, data.source_id, data.changes())
        return {"source": source.wire()}

    async def _delete(self, sid: str, user: Principal, data: SourceDeleteIn) -> dict[str, Any]:
        await sources.delete_source(self.ctx, user, data.source_id)
        return {}

    async def shutdown(self) -> None:
        """Presence first (its users leave, announced while Redis is still there), then the
        Socket.IO server and Redis."""
        self._expiry.close()
        await self.presence.aclose()
        await self.transport.aclose()


def _cookie(header: str) -> str | None:
    try:
        morsel = SimpleCookie(header).get(COOKIE_NAME)
    except CookieError:
        return None
    return morsel.value if morsel else None
