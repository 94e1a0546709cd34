"""Which origins may send cookie-authenticated unsafe requests and open browser sockets."""

from __future__ import annotations

from urllib.parse import urlsplit


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL (an Origin header is already one)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def own_origin(scheme: str, host: str | None) -> str | None:
    if not host:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return f"{scheme}://{host.lower()}"


def is_allowed(origin: str | None, own: str | None, allowed: list[str]) -> bool:
    if origin is None:
        return False
    candidate = origin_of(origin)
    if candidate is None:
        return False
    return candidate == own or candidate in {o.lower().rstrip("/") for o in allowed}
