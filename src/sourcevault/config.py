"""Settings, read from the environment (and a ``.env`` file) with the ``SOURCEVAULT_`` prefix.

Nothing here is built at import time: ``get_settings()`` reads the environment when called,
and ``create_app(settings)`` takes the result, so tests pass their own.
"""

from __future__ import annotations

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
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cookie_secure: bool = False
    allow_signup: bool = True

    # Login throttling: this many failures for one email within the window lock that
    # email's logins for lockout seconds; the lock always ends by itself.
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window: int = Field(default=300, ge=1)
    login_lockout_seconds: int = Field(default=60, ge=1)

    # Socket.IO abuse limits.
    socket_max_payload: int = Field(default=64 * 1024, ge=1024)
    socket_rate_per_second: float = Field(default=20.0, gt=0)
    socket_rate_burst: int = Field(default=40, ge=1)
    # A socket with this many frames waiting to be written is dropped as a slow reader.
    socket_max_queued: int = Field(default=1000, ge=10)
    socket_ping_interval: float = Field(default=25.0, gt=0)
    socket_ping_timeout: float = Field(default=20.0, gt=0)

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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def get_settings() -> Settings:
    return Settings()
