from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, through one session that ends at ``expires_at``."""

    user_id: str
    name: str
    email: str
    session_id: str
    expires_at: datetime
