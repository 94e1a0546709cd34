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


def documented_error(description: str) -> dict[str, Any]:
    """An error answer in a route's ``responses``: the description, and the body pointing at
    ``ErrorBody``'s schema, as FastAPI writes it for ``{"model": ErrorBody}``.

    Not ``{"model": ErrorBody}`` itself: FastAPI builds a serializer for every model a route's
    ``responses`` names, route by route, though only the OpenAPI document reads it. With seven
    error statuses on some thirty routes, that was most of the work of building the routes, at
    every start. One status per route still names the model (``ERROR_RESPONSES``' 401), which
    puts ``ErrorBody`` in the document's components; the document is the same either way."""
    return {"description": description, "content": _ERROR_CONTENT}


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}

# Documented on every API route, so the OpenAPI schema says what an error looks like.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "UNAUTHORIZED: no valid session or token"},
    403: documented_error("INSUFFICIENT_PERMISSIONS or ORIGIN_REJECTED"),
    404: documented_error("NOT_FOUND: no such resource, or the caller is not a member"),
    409: documented_error("CONFLICT"),
    413: documented_error("PAYLOAD_TOO_LARGE: the body is over the server's limit"),
    422: documented_error("VALIDATION_ERROR, with details"),
    429: documented_error("RATE_LIMITED"),
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
