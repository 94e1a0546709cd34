"""The one place domain errors become HTTP answers, in the contract's error body."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from sourcevault.errors import (
    AppError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    ValidationFailed,
)

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    # VALIDATION_ERROR: one detail per field; CONFLICT on an edit: {"source": the current one}.
    details: list[ErrorDetail] | dict[str, Any] | None = None


class ErrorBody(BaseModel):
    error: ErrorInfo


def _error(status: int, description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Documented on every API route, so the OpenAPI schema says what an error looks like.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error(401, "UNAUTHORIZED: no valid session or token"),
    403: _error(403, "INSUFFICIENT_PERMISSIONS or ORIGIN_REJECTED"),
    404: _error(404, "NOT_FOUND: no such resource, or the caller is not a member"),
    409: _error(409, "CONFLICT"),
    413: _error(413, "PAYLOAD_TOO_LARGE: the body is over the server's limit"),
    422: _error(422, "VALIDATION_ERROR, with details"),
    429: _error(429, "RATE_LIMITED"),
}


def error_response(exc: AppError) -> JSONResponse:
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": exc.body()}, status_code=exc.status, headers=headers)


_BY_STATUS: dict[int, type[AppError]] = {
    401: Unauthorized,
    404: NotFound,
    405: MethodNotAllowed,
    422: ValidationFailed,
}


METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's own ``Allow`` names only the
    methods of the first route whose path matches, and FastAPI has one route per method."""
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # A detail names the field or parameter as the caller sent it: "title", "limit".
        errors = list(exc.errors())
        return error_response(
            ValidationFailed.from_pydantic(errors, skip=("body", "query", "path"))
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot even decode (not UTF-8, say): to the
            # contract that is malformed JSON, like a body that decodes but does not parse.
            return error_response(
                ValidationFailed([{"field": "body", "message": "Malformed JSON"}])
            )
        if exc.status_code == 413:  # body_limit.BodyTooLarge, raised while reading
            return error_response(PayloadTooLarge(str(exc.detail)))
        cls = _BY_STATUS.get(exc.status_code)
        if cls is None or cls is ValidationFailed:
            body = {"code": "HTTP_ERROR", "message": str(exc.detail)}
            return JSONResponse({"error": body}, status_code=exc.status_code)
        response = error_response(cls())
        for name, value in (exc.headers or {}).items():
            response.headers.setdefault(name, value)
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not an answer: logged with its traceback here, never sent to the client.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = {"code": "INTERNAL_ERROR", "message": "Internal error"}
        return JSONResponse({"error": body}, status_code=500)
