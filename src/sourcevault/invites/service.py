"""Invites: made, listed and revoked by owners; previewed by anyone holding the link; accepted
by any signed-in user, which makes them a member through the same unit of work as any change
to the vault (``member:added`` is logged in the transaction and broadcast after the commit).

Making and revoking an invite write no event: the contract's event types have none for it, and
the vault's event log is read by every member, while invites are the owners' business.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sourcevault.auth.principal import Principal
from sourcevault.auth.service import hash_token
from sourcevault.context import Context
from sourcevault.db.base import new_id, utcnow
from sourcevault.errors import InviteGone, NotFound
from sourcevault.events import EventType
from sourcevault.invites.models import Invite
from sourcevault.invites.schemas import InviteCreate, InviteOut, InvitePreview
from sourcevault.sources.schemas import Creator
from sourcevault.unit_of_work import vault_entry, vault_mutation
from sourcevault.vaults import service as vaults_service
from sourcevault.vaults.access import role_in
from sourcevault.vaults.models import Membership, Vault
from sourcevault.vaults.roles import Role, require_role
from sourcevault.vaults.schemas import MemberOut, VaultOut

# 32 random bytes: 256 bits, as a session token.
TOKEN_BYTES = 32


def invite_link(origin: str, token: str) -> str:
    """The link an owner shares. The secret rides in the fragment, which browsers never send
    to a server, so it stays out of access logs and ``Referer`` headers; the app's
    ``/invite`` page reads it and calls preview and accept."""
    return f"{origin.rstrip('/')}/invite#token={token}"


def invite_out(invite: Invite, url: str | None = None) -> InviteOut:
    return InviteOut(
        id=invite.id,
        vault_id=invite.vault_id,
        role=Role(invite.role),
        url=url,
        expires_at=invite.expires_at,
        max_uses=invite.max_uses,
        uses=invite.uses,
        created_by=Creator(user_id=invite.created_by_id, user_name=invite.created_by_name),
        created_at=invite.created_at,
    )


def gone_because(invite: Invite, now: datetime) -> str | None:
    """Why the invite can no longer be accepted, or None while it can."""
    if invite.revoked_at is not None:
        return "This invite has been revoked"
    if invite.expires_at is not None and invite.expires_at <= now:
        return "This invite has expired"
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return "This invite has been used up"
    return None


async def create_invite(
    ctx: Context, user: Principal, vault_id: str, data: InviteCreate, origin: str
) -> InviteOut:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    async with vault_mutation(ctx, user, vault_id, Role.OWNER) as m:
        now = utcnow()
        invite = Invite(
            id=new_id(),
            vault_id=vault_id,
            role=data.role,
            token_hash=hash_token(token),
            expires_at=None
            if data.expires_in_seconds is None
            else now + timedelta(seconds=data.expires_in_seconds),
            max_uses=data.max_uses,
            uses=0,
            created_by_id=user.user_id,
            created_by_name=user.name,
            created_at=now,
        )
        m.session.add(invite)
    return invite_out(invite, invite_link(origin, token))


async def list_invites(session: AsyncSession, user: Principal, vault_id: str) -> list[InviteOut]:
    """The vault's invites that are not revoked (expired and used-up ones too, so an owner
    sees them and can revoke them), oldest first, without their secrets."""
    require_role(await role_in(session, vault_id, user.user_id), Role.OWNER)
    invites = await session.scalars(
        select(Invite)
        .where(Invite.vault_id == vault_id, Invite.revoked_at.is_(None))
        .order_by(Invite.created_at, Invite.id)
    )
    return [invite_out(invite) for invite in invites]


async def revoke_invite(ctx: Context, user: Principal, invite_id: str) -> None:
    async with ctx.sessionmaker() as session:
        vault_id = await session.scalar(select(Invite.vault_id).where(Invite.id == invite_id))
    if vault_id is None:
        raise NotFound("Invite not found")
    try:
        async with vault_mutation(ctx, user, vault_id, Role.OWNER) as m:
            invite = await m.session.get(Invite, invite_id)
            if invite is None or invite.revoked_at is not None:
                raise NotFound("Invite not found")
            invite.revoked_at = utcnow()
    except NotFound:
        raise NotFound("Invite not found") from None  # a non-member learns nothing more


async def _by_token(session: AsyncSession, token: str) -> Invite:
    invite = await session.scalar(select(Invite).where(Invite.token_hash == hash_token(token)))
    if invite is None:
        raise NotFound("Invite not found")
    return invite


async def preview(session: AsyncSession, token: str) -> InvitePreview:
    """What the holder of a link may see before signing in: the vault's name, who invited
    them, the role and until when; nothing else of the vault."""
    invite = await _by_token(session, token)
    reason = gone_because(invite, utcnow())
    if reason is not None:
        raise InviteGone(reason)
    vault_name = await session.scalar(select(Vault.name).where(Vault.id == invite.vault_id))
    if vault_name is None:
        raise NotFound("Invite not found")
    return InvitePreview(
        vault_name=vault_name,
        inviter_name=invite.created_by_name,
        role=Role(invite.role),
        expires_at=invite.expires_at,
    )


async def accept(ctx: Context, user: Principal, token: str) -> tuple[VaultOut, Role]:
    """Join the invite's vault. A member already in it keeps their role and nothing happens.

    Atomic: the invite is read again and its use counted under the vault's lock, which every
    change to the vault takes, so of two users racing for an invite's last use one joins and
    the other is told it is used up."""
    async with ctx.sessionmaker() as session:
        found = await _by_token(session, token)
    try:
        async with vault_entry(ctx, user, found.vault_id, Role(found.role)) as m:
            invite = await _by_token(m.session, token)
            membership = await m.session.get(Membership, (m.vault.id, user.user_id))
            if membership is not None:
                role = Role(membership.role)
                return vaults_service.vault_out(m.vault, role), role
            reason = gone_because(invite, utcnow())
            if reason is not None:
                raise InviteGone(reason)
            invite.uses += 1
            role = Role(invite.role)
            membership = Membership(
                vault_id=m.vault.id, user_id=user.user_id, role=role, joined_at=utcnow()
            )
            m.session.add(membership)
            member = MemberOut(
                user_id=user.user_id,
                name=user.name,
                email=user.email,
                role=role,
                joined_at=membership.joined_at,
            )
            m.record(EventType.MEMBER_ADDED, member.payload())
    except NotFound:
        raise NotFound("Invite not found") from None  # the vault went while we waited
    return vaults_service.vault_out(m.vault, role), role
