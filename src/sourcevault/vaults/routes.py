from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from sourcevault.auth.dependencies import Ctx, CurrentUser, Db
from sourcevault.http_errors import ERROR_RESPONSES
from sourcevault.realtime.schemas import PresenceList
from sourcevault.schema import PathId
from sourcevault.vaults import service
from sourcevault.vaults.access import role_in
from sourcevault.vaults.schemas import (
    MemberAdd,
    MemberEnvelope,
    MemberList,
    MemberUpdate,
    VaultCreate,
    VaultEnvelope,
    VaultList,
    VaultOverviewList,
    VaultUpdate,
)

router = APIRouter(prefix="/api", tags=["vaults"], responses=ERROR_RESPONSES)


@router.get("/vaults", response_model=VaultList)
async def list_vaults(user: CurrentUser, db: Db) -> VaultList:
    return VaultList(vaults=await service.list_vaults(db, user))


# Not under /api/vaults/, where "overview" would also be a vault id (PATCH, DELETE).
@router.get("/overview", response_model=VaultOverviewList)
async def vault_overview(user: CurrentUser, db: Db) -> VaultOverviewList:
    """The caller's vaults, as ``GET /api/vaults`` lists them (same order, each Vault with its
    usual keys), each with its member count and its latest event (null when it has none): what
    a list of vaults shows, in one read instead of two per vault."""
    return VaultOverviewList(vaults=await service.list_overview(db, user))


@router.post("/vaults", status_code=201, response_model=VaultEnvelope)
async def create_vault(body: VaultCreate, user: CurrentUser, ctx: Ctx) -> VaultEnvelope:
    return VaultEnvelope(vault=await service.create_vault(ctx, user, body))


@router.get("/vaults/{vault_id}", response_model=VaultEnvelope)
async def get_vault(vault_id: PathId, user: CurrentUser, db: Db) -> VaultEnvelope:
    return VaultEnvelope(vault=await service.get_vault(db, user, vault_id))


@router.patch("/vaults/{vault_id}", response_model=VaultEnvelope)
async def update_vault(
    vault_id: PathId, body: VaultUpdate, user: CurrentUser, ctx: Ctx
) -> VaultEnvelope:
    return VaultEnvelope(vault=await service.update_vault(ctx, user, vault_id, body))


@router.delete("/vaults/{vault_id}", status_code=204, response_class=Response)
async def delete_vault(vault_id: PathId, user: CurrentUser, ctx: Ctx) -> Response:
    await service.delete_vault(ctx, user, vault_id)
    return Response(status_code=204)


@router.get("/vaults/{vault_id}/members", response_model=MemberList)
async def list_members(vault_id: PathId, user: CurrentUser, db: Db) -> MemberList:
    return MemberList(members=await service.list_members(db, user, vault_id))


@router.post("/vaults/{vault_id}/members", status_code=201, response_model=MemberEnvelope)
async def add_member(
    vault_id: PathId, body: MemberAdd, user: CurrentUser, ctx: Ctx
) -> MemberEnvelope:
    return MemberEnvelope(member=await service.add_member(ctx, user, vault_id, body))


@router.patch("/vaults/{vault_id}/members/{user_id}", response_model=MemberEnvelope)
async def update_member(
    vault_id: PathId, user_id: PathId, body: MemberUpdate, user: CurrentUser, ctx: Ctx
) -> MemberEnvelope:
    member = await service.update_member(ctx, user, vault_id, user_id, body.role)
    return MemberEnvelope(member=member)


@router.delete("/vaults/{vault_id}/members/{user_id}", status_code=204, response_class=Response)
async def remove_member(vault_id: PathId, user_id: PathId, user: CurrentUser, ctx: Ctx) -> Response:
    await service.remove_member(ctx, user, vault_id, user_id)
    return Response(status_code=204)


@router.get("/vaults/{vault_id}/presence", response_model=PresenceList)
async def get_presence(vault_id: PathId, user: CurrentUser, db: Db, request: Request) -> Any:
    """Who is in the vault's room now: the list a ``vault:join`` ack carries."""
    await role_in(db, vault_id, user.user_id)  # a non-member gets 404, as for the vault
    return {"presence": await request.app.state.realtime.presence.listing(vault_id)}
