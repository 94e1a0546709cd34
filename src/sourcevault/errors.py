"""The one exception tree. Services raise these; each edge translates them once.

    AppError                      code                      HTTP
    ├── Unauthorized              UNAUTHORIZED              401
    ├── AccessDenied              ACCESS_DENIED             403  (socket join/create)
    ├── InsufficientPermissions   INSUFFICIENT_PERMISSIONS  403
    ├── OriginRejected            ORIGIN_REJECTED           403
    ├── NotFound                  NOT_FOUND                 404
    ├── MethodNotAllowed          METHOD_NOT_ALLOWED        405
    ├── Conflict                  CONFLICT                  409  (+ details, on an edit)
    ├── InviteGone                INVITE_GONE               410  (revoked, expired, used up)
    ├── ValidationFailed          VALIDATION_ERROR          422  (+ details)
    ├── PayloadTooLarge           PAYLOAD_TOO_LARGE         413
    ├── RateLimited               RATE_LIMITED              429
    └── Unavailable               UNAVAILABLE               503

REST: ``sourcevault.http_errors`` maps them to responses. Socket.IO: the wrapper every client
event's handler runs in (``Realtime._acked`` in ``sourcevault.realtime.server``) turns them into
the ack ``{"ok": false, "error": ...}``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


class Unauthorized(AppError):
    code = "UNAUTHORIZED"
    status = 401
    default_message = "Authentication required"


class AccessDenied(AppError):
    code = "ACCESS_DENIED"
    status = 403
    default_message = "Access denied"


class InsufficientPermissions(AppError):
    code = "INSUFFICIENT_PERMISSIONS"
    status = 403
    default_message = "Insufficient permissions"


class OriginRejected(AppError):
    code = "ORIGIN_REJECTED"
    status = 403
    default_message = "Request origin is not allowed"


class NotFound(AppError):
    code = "NOT_FOUND"
    status = 404
    default_message = "Not found"


class MethodNotAllowed(AppError):
    code = "METHOD_NOT_ALLOWED"
    status = 405
    default_message = "Method not allowed"


class Conflict(AppError):
    code = "CONFLICT"
    status = 409
    default_message = "Conflict"

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details

    def body(self) -> dict[str, Any]:
        body = super().body()
        if self.details is not None:
            body["details"] = self.details
        return body


class InviteGone(AppError):
    """An invite that existed but can no longer be accepted; the message says why."""

    code = "INVITE_GONE"
    status = 410
    default_message = "This invite can no longer be used"


class PayloadTooLarge(AppError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413
    default_message = "Payload too large"


class RateLimited(AppError):
    code = "RATE_LIMITED"
    status = 429
    default_message = "Too many requests"

    def __init__(self, message: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(AppError):
    code = "UNAVAILABLE"
    status = 503
    default_message = "Service unavailable"


class ValidationFailed(AppError):
    code = "VALIDATION_ERROR"
    status = 422
    default_message = "Invalid request"

    def __init__(self, details: list[dict[str, str]], message: str | None = None) -> None:
        super().__init__(message)
        self.details = details

    def body(self) -> dict[str, Any]:
        return {**super().body(), "details": self.details}

    @classmethod
    def from_pydantic(cls, errors: list[Any], skip: tuple[str, ...] = ()) -> ValidationFailed:
        """Build from pydantic's ``errors()`` list: one detail per error, field as a dotted path.

        ``skip`` names the leading parts of a location to leave out (FastAPI's "body", "query"),
        so a detail names the field as the caller sent it, even a field called "body".
        """
        details = []
        for err in errors:
            loc = [str(p) for p in err.get("loc", ())]
            if loc and loc[0] in skip:
                loc = loc[1:]
            field = ".".join(loc) or "body"
            message = str(err.get("msg", "Invalid value"))
            if err.get("type") == "extra_forbidden":
                message = "Unknown field"
            elif err.get("type") == "json_invalid":
                field, message = "body", "Malformed JSON"
            details.append({"field": field, "message": message})
        first = details[0] if details else {"field": "body", "message": "Invalid request"}
        return cls(details, f"{first['field']}: {first['message']}")
