"""Every model, imported in one place so metadata (and Alembic) sees all tables."""

from sourcevault.audit.models import AuditEvent
from sourcevault.auth.models import AuthSession, User
from sourcevault.db.base import Base
from sourcevault.invites.models import Invite
from sourcevault.sources.models import Source
from sourcevault.vaults.models import Membership, Vault

__all__ = [
    "AuditEvent",
    "AuthSession",
    "Base",
    "Invite",
    "Membership",
    "Source",
    "User",
    "Vault",
]
