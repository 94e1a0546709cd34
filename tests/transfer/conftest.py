"""Import and export tests use the socket and client fixtures of their neighbours."""

from __future__ import annotations

from pathlib import Path

from tests.client.conftest import proxy, watched
from tests.realtime.conftest import open_socket

FIXTURES = Path(__file__).parent / "fixtures"

__all__ = ["FIXTURES", "open_socket", "proxy", "watched"]
