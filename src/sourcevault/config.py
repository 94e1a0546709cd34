"""Settings, read from the environment (and a ``.env`` file) with the ``SOURCEVAULT_`` prefix.

Nothing here is built at import time: ``get_settings()`` reads the environment when called,
and ``create_app(settings)`` takes the result, so tests pass their own.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./sourcevault.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOURCEVAULT_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: SecretStr | None = None
    # Instances that share a Redis and a database talk on this pub/sub channel; give each
    # deployment sharing one Redis (staging, production) its own.
    redis_channel: str = Field(default="sourcevault", min_length=1)
    session_max_age: int = Field(default=30 * 24 * 3600, gt=0)
    # Seconds between two deletions of expired sessions' rows (auth/pruning.py).
    session_prune_interval: float = Field(default=3600.0, gt=0)
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cookie_secure: bool = False
    allow_signup: bool = True

    # The largest HTTP request body a route takes unless it declares its own (bytes).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # The largest file ``POST /api/vaults/{id}/import`` takes (bytes), and the most entries
    # one import may hold (all in one transaction and one answer naming every new source).
    import_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    import_max_entries: int = Field(default=100_000, ge=1)
    # Addresses (or networks) of the reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; empty, no proxy header is.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Prometheus metrics are served on their own listener, ``host:port``; empty: not at all.
    metrics_bind: str = "127.0.0.1:9464"

    # Login throttling (auth/throttle.py). Per email and client address: after this many
    # failures within the window, each further failure makes the next attempt wait, the wait
    # doubling from ``login_delay_seconds`` up to ``login_max_delay_seconds``. Per client
    # address, across emails: this many failures within the window refuse its logins until
    # the window ends.
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window: int = Field(default=300, ge=1)
    login_delay_seconds: float = Field(default=1.0, gt=0)
    login_max_delay_seconds: float = Field(default=900.0, gt=0)
    login_address_max_failures: int = Field(default=100, ge=1)

    # Socket.IO abuse limits.
    socket_max_payload: int = Field(default=64 * 1024, ge=1024)
    socket_rate_per_second: float = Field(default=20.0, gt=0)
    socket_rate_burst: int = Field(default=40, ge=1)
    # A socket with this many frames waiting to be written is dropped as a slow reader.
    socket_max_queued: int = Field(default=1000, ge=10)
    socket_ping_interval: float = Field(default=25.0, gt=0)
    socket_ping_timeout: float = Field(default=20.0, gt=0)
    # Sockets open at once on this instance, per user and per client address; past either,
    # a handshake is refused with RATE_LIMITED.
    socket_max_per_user: int = Field(default=50, ge=1)
    socket_max_per_address: int = Field(default=200, ge=1)

    # Presence across instances (realtime/presence.py): an instance that stops renewing its
    # presence for this many seconds (killed, frozen) has its users' presence swept away by
    # the others, which renew theirs and look for such instances every third of it.
    presence_ttl: float = Field(default=15.0, ge=0.3, le=60.0)

    # ``stock`` runs python-socketio, python-engineio and uvicorn as they ship, and SQLAlchemy's
    # own aiosqlite adapter: none of the transport package's reaches (realtime/transport/).
    transport: Literal["fast", "stock"] = "fast"
    sqlite_adapter: Literal["fast", "stock"] = "fast"

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: list[str]) -> list[str]:
        for proxy in value:
            ipaddress.ip_network(proxy, strict=False)  # a ValueError names the bad one
        return value

    @field_validator("metrics_bind")
    @classmethod
    def _valid_bind(cls, value: str) -> str:
        if value:
            metrics_address(value)
        return value

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        return metrics_address(self.metrics_bind) if self.metrics_bind else None


def metrics_address(bind: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6) as a pair; a ValueError when it is not one."""
    host, sep, port = bind.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected host:port, got {bind!r}")
    return host, int(port)


def get_settings() -> Settings:
    return Settings()
