"""An async client for scripts, tests and ``sourcevault watch``, that never loses an event.

    async with await Client.login("http://127.0.0.1:8000", email, password) as client:
        vault = await client.join(vault_id)          # its sources, exact from here on
        async for update in client.updates():        # Applied, Reconnecting, Stopped, ...
            ...

For each vault it joined the client holds the sources and the last event ``seq`` it applied,
and keeps both exact across drops, by the rules the test page follows too:

* The first join reads the sources over REST and joins with ``after`` = the ``seq`` read with
  them, so nothing falls between the snapshot and the live stream.
* On every (re)connect it rejoins each vault with ``after`` = the last applied ``seq`` and
  applies ``missed``, paging ``GET /api/vaults/{id}/events`` while ``hasMore``.
* A live event whose ``seq`` skips ahead makes it fetch the gap first; an event at or below
  the last applied ``seq`` is dropped, so nothing is ever applied twice.
* ``sources:imported`` names the new sources but does not carry them: the client reads the
  vault's sources again (and the events after it, applied as usual, settle the rest).
* It reconnects with socket.io-client's schedule: exponential backoff from 0.5 s, capped at
  2 s, with 50 % jitter. It stops for good on ``session:expired`` and when a reconnect is
  refused with ``UNAUTHORIZED``.

Everything the server sends is handled by one task, in arrival order, and every step only
moves ``seq`` forward after it applied the event; a step cut short by a drop is simply
redone by the rejoin that follows. python-socketio's own reconnection is not used: its
jitter is added after the cap (so a delay can reach 2.5 s) and it keeps retrying a refused
session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import socketio

from sourcevault.events import EventType, NoticeType

log = logging.getLogger(__name__)

Event = dict[str, Any]

RECONNECT_DELAY = 0.5
RECONNECT_DELAY_MAX = 2.0
RANDOMIZATION_FACTOR = 0.5
EVENT_PAGE = 500
SOURCE_PAGE = 100
EVENT_TYPES = frozenset(EventType)


def backoff(attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before reconnect attempt ``attempt`` (0-based): 0.5 s doubling, +/- 50 %
    jitter, never more than 2 s (the schedule socket.io-client follows with the page's
    options)."""
    delay: float = RECONNECT_DELAY * 2.0 ** min(attempt, 16)
    deviation = rand() * RANDOMIZATION_FACTOR * delay
    delay = delay - deviation if rand() < 0.5 else delay + deviation
    return min(delay, RECONNECT_DELAY_MAX)


