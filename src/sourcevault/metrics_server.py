"""``/metrics`` on a listener of its own (``SOURCEVAULT_METRICS_BIND``), off the public port.

The counts it gives (sockets, rooms, joins, refusals) tell an outsider how the service is used,
so they are not served where the API is. The listener runs on the app's event loop, where the
collectors may read the Socket.IO server's state safely; it answers ``GET /metrics`` in
Prometheus' text format, anything else with 404, one request per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

READ_TIMEOUT = 5.0
MAX_HEAD = 8192


class MetricsServer:
    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str | None:
        """Where it listens (the bound port, when it was asked for port 0)."""
        if self._server is None or not self._server.sockets:
            return None
        host, port = self._server.sockets[0].getsockname()[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/metrics"

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            # Metrics are not worth refusing to serve the product for; say so loudly.
            log.error(
                "metrics not served: cannot listen on %s:%s (%s); set SOURCEVAULT_METRICS_BIND"
                " to a free host:port, or to nothing to turn them off",
                self.host,
                self.port,
                exc,
            )
            return
        log.info("metrics on %s", self.url)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            request_line = head[: min(len(head), MAX_HEAD)].split(b"\r\n", 1)[0]
            method, _, rest = request_line.partition(b" ")
            path = rest.partition(b" ")[0].split(b"?", 1)[0]
            if method == b"GET" and path == b"/metrics":
                status, body, kind = "200 OK", generate_latest(self.registry), CONTENT_TYPE_LATEST
            else:
                status, body, kind = "404 Not Found", b"Not found\n", "text/plain; charset=utf-8"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
