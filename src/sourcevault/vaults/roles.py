"""Roles and the one permission check, shared by REST, socket handlers and the CLI."""

from __future__ import annotations

from enum import StrEnum

from sourcevault.errors import InsufficientPermissions


class Role(StrEnum):
    OWNER = "owner"
    CONTRIBUTOR = "contributor"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANK = {Role.VIEWER: 0, Role.CONTRIBUTOR: 1, Role.OWNER: 2}


def require_role(role: Role | str, needed: Role) -> Role:
    """Raise ``InsufficientPermissions`` unless ``role`` is at least ``needed``."""
    have = Role(role)
    if not have.allows(needed):
        raise InsufficientPermissions()
    return have
