"""An invite: a secret (only its hash is kept) that lets a signed-in user join a vault."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sourcevault.db.base import Base, UTCDateTime, new_id, utcnow


class Invite(Base):
    __tablename__ = "invites"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    vault_id: Mapped[str] = mapped_column(ForeignKey("vaults.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    # SHA-256 of the secret in the link; the secret itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    max_uses: Mapped[int | None] = mapped_column(Integer, default=None)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    # A revoked invite is kept, so that its link answers "revoked" rather than "unknown".
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Who made it, as they were then (they may later leave the vault).
    created_by_id: Mapped[str] = mapped_column(String(32))
    created_by_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
