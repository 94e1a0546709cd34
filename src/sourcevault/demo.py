"""The demo data ``serve --demo`` creates on an empty database: three users, one vault."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from sourcevault.auth import service as auth
from sourcevault.auth.models import User
from sourcevault.auth.principal import Principal
from sourcevault.auth.schemas import RegisterIn
from sourcevault.context import Context
from sourcevault.db.base import utcnow
from sourcevault.sources import service as sources
from sourcevault.sources.schemas import SourceCreate
from sourcevault.vaults import service as vaults
from sourcevault.vaults.roles import Role
from sourcevault.vaults.schemas import MemberAdd, VaultCreate


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: Role


DEMO_LOGINS = (
    DemoLogin("owner@demo.sourcevault.dev", "demo-owner-pass", Role.OWNER),
    DemoLogin("contributor@demo.sourcevault.dev", "demo-contributor-pass", Role.CONTRIBUTOR),
    DemoLogin("viewer@demo.sourcevault.dev", "demo-viewer-pass", Role.VIEWER),
)

DEMO_SOURCES = (
    SourceCreate(
        title="Attention Is All You Need",
        url="https://arxiv.org/abs/1706.03762",
        annotation="The transformer paper.",
        tags=["ml", "nlp"],
    ),
    SourceCreate(
        title="The Socket.IO protocol",
        url="https://socket.io/docs/v4/socket-io-protocol/",
        tags=["realtime"],
    ),
    SourceCreate(title="A note without a link", annotation="Sources need not have a URL."),
)


async def seed(ctx: Context) -> tuple[DemoLogin, ...] | None:
    """Create the demo users and vault if the database has no users; return their logins."""
    async with ctx.sessionmaker() as session:
        if await session.scalar(select(func.count()).select_from(User)):
            return None
    users = [
        await auth.register(
            ctx, RegisterIn(email=d.email, name=f"Demo {d.role.value}", password=d.password)
        )
        for d in DEMO_LOGINS
    ]
    owner = Principal(users[0].id, users[0].name, users[0].email, "demo-seed", utcnow())
    vault = await vaults.create_vault(
        ctx, owner, VaultCreate(name="Demo vault", description="Try it in three windows.")
    )
    for login in DEMO_LOGINS[1:]:
        await vaults.add_member(ctx, owner, vault.id, MemberAdd(email=login.email, role=login.role))
    for source in DEMO_SOURCES:
        await sources.create_source(ctx, owner, vault.id, source)
    return DEMO_LOGINS
