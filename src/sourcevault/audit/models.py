from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sourcevault.db.base import Base, UTCDateTime


class AuditEvent(Base):
    """The contract's ``Event``, kept exactly as it was broadcast.

    ``vault_id`` has no foreign key on purpose: the log outlives a deleted vault.
    """

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("vault_id", "seq", name="uq_audit_events_vault_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vault_id: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
