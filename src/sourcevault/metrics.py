"""Prometheus metrics of one app, served at ``/metrics``.

Each ``Metrics`` has its own ``CollectorRegistry`` (nothing global at import), built with the
app's ``Context``, so every app in a process (every test's) counts only its own. Counters are
incremented where things happen; the state of the sockets (connected, joined, dropped) is read
from the Socket.IO server when Prometheus scrapes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sized
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from sourcevault.events import Broadcaster, Event, Notice

REFUSAL_REASONS = ("unauthorized", "origin", "rate_limited")
_REFUSED_MARK = "sourcevault.refused"


class Sockets(Protocol):
    """What the collector reads at each scrape: the Socket.IO server and this instance's
    authenticated connections (``sourcevault.realtime.server.Realtime`` has both). A protocol,
    so that metrics, which the context holds, does not import the transport."""

    @property
    def sio(self) -> Any: ...

    @property
    def conns(self) -> Sized: ...


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_broadcast = Counter(
            "sourcevault_events_broadcast",
            "Committed vault events handed to the Socket.IO server, by type.",
            ["type"],
            registry=self.registry,
        )
        self.broadcast_seconds = Histogram(
            "sourcevault_broadcast_seconds",
            "Time to hand one committed change (its events and notices) to the Socket.IO "
            "server, measured from the commit.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.handshakes_refused = Counter(
            "sourcevault_handshakes_refused",
            "Socket.IO connections refused, by reason (unauthorized, origin, rate_limited).",
            ["reason"],
            registry=self.registry,
        )
        for reason in REFUSAL_REASONS:
            self.handshakes_refused.labels(reason)
        self.rate_limited = Counter(
            "sourcevault_socket_events_rate_limited",
            "Socket events refused with RATE_LIMITED.",
            registry=self.registry,
        )
        self.write_commits = Counter(
            "sourcevault_write_commits",
            "Write transactions committed to a vault; several writers waiting on one vault "
            "share one (sourcevault_writes_committed counts the writers).",
            registry=self.registry,
        )
        self.writes_committed = Counter(
            "sourcevault_writes_committed",
            "Writers whose changes to a vault were committed.",
            registry=self.registry,
        )

    def refused(self, reason: str) -> None:
        self.handshakes_refused.labels(reason).inc()

    def origin_checked(self, allowed: bool, environ: dict[str, Any]) -> bool:
        """Count a request refused for its Origin once (Engine.IO asks twice per request)."""
        if not allowed and not environ.get(_REFUSED_MARK):
            environ[_REFUSED_MARK] = True
            self.refused("origin")
        return allowed

    def watch(self, realtime: Sockets) -> None:
        """Read the sockets' state from ``realtime`` at each scrape."""
        self.registry.register(_RealtimeCollector(realtime))

    def metered(self, inner: Broadcaster) -> Broadcaster:
        return _Metered(inner, self)


class _Metered:
    """The broadcaster, counting what goes through it and how long the hand-over takes."""

    def __init__(self, inner: Broadcaster, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    async def publish(self, events: list[Event], notices: list[Notice]) -> None:
        start = time.perf_counter()
        try:
            await self.inner.publish(events, notices)
        finally:
            self.metrics.broadcast_seconds.observe(time.perf_counter() - start)
        for event in events:
            self.metrics.events_broadcast.labels(event["type"]).inc()


class _RealtimeCollector(Collector):
    def __init__(self, realtime: Sockets) -> None:
        self.realtime = realtime

    def collect(self) -> Iterator[Metric]:
        sio = self.realtime.sio
        yield GaugeMetricFamily(
            "sourcevault_sockets_connected",
            "Authenticated Socket.IO connections on this instance.",
            value=len(self.realtime.conns),
        )
        rooms = sio.manager.rooms.get("/", {})
        vault_rooms = [members for name, members in rooms.items() if _is_vault(name)]
        yield GaugeMetricFamily(
            "sourcevault_vault_rooms",
            "Vault rooms with at least one socket on this instance.",
            value=sum(1 for members in vault_rooms if members),
        )
        yield GaugeMetricFamily(
            "sourcevault_vault_joins",
            "Vault rooms joined, counted once per socket and vault, on this instance.",
            value=sum(len(members) for members in vault_rooms),
        )
        yield CounterMetricFamily(
            "sourcevault_slow_clients_dropped",
            "Sockets dropped because they stopped reading while events queued up.",
            value=getattr(sio, "dropped_slow", 0),
        )
        manager = sio.manager
        delivered = getattr(manager, "delivered", None)
        if delivered is not None:
            family = CounterMetricFamily(
                "sourcevault_socket_deliveries",
                "Room events delivered to a socket, by route: written at once by the broadcast "
                "fast path (direct), or through the socket's Engine.IO queue (queued).",
                labels=["route"],
            )
            for route, count in delivered.items():
                family.add_metric([route], count)
            yield family
        if hasattr(manager, "subscribed"):
            yield GaugeMetricFamily(
                "sourcevault_redis_subscribed",
                "1 while this instance hears the others through Redis.",
                value=1 if manager.subscribed else 0,
            )
            yield CounterMetricFamily(
                "sourcevault_redis_messages_decoded",
                "Messages heard on the Redis channel (this instance's own included) and decoded "
                "on this instance: once each, whatever the number of sockets.",
                value=getattr(manager, "decoded", 0),
            )
            yield GaugeMetricFamily(
                "sourcevault_redis_outbox",
                "Messages for the other instances waiting for Redis.",
                value=manager.held,
            )


def _is_vault(room: Any) -> bool:
    return isinstance(room, str) and room.startswith("vault:")
