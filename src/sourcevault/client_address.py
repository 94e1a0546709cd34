"""The address a request or socket comes from, as the limits count it.

uvicorn puts the peer's address in the ASGI scope, replaced by the one in ``X-Forwarded-For``
only when the peer is one of ``SOURCEVAULT_TRUSTED_PROXIES`` (``serving.uvicorn_options``),
so a client cannot name its own address to dodge a limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UNKNOWN = "unknown"  # a peer with no address (a Unix socket): counted as one client


def client_address(scope: Mapping[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else UNKNOWN
