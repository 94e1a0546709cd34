"""Reading a caller's role, always from the database (never a cache a revocation could leave
stale). A non-member and a missing vault look the same: ``NotFound``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sourcevault.errors import NotFound
from sourcevault.vaults.models import Membership
from sourcevault.vaults.roles import Role


async def role_in(session: AsyncSession, vault_id: str, user_id: str) -> Role:
    role = await session.scalar(
        select(Membership.role).where(
            Membership.vault_id == vault_id, Membership.user_id == user_id
        )
    )
    if role is None:
        raise NotFound("Vault not found")
    return Role(role)
