"""The request body limit, enforced while the body is read.

``BodyLimit`` wraps every HTTP request's ``receive``: a declared ``Content-Length`` over the
limit is refused at the first read, before any of the body is taken, and a chunked body is
counted as it arrives and refused as soon as it passes the limit. The rest is never kept:
once the answer is sent, uvicorn drops what still arrives for that request and closes the
connection at its keep-alive timeout, so memory stays flat whatever a client sends.

A route that takes files declares a larger limit of its own with ``allow_body(n)`` (a
dependency), which runs before the route reads its body.

The refusal is ``413 PAYLOAD_TOO_LARGE`` in the contract's error body: raised inside a FastAPI
route it reaches the one error handler (``http_errors``); anywhere else (the Socket.IO polling
transport reads its bodies itself) ``BodyLimit`` answers it.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sourcevault.errors import PayloadTooLarge
from sourcevault.http_errors import error_response

_SCOPE_KEY = "sourcevault.body_limit"


class BodyTooLarge(HTTPException):
    """Raised from ``receive``. An ``HTTPException``, so that FastAPI's body parsing passes
    it on as it is instead of turning it into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes")


class _Budget:
    def __init__(self, limit: int, declared: int | None) -> None:
        self.limit = limit
        self.declared = declared
        self.read = 0


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budget = _Budget(self.limit, _content_length(scope))
        scope[_SCOPE_KEY] = budget
        started = False

        async def limited_receive() -> Message:
            if budget.declared is not None and budget.declared > budget.limit:
                raise BodyTooLarge(budget.limit)
            message = await receive()
            if message["type"] == "http.request":
                budget.read += len(message.get("body", b""))
                if budget.read > budget.limit:
                    raise BodyTooLarge(budget.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await error_response(PayloadTooLarge(str(exc.detail)))(scope, receive, send)


def allow_body(limit: int) -> Callable[[Request], None]:
    """A dependency for a route that takes more than the default, a file upload say:
    ``dependencies=[Depends(allow_body(10 * 1024 * 1024))]``. The route reads its body
    itself (``request.stream()``), after its dependencies have run."""

    def raise_limit(request: Request) -> None:
        budget = request.scope.get(_SCOPE_KEY)
        if isinstance(budget, _Budget):
            budget.limit = limit

    return raise_limit


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None or not value.isdigit():
        return None
    return int(value)