class ClientError(Exception):
    """A refusal from the server (its contract error code and message), or ``UNREACHABLE`` /
    ``DISCONNECTED`` when the server could not be asked."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


# -- what the client tells its user --------------------------------------------------------


@dataclass(frozen=True)
class Connected:
    """The socket is (back) up. ``attempts`` is how many reconnect attempts it took; ``at`` is
    when it connected and ``attempt_started`` when the attempt that succeeded began (both
    ``time.monotonic()``)."""

    first: bool
    attempts: int
    at: float = field(default_factory=time.monotonic)
    attempt_started: float = 0.0


@dataclass(frozen=True)
class Disconnected:
    reason: str


@dataclass(frozen=True)
class Reconnecting:
    attempt: int
    delay: float


@dataclass(frozen=True)
class Applied:
    """One event applied to a vault, live or while catching up."""

    vault_id: str
    event: Event
    live: bool


@dataclass(frozen=True)
class CaughtUp:
    """A vault was rejoined after a (re)connect and is exact again at ``seq``."""

    vault_id: str
    count: int
    seq: int
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class RoleChanged:
    vault_id: str
    role: str


@dataclass(frozen=True)
class VaultGone:
    """The client no longer follows the vault: ``removed``, ``vault_deleted``, or
    ``unavailable`` (found gone while catching up)."""

    vault_id: str
    reason: str


@dataclass(frozen=True)
class Stopped:
    """The client will not reconnect: ``expired``, ``logged_out``, ``unauthorized`` or
    ``closed``. It is the last update."""

    reason: str


Update = (
    Connected | Disconnected | Reconnecting | Applied | CaughtUp | RoleChanged | VaultGone | Stopped
)


@dataclass
class VaultView:
    """What the client knows of one joined vault: exact up to ``seq``."""

    id: str
    name: str
    role: str
    seq: int
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def ordered(self) -> list[dict[str, Any]]:
        """The sources newest first, the order of ``GET .../sources``."""
        return sorted(self.sources.values(), key=lambda s: (s["createdAt"], s["id"]), reverse=True)

    def apply(self, event: Event) -> None:
        kind = event["type"]
        if kind in (EventType.SOURCE_CREATED, EventType.SOURCE_UPDATED):
            self.sources[event["source"]["id"]] = event["source"]
        elif kind == EventType.SOURCE_DELETED:
            self.sources.pop(event["source"]["id"], None)
        elif kind == EventType.VAULT_UPDATED:
            self.name = event["vault"]["name"]
        self.seq = event["seq"]


class _Dropped(Exception):
    """The connection went away (or the server could not be reached) mid-step."""


@dataclass
class _Received:
    name: str
    data: Any


@dataclass
class _Status:
    connected: bool
    reason: str = ""
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Command:
    run: Callable[[], Awaitable[Any]]
    done: asyncio.Future[Any]


_Item = _Received | _Status | _Command


class Client:
    """One Socket.IO connection, authenticated with a bearer token, following any number of
    vaults. ``http`` is an ``httpx.AsyncClient`` on the same server with the same token."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.user: dict[str, Any] | None = None
        self.http = httpx.AsyncClient(
            base_url=self.url, timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )
        self.vaults: dict[str, VaultView] = {}
        self.connected = False
        self.stopped: str | None = None
        self.reconnect_attempts = 0
        self.reconnects = 0
        self.duplicates = 0
        self.gaps_filled = 0
        self._inbox: asyncio.Queue[_Item] = asyncio.Queue()
        self._updates: asyncio.Queue[Update] = asyncio.Queue()
        self._changed = asyncio.Condition()
        self._dropped = asyncio.Event()
        self._refusal: Any = None
        self._attempts = 0
        self._attempt_started = 0.0
        self._ever_connected = False
        self._closing = False
        self._session: aiohttp.ClientSession | None = None
        self._sio: Any = None
        self._worker: asyncio.Task[None] | None = None

    # -- opening and closing -----------------------------------------------------------------

    @classmethod
    async def login(cls, url: str, email: str, password: str, **kwargs: Any) -> Client:
        """Trade an email and password for a token (``POST /api/auth/token``)."""
        async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=10) as http:
            body = await _answer(
                http, "POST", "/api/auth/token", json={"email": email, "password": password}
            )
        client = cls(url, body["token"], **kwargs)
        client.user = body["user"]
        return client

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the socket; if the first attempt fails, close the client and raise
        ``ClientError`` (``UNAUTHORIZED`` or ``UNREACHABLE``). After that it reconnects by
        itself."""
        if self._sio is not None:
            raise RuntimeError("connect() was already called")
        self._session = aiohttp.ClientSession()
        self._sio = socketio.AsyncClient(
            reconnection=False, http_session=self._session, handle_sigint=False
        )
        self._sio.on("connect", self._on_connect)
        self._sio.on("disconnect", self._on_disconnect)
        self._sio.on("connect_error", self._on_connect_error)
        self._sio.on("*", self._on_event)
        if self.user is None:
            with contextlib.suppress(ClientError):
                self.user = (await self._rest("GET", "/api/auth/session"))["user"]
        try:
            await self._connect_once()
        except BaseException:
            await self.close()
            raise
        self._worker = asyncio.create_task(self._run(), name="sourcevault-client")

    async def close(self) -> None:
        """Disconnect and release everything; ``updates()`` ends with ``Stopped("closed")``."""
        self._closing = True
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._sio is not None:
            with contextlib.suppress(Exception):
                await self._sio.disconnect()
        if self.stopped is None:
            await self._stop("closed")
        if self._session is not None:
            await self._session.close()
        await self.http.aclose()

    async def logout(self) -> None:
        """Revoke the session on the server; the server then ends this socket too."""
        await self._rest("POST", "/api/auth/logout")

    # -- vaults ------------------------------------------------------------------------------

    async def join(self, vault_id: str) -> VaultView:
        """Load the vault's sources and follow it. Raises ``ClientError`` if the user may not."""
        view: VaultView = await self._command(lambda: self._join(vault_id))
        return view

    async def leave(self, vault_id: str) -> None:
        await self._command(lambda: self._leave(vault_id))

    async def updates(self) -> AsyncIterator[Update]:
        """Everything that happens, in order, ending with ``Stopped``. Read it from one place;
        updates are kept until read."""
        while True:
            update = await self._updates.get()
            yield update
            if isinstance(update, Stopped):
                return

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds; it is checked after every change the client
        makes. Bound it with ``asyncio.timeout``. Raises ``ClientError("STOPPED")`` if the
        client stops first."""
        async with self._changed:
            await self._changed.wait_for(lambda: predicate() or self.stopped is not None)
        if not predicate():
            raise ClientError("STOPPED", f"The client stopped ({self.stopped})")

    async def synced(self, vault_id: str, seq: int) -> VaultView:
        """Wait until the vault has applied every event up to ``seq``."""
        await self.wait_until(lambda: vault_id in self.vaults and self.vaults[vault_id].seq >= seq)
        return self.vaults[vault_id]

    # -- sources through the socket (their REST twins are on ``self.http``) -------------------

    async def create_source(self, vault_id: str, **fields: Any) -> dict[str, Any]:
        ack = await self._request("source:create", {"vaultId": vault_id, **fields})
        return dict(ack["source"])

    async def update_source(self, source_id: str, **changes: Any) -> dict[str, Any]:
        ack = await self._request("source:update", {"sourceId": source_id, **changes})
        return dict(ack["source"])

    async def delete_source(self, source_id: str) -> None:
        await self._request("source:delete", {"sourceId": source_id})

    async def _request(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            ack = await self._call(event, data)
        except _Dropped:
            raise ClientError("DISCONNECTED", "Not connected to the server") from None
        if not ack.get("ok"):
            error = ack.get("error") or {}
            raise ClientError(str(error.get("code")), str(error.get("message")))
        return ack

    # -- the socket's callbacks: record and queue, nothing else -------------------------------

    def _on_connect(self) -> None:
        self.connected = True
        self._dropped.clear()
        self._inbox.put_nowait(_Status(connected=True))

    def _on_disconnect(self, reason: Any = None) -> None:
        self.connected = False
        self._dropped.set()
        self._inbox.put_nowait(_Status(connected=False, reason=str(reason or "")))

    def _on_connect_error(self, data: Any = None) -> None:
        self._refusal = data

    def _on_event(self, name: str, data: Any = None) -> None:
        self._inbox.put_nowait(_Received(name, data))

    # -- the one task that applies everything -------------------------------------------------

    async def _run(self) -> None:
        while self.stopped is None:
            item = await self._inbox.get()
            try:
                if isinstance(item, _Command):
                    await self._run_command(item)
                elif isinstance(item, _Status):
                    await (self._connected(item) if item.connected else self._disconnected(item))
                else:
                    await self._received(item.name, item.data)
            except _Dropped:
                log.debug("a step was cut short by a drop; the rejoin will redo it")
            except Exception:
                log.exception("unexpected error handling %r", item)
            await self._notify()
        while not self._inbox.empty():  # nobody will run these now
            item = self._inbox.get_nowait()
            if isinstance(item, _Command) and not item.done.done():
                item.done.set_exception(ClientError("STOPPED", f"client stopped ({self.stopped})"))

    async def _command(self, run: Callable[[], Awaitable[Any]]) -> Any:
        if self._worker is None or self.stopped is not None:
            raise ClientError("STOPPED", "The client is not connected (call connect()) or stopped")
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(_Command(run, done))
        return await done

    async def _run_command(self, command: _Command) -> None:
        try:
            result = await command.run()
        except _Dropped:
            command.done.set_exception(ClientError("DISCONNECTED", "The connection dropped"))
        except Exception as exc:
            command.done.set_exception(exc)
        else:
            command.done.set_result(result)

    async def _connected(self, status: _Status) -> None:
        first = not self._ever_connected
        self._ever_connected = True
        self._emit(Connected(first, self._attempts, status.at, self._attempt_started))
        self._attempts = 0
        for view in list(self.vaults.values()):
            try:
                await self._rejoin(view)
            except _Dropped:
                if self._dropped.is_set():
                    raise  # the next connect rejoins them all
                # Joined, but the catch-up over REST failed: the next live event's gap, or
                # the next connect, completes it. The other vaults still need their join.

    async def _disconnected(self, status: _Status) -> None:
        if self.stopped is not None or self._closing:
            return
        self._emit(Disconnected(status.reason))
        await self._notify()
        await self._reconnect()

    async def _reconnect(self) -> None:
        """Attempt ``n`` starts ``backoff(n)`` after attempt ``n - 1`` started (after the drop
        for the first), however long a failed attempt took, so the cap bounds the wait."""
        loop = asyncio.get_running_loop()
        attempt = 0
        started = loop.time()
        while True:
            delay = backoff(attempt)
            self._emit(Reconnecting(attempt + 1, delay))
            await asyncio.sleep(max(0.0, started + delay - loop.time()))
            started = loop.time()
            attempt += 1
            self.reconnect_attempts += 1
            try:
                await self._connect_once()
            except ClientError as exc:
                if exc.code == "UNAUTHORIZED":
                    await self._stop("unauthorized")
                    return
                continue
            self.reconnects += 1
            self._attempts = attempt
            return

    async def _connect_once(self) -> None:
        self._refusal = None
        self._attempt_started = time.monotonic()
        try:
            await self._sio.connect(
                self.url,
                auth={"token": self.token},
                transports=["websocket"],
                wait_timeout=self.timeout,
            )
        except (socketio.exceptions.ConnectionError, ValueError, OSError, aiohttp.ClientError):
            refusal = self._refusal
            if isinstance(refusal, dict) and refusal.get("message") == "UNAUTHORIZED":
                raise ClientError("UNAUTHORIZED", "The session is no longer valid") from None
            raise ClientError("UNREACHABLE", f"Cannot connect to {self.url}") from None

    async def _received(self, name: str, data: Any) -> None:
        if not isinstance(data, dict):
            return
        if name == NoticeType.SESSION_EXPIRED:
            await self._stop(str(data.get("reason") or "expired"))
        elif name == NoticeType.ACCESS_REVOKED:
            view = self.vaults.get(str(data.get("vaultId")))
            if view is not None:
                self._gone(view, str(data.get("reason") or "removed"))
        elif name == NoticeType.ROLE_CHANGED:
            view = self.vaults.get(str(data.get("vaultId")))
            if view is not None:
                view.role = str(data.get("role"))
                self._emit(RoleChanged(view.id, view.role))
        elif name in EVENT_TYPES:
            view = self.vaults.get(str(data.get("vaultId")))
            if view is not None:
                await self._apply(view, data, live=True)

    async def _join(self, vault_id: str) -> VaultView:
        if vault_id in self.vaults:
            return self.vaults[vault_id]
        vault = (await self._rest("GET", f"/api/vaults/{vault_id}"))["vault"]
        sources, seq = await self._snapshot(vault_id)
        view = VaultView(vault_id, vault["name"], vault["role"], seq, sources)
        self.vaults[vault_id] = view
        ack = await self._call("vault:join", {"vaultId": vault_id, "after": seq})
        if not ack.get("ok"):
            del self.vaults[vault_id]
            error = ack.get("error") or {}
            raise ClientError(str(error.get("code")), str(error.get("message")))
        view.role = ack["role"]
        await self._catch_up(view, ack.get("missed") or [], bool(ack.get("hasMore")))
        return view

    async def _leave(self, vault_id: str) -> None:
        if self.vaults.pop(vault_id, None) is not None and self.connected:
            with contextlib.suppress(_Dropped):
                await self._call("vault:leave", {"vaultId": vault_id})

    async def _snapshot(self, vault_id: str) -> tuple[dict[str, dict[str, Any]], int]:
        """Every source, and the ``seq`` of the first page: each later page is as new or newer,
        and replaying the events after that ``seq`` (full objects, in order) settles both."""
        sources: dict[str, dict[str, Any]] = {}
        seq: int | None = None
        params: dict[str, Any] = {"limit": SOURCE_PAGE}
        while True:
            page = await self._rest("GET", f"/api/vaults/{vault_id}/sources", params=params)
            seq = page["seq"] if seq is None else seq
            sources.update({s["id"]: s for s in page["sources"]})
            if not page.get("nextCursor"):
                return sources, int(seq)
            params = {"limit": SOURCE_PAGE, "cursor": page["nextCursor"]}

    async def _rejoin(self, view: VaultView) -> None:
        ack = await self._call("vault:join", {"vaultId": view.id, "after": view.seq})
        if not ack.get("ok"):
            self._gone(view, "unavailable")
            return
        if view.role != ack["role"]:
            view.role = ack["role"]
            self._emit(RoleChanged(view.id, view.role))
        count = await self._catch_up(view, ack.get("missed") or [], bool(ack.get("hasMore")))
        if self.vaults.get(view.id) is view:
            self._emit(CaughtUp(view.id, count, view.seq))

    async def _catch_up(self, view: VaultView, missed: list[Event], has_more: bool) -> int:
        count = 0
        for event in missed:
            count += await self._apply(view, event, live=False)
        if has_more:
            count += await self._fetch(view, until=None)
        return count

    async def _apply(self, view: VaultView, event: Event, live: bool) -> int:
        """Apply one event in ``seq`` order; return how many events were applied (a gap before
        it is fetched and applied first)."""
        seq = event.get("seq")
        if not isinstance(seq, int) or self.vaults.get(view.id) is not view:
            return 0
        if seq <= view.seq:
            self.duplicates += 1
            return 0
        count = 0
        if seq > view.seq + 1:
            self.gaps_filled += 1
            count += await self._fetch(view, until=seq - 1)
            if seq <= view.seq or self.vaults.get(view.id) is not view:
                return count
            if seq > view.seq + 1:
                log.warning("vault %s: events up to %d are not in the log yet", view.id, seq - 1)
                return count
        if event.get("type") == "sources:imported":
            await self._reload(view)
            if self.vaults.get(view.id) is not view:
                return count
        view.apply(event)
        self._emit(Applied(view.id, event, live))
        if event["type"] == EventType.VAULT_DELETED:
            self._gone(view, "vault_deleted")
        return count + 1

    async def _fetch(self, view: VaultView, until: int | None) -> int:
        """Page the event log after ``view.seq`` (up to ``until``, or to its end)."""
        count = 0
        while until is None or view.seq < until:
            try:
                page = await self._rest(
                    "GET",
                    f"/api/vaults/{view.id}/events",
                    params={"after": view.seq, "limit": EVENT_PAGE},
                )
            except ClientError as exc:
                if exc.code == "NOT_FOUND":
                    self._gone(view, "unavailable")
                    return count
                raise _Dropped from exc
            for event in page["events"]:
                count += await self._apply(view, event, live=False)
            if not page["hasMore"] or not page["events"]:
                return count
        return count

    async def _reload(self, view: VaultView) -> None:
        """Read the vault's sources again. The snapshot is as new as the event or newer, and
        the events after it (full objects, in order) are applied over it as usual."""
        try:
            view.sources, _seq = await self._snapshot(view.id)
        except ClientError as exc:
            if exc.code == "NOT_FOUND":
                self._gone(view, "unavailable")
                return
            raise _Dropped from exc

    def _gone(self, view: VaultView, reason: str) -> None:
        if self.vaults.get(view.id) is view:
            del self.vaults[view.id]
            self._emit(VaultGone(view.id, reason))

    async def _stop(self, reason: str) -> None:
        if self.stopped is not None:
            return
        self.stopped = reason
        self.connected = False
        self._emit(Stopped(reason))
        await self._notify()
        if self._sio is not None and self._sio.connected and not self._closing:
            with contextlib.suppress(Exception):
                await self._sio.disconnect()

    # -- plumbing -----------------------------------------------------------------------------

    async def _call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Emit with an ack, giving up as soon as the connection drops."""
        if not self.connected or self._dropped.is_set():
            raise _Dropped
        ack = asyncio.ensure_future(self._sio.call(event, data, timeout=self.timeout))
        dropped = asyncio.ensure_future(self._dropped.wait())
        try:
            await asyncio.wait({ack, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
            if not ack.done():
                ack.cancel()
        if ack.cancelled():
            raise _Dropped
        try:
            answer = ack.result()
        except (TimeoutError, socketio.exceptions.SocketIOError):
            raise _Dropped from None
        if not isinstance(answer, dict):
            raise _Dropped
        return answer

    async def _rest(self, method: str, path: str, **kwargs: Any) -> Any:
        return await _answer(self.http, method, path, **kwargs)

    def _emit(self, update: Update) -> None:
        self._updates.put_nowait(update)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


async def _answer(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    """The JSON answer of a REST call, or ``ClientError`` with the contract's code."""
    try:
        response = await http.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise ClientError("UNREACHABLE", f"{method} {path}: {exc!r}") from None
    if response.status_code == 204:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success and body is not None:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        raise ClientError(str(error.get("code")), str(error.get("message")), response.status_code)
    raise ClientError(
        "HTTP_ERROR", f"{method} {path}: HTTP {response.status_code}", response.status_code
    )
