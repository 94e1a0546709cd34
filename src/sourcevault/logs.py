"""Logging for ``sourcevault serve``: JSON lines when stderr is not a terminal (a log
collector reads them), readable lines when it is; every line of a request carries its id.

``configure()`` is called by the ``serve`` command, never at import, so tests and embedding
applications keep their own logging. ``RequestId`` is the ASGI middleware that gives each
HTTP request and each WebSocket connection an id: the client's ``X-Request-ID`` when it is a
sane one, a new one otherwise. It is echoed in the response's ``X-Request-ID`` header and put
on every log line written while the request is handled (Socket.IO handlers run in tasks that
inherit it, so a WebSocket connection's lines carry the id of its handshake).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
# The logger of the WebSocket protocol ``serve`` runs (realtime/transport/fastpath.py),
# under uvicorn's.
WEBSOCKET_LOGGER = "uvicorn.error.websocket"
_HEADER_BYTES = HEADER.encode()
_VALID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged too.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
    "rid",
    "color_message",  # uvicorn's copy of the message with terminal colours
}


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            line["requestId"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s%(rid)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.rid = f" [{rid}]" if rid else ""
        return super().format(record)


def configure(level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """Send every log record (ours, uvicorn's, python-socketio's) to ``stream`` (stderr)."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.addFilter(_RequestIdFilter())
    is_tty = hasattr(stream, "isatty") and stream.isatty()
    handler.setFormatter(TextFormatter() if is_tty else JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # python-socketio and python-engineio add a handler of their own to a logger that has no
    # level; giving them one keeps their lines in this format, and their chatter out.
    for name in ("socketio.server", "engineio.server", "socketio.client", "engineio.client"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn's line per accepted WebSocket: one per socket, thousands a second when clients
    # come back after a restart, and about a tenth of the server's time per connection (the
    # record, its JSON, the write). /metrics counts connections; errors are still logged.
    logging.getLogger(WEBSOCKET_LOGGER).setLevel(logging.WARNING)


def id_for(scope: Scope) -> str:
    """The request id of an HTTP request or WebSocket connection: the client's
    ``X-Request-ID`` when it is a sane one, a new one otherwise."""
    for name, value in scope.get("headers", []):
        if name == _HEADER_BYTES:
            given: str = value.decode("latin-1")
            if _VALID.fullmatch(given):
                return given
            break
    return _new_id()


def _new_id() -> str:
    return os.urandom(16).hex()


class RequestId:
    """Pure ASGI middleware (streaming and WebSocket safe) that sets the request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = id_for(scope)
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
