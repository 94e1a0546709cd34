"""How the Socket.IO manager talks to Redis, made to survive a Redis outage.

python-socketio's ``AsyncRedisManager`` publishes inline (redis-py retries a dead server for
seconds, inside the request that emitted) and shares one client between its publisher and its
listener. Its listener retries with a backoff that reaches 60 s, and a listener that stops
(python-socketio issues 617 and 1581) does so without a word with the default logger. This
subclass keeps the manager's pub/sub protocol and replaces the transport:

* **Publishing never blocks a request.** A publish goes into an in-memory outbox, in order;
  one task sends it to Redis. While Redis is down the outbox holds the messages (up to
  ``backlog`` of them) and sends them, in order, once it is back, so an eviction published
  during an outage still reaches the other instances.
* **The listener re-subscribes by itself** with a short capped backoff, on its own
  connection. A silent connection is pinged, so a half-open one is noticed too. The loss and
  the re-subscription are logged, and ``health()`` (used by ``/readyz``) says whether this
  instance hears the others.
* **After a re-subscription** the instance drops the transport of each of its sockets. The
  clients reconnect, are authenticated again, rejoin their vaults with ``after`` and so
  recover what was missed; an eviction missed during the outage is applied by the same
  checks a new connection passes.
* **Every message heard is decoded once**, by the manager's listener, whatever the number of
  sockets; ``decoded`` counts those decodes (``/metrics``), through the manager's ``json``
  module, which python-socketio's listener decodes with.

The reaches ``socketio-redis-listener`` and ``engineio-socket`` of the package docstring are
here, in both transports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import socketio

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 1.0
COMMAND_TIMEOUT = 2.0
# A subscription that heard nothing for this long is pinged; one that then stays silent for
# as long again (not even the pong) is taken for dead: a half-open connection is noticed.
HEARTBEAT = 5.0
RETRY_FIRST = 0.25
RETRY_MAX = 4.0
FLUSH_ON_CLOSE = 2.0


class RedisLink(socketio.AsyncRedisManager):  # type: ignore[misc]
    """``AsyncRedisManager`` with a non-blocking publisher and a self-healing subscriber."""

    json: Any  # the JSON module python-socketio's manager encodes and decodes messages with

    def __init__(self, url: str, channel: str = "sourcevault", backlog: int = 10_000) -> None:
        super().__init__(url, channel=channel)
        self.backlog = backlog
        self.subscribed = False
        self.publishing = True
        self.dropped_messages = 0
        self.resyncs = 0
        self.decoded = 0  # messages from Redis decoded on this instance
        self._outbox: deque[str] = deque()
        self._pending = asyncio.Event()  # the outbox holds something
        self._drained = asyncio.Event()  # the outbox was emptied
        self._pump_task: asyncio.Task[None] | None = None
        self._publisher: Redis | None = None
        self._first_subscription: asyncio.Event | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def _client(self) -> Redis:
        # Imported here: a server without Redis never loads redis-py (``serve`` keeps it out).
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No retries inside redis-py: a dead server fails fast, and this class does the retrying.
        return Redis.from_url(
            self.redis_url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )

    async def start(self, server: socketio.AsyncServer, wait: float = 3.0) -> None:
        """Subscribe before the first request rather than on the first socket (python-socketio
        starts its listener lazily), waiting up to ``wait`` seconds: an instance that starts
        while Redis is down still serves, and says so on ``/readyz``."""
        if not server.manager_initialized:
            server.manager_initialized = True
            self.initialize()
        assert self._first_subscription is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_subscription.wait(), wait)

    def initialize(self) -> None:
        self.json = _CountingJson(self.json, self)  # set_server chose the module by now
        self._first_subscription = asyncio.Event()
        self._ensure_pump()
        super().initialize()

    async def aclose(self) -> None:
        """Send what the outbox still holds (for at most ``FLUSH_ON_CLOSE`` seconds), then stop
        the listener and the publisher."""
        if self._outbox and self.publishing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), FLUSH_ON_CLOSE)
        if self._outbox:
            log.warning("shutting down with %d unpublished messages", len(self._outbox))
        for task in (self._pump_task, getattr(self, "thread", None)):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._publisher is not None:
            await self._publisher.aclose()

    async def health(self) -> str:
        """``"ok"`` when Redis answers a ping and this instance is subscribed."""
        try:
            await asyncio.wait_for(self._publisher_client().ping(), CONNECT_TIMEOUT)
        except Exception as exc:
            return f"down: {type(exc).__name__}"
        listener = getattr(self, "thread", None)
        if listener is not None and listener.done():
            return "down: listener stopped"
        if self._first_subscription is not None and not self.subscribed:
            return "down: not subscribed"
        return "ok"

    @property
    def held(self) -> int:
        """Messages waiting in the outbox for Redis."""
        return len(self._outbox)

    # -- publishing ------------------------------------------------------------------------------

    def _publisher_client(self) -> Redis:
        if self._publisher is None:
            self._publisher = self._client()
        return self._publisher

    def _ensure_pump(self) -> None:
        if self._pump_task is None or self._pump_task.done():
            self._pump_task = asyncio.ensure_future(self._pump())

    async def _publish(self, data: Any) -> None:
        self._ensure_pump()
        if len(self._outbox) >= self.backlog:
            self._outbox.popleft()
            self.dropped_messages += 1
            if self.dropped_messages == 1 or self.dropped_messages % 1000 == 0:
                log.error(
                    "Redis outbox full (%d messages): dropped %d of the oldest so far",
                    self.backlog,
                    self.dropped_messages,
                )
        self._outbox.append(self.json.dumps(data))
        self._drained.clear()
        self._pending.set()

    async def _pump(self) -> None:
        delay = RETRY_FIRST
        down_since = 0.0
        while True:
            await self._pending.wait()
            while self._outbox:
                try:
                    await self._publisher_client().publish(self.channel, self._outbox[0])
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if self.publishing:
                        self.publishing = False
                        down_since = time.monotonic()
                        log.error(
                            "cannot publish to Redis (%s: %s); holding messages for the other "
                            "instances until it is back",
                            type(exc).__name__,
                            exc,
                        )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RETRY_MAX)
                    continue
                self._outbox.popleft()
                if not self.publishing:
                    self.publishing = True
                    log.warning(
                        "publishing to Redis again after %.1f s; sending %d held messages",
                        time.monotonic() - down_since,
                        len(self._outbox) + 1,
                    )
                delay = RETRY_FIRST
            self._pending.clear()
            self._drained.set()

    # -- listening -------------------------------------------------------------------------------

    async def _redis_listen_with_retries(self) -> AsyncIterator[dict[str, Any]]:
        delay = RETRY_FIRST
        lost_since: float | None = None
        while True:
            client = self._client()
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.subscribed = True
                if self._first_subscription is not None:
                    self._first_subscription.set()
                delay = RETRY_FIRST
                if lost_since is None:
                    log.info("subscribed to Redis channel %r", self.channel)
                else:
                    dropped = await self._resync()
                    log.warning(
                        "re-subscribed to Redis channel %r after %.1f s; dropped %d sockets "
                        "so that they reconnect and catch up",
                        self.channel,
                        time.monotonic() - lost_since,
                        dropped,
                    )
                    lost_since = None
                async for message in _messages(pubsub):
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if lost_since is None:
                    lost_since = time.monotonic()
                    log.error(
                        "lost the Redis subscription (%s: %s); events from other instances "
                        "are missed until it is back; retrying",
                        type(exc).__name__,
                        exc,
                    )
                else:
                    log.debug("Redis still unreachable (%s)", type(exc).__name__)
            finally:
                self.subscribed = False
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _resync(self) -> int:
        """Drop every socket's transport (no Socket.IO disconnect packet, so clients do
        reconnect) after a gap in the subscription."""
        eio = self.server.eio
        dropped = 0
        for sock in list(eio.sockets.values()):
            if sock.closed or sock.closing:
                continue
            with contextlib.suppress(Exception):
                await sock.close(wait=False, abort=True, reason=eio.reason.TRANSPORT_CLOSE)
                sock.queue.put_nowait(None)  # ends the socket's writer, which closes the transport
                dropped += 1
        self.resyncs += 1
        return dropped


class _CountingJson:
    """The manager's JSON module, counting each message it decodes into ``link.decoded``."""

    def __init__(self, module: Any, link: RedisLink) -> None:
        self.module = module
        self.link = link

    def dumps(self, *args: Any, **kwargs: Any) -> Any:
        return self.module.dumps(*args, **kwargs)

    def loads(self, *args: Any, **kwargs: Any) -> Any:
        self.link.decoded += 1
        return self.module.loads(*args, **kwargs)


async def _messages(pubsub: Any) -> AsyncIterator[dict[str, Any]]:
    """The subscription's messages. After ``HEARTBEAT`` seconds without one it pings; if not
    even the pong comes within another ``HEARTBEAT``, the connection is taken for dead."""
    pinged = False
    while True:
        message = await pubsub.get_message(timeout=HEARTBEAT)
        if message is not None:
            pinged = False
            yield message
        elif pinged:
            raise ConnectionError(f"no answer from Redis to a ping within {HEARTBEAT:.0f} s")
        else:
            await pubsub.ping()
            pinged = True
