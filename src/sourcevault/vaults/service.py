"""Vaults and their members. Reads take a session; every change goes through the unit of work
(``vault_mutation``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sourcevault.audit.models import AuditEvent
from sourcevault.auth.models import User
from sourcevault.auth.principal import Principal
from sourcevault.context import Context
from sourcevault.db.base import utcnow
from sourcevault.db.engine import write_session
from sourcevault.errors import Conflict, NotFound, ValidationFailed
from sourcevault.events import EventType, access_revoked, role_changed
from sourcevault.unit_of_work import vault_mutation
from sourcevault.vaults.access import role_in
from sourcevault.vaults.models import Membership, Vault
from sourcevault.vaults.roles import Role
from sourcevault.vaults.schemas import (
    MemberAdd,
    MemberOut,
    VaultCreate,
    VaultOut,
    VaultOverview,
    VaultUpdate,
)


def vault_out(vault: Vault, role: Role | str) -> VaultOut:
    return VaultOut(
        id=vault.id,
        name=vault.name,
        description=vault.description,
        role=Role(role),
        seq=vault.seq,
        created_at=vault.created_at,
        updated_at=vault.updated_at,
    )


def member_out(membership: Membership, user: User) -> MemberOut:
    return MemberOut(
        user_id=user.id,
        name=user.name,
        email=user.email,
        role=Role(membership.role),
        joined_at=membership.joined_at,
    )


async def list_vaults(session: AsyncSession, user: Principal) -> list[VaultOut]:
    rows = await session.execute(
        select(Vault, Membership.role)
        .join(Membership, Membership.vault_id == Vault.id)
        .where(Membership.user_id == user.user_id)
        .order_by(Vault.created_at, Vault.id)
    )
    return [vault_out(vault, role) for vault, role in rows]


async def list_overview(session: AsyncSession, user: Principal) -> list[VaultOverview]:
    """The caller's vaults as ``list_vaults`` lists them, each with its member count and its
    latest event (the one numbered with the vault's ``seq``): the vault list in one statement,
    so one snapshot, instead of two reads per vault."""
    members = (
        select(func.count())
        .select_from(Membership)
        .where(Membership.vault_id == Vault.id)
        .correlate(Vault)
        .scalar_subquery()
    )
    last = (
        select(AuditEvent.data)
        .where(AuditEvent.vault_id == Vault.id, AuditEvent.seq == Vault.seq)
        .correlate(Vault)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Vault, Membership.role, members, last)
        .join(Membership, Membership.vault_id == Vault.id)
        .where(Membership.user_id == user.user_id)
        .order_by(Vault.created_at, Vault.id)
    )
    return [
        VaultOverview(vault=vault_out(vault, role), member_count=count, last_event=event)
        for vault, role, count, event in rows
    ]


async def get_vault(session: AsyncSession, user: Principal, vault_id: str) -> VaultOut:
    role = await role_in(session, vault_id, user.user_id)
    vault = await session.get(Vault, vault_id)
    assert vault is not None
    return vault_out(vault, role)


async def create_vault(ctx: Context, user: Principal, data: VaultCreate) -> VaultOut:
    """A new vault with the caller as its owner. Nobody can be in its room yet, so it has no
    event: its ``seq`` starts at 0."""
    async with write_session(ctx.sessionmaker) as session:
        now = utcnow()  # one reading, so a new vault's createdAt equals its updatedAt
        vault = Vault(name=data.name, description=data.description, created_at=now, updated_at=now)
        session.add(vault)
        await session.flush()
        session.add(Membership(vault_id=vault.id, user_id=user.user_id, role=Role.OWNER))
    return vault_out(vault, Role.OWNER)


async def update_vault(ctx: Context, user: Principal, vault_id: str, data: VaultUpdate) -> VaultOut:
    async with vault_mutation(ctx, user, vault_id, Role.OWNER) as m:
        for key in data.model_fields_set:
            setattr(m.vault, key, getattr(data, key))
        m.vault.updated_at = utcnow()
        m.record(EventType.VAULT_UPDATED, lambda: vault_out(m.vault, m.role).payload())
    return vault_out(m.vault, m.role)


async def delete_vault(ctx: Context, user: Principal, vault_id: str) -> None:
    async with vault_mutation(ctx, user, vault_id, Role.OWNER) as m:
        members = (
            await m.session.scalars(
                select(Membership.user_id).where(Membership.vault_id == vault_id)
            )
        ).all()
        m.record(EventType.VAULT_DELETED, lambda: vault_out(m.vault, m.role).payload())
        await m.session.delete(m.vault)
        for member_id in members:
            m.notify(access_revoked(member_id, vault_id, "vault_deleted"))


async def list_members(session: AsyncSession, user: Principal, vault_id: str) -> list[MemberOut]:
    await role_in(session, vault_id, user.user_id)
    rows = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.vault_id == vault_id)
        .order_by(Membership.joined_at, User.id)
    )
    return [member_out(membership, member) for membership, member in rows]


async def add_member(ctx: Context, user: Principal, vault_id: str, data: MemberAdd) -> MemberOut:
    async with vault_mutation(ctx, user, vault_id, Role.OWNER) as m:
        member = await m.session.scalar(select(User).where(User.email == data.email))
        if member is None:
            # Not a 404: on this path that would read as "no such vault".
            raise ValidationFailed(
                [{"field": "email", "message": "No registered user has this email"}],
                "email: No registered user has this email",
            )
        if await m.session.get(Membership, (vault_id, member.id)) is not None:
            raise Conflict("That user is already a member of this vault")
        membership = Membership(
            vault_id=vault_id, user_id=member.id, role=data.role, joined_at=utcnow()
        )
        m.session.add(membership)
        out = member_out(membership, member)
        m.record(EventType.MEMBER_ADDED, out.payload())
    return out


async def _member(session: AsyncSession, vault_id: str, user_id: str) -> tuple[Membership, User]:
    row = (
        await session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.vault_id == vault_id, Membership.user_id == user_id)
        )
    ).first()
    if row is None:
        raise NotFound("Member not found")
    return row[0], row[1]


async def _owners(session: AsyncSession, vault_id: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.vault_id == vault_id, Membership.role == Role.OWNER)
    )
    return int(count or 0)


async def update_member(
    ctx: Context, user: Principal, vault_id: str, user_id: str, role: Role
) -> MemberOut:
    async with vault_mutation(ctx, user, vault_id, Role.OWNER) as m:
        membership, member = await _member(m.session, vault_id, user_id)
        if membership.role == role:
            return member_out(membership, member)  # nothing changed, nothing to announce
        if membership.role == Role.OWNER and await _owners(m.session, vault_id) <= 1:
            raise Conflict("A vault must keep at least one owner")
        membership.role = role
        out = member_out(membership, member)
        m.record(EventType.MEMBER_UPDATED, out.payload())
        m.notify(role_changed(user_id, vault_id, role))
    return out


async def remove_member(ctx: Context, user: Principal, vault_id: str, user_id: str) -> None:
    """An owner removes anyone; any member may remove themself (leave the vault)."""
    needed = Role.VIEWER if user_id == user.user_id else Role.OWNER
    async with vault_mutation(ctx, user, vault_id, needed) as m:
        membership, member = await _member(m.session, vault_id, user_id)
        if membership.role == Role.OWNER and await _owners(m.session, vault_id) <= 1:
            raise Conflict("A vault must keep at least one owner")
        out = member_out(membership, member)
        await m.session.delete(membership)
        m.record(EventType.MEMBER_REMOVED, out.payload())
        m.notify(access_revoked(user_id, vault_id, "removed"))
