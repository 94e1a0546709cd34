from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from sourcevault.auth.dependencies import Ctx, CurrentUser, Db
from sourcevault.http_errors import ERROR_RESPONSES, ErrorBody
from sourcevault.invites import service
from sourcevault.invites.schemas import (
    Accepted,
    InviteAccept,
    InviteCreate,
    InviteEnvelope,
    InviteList,
    InvitePreview,
    Token,
)
from sourcevault.schema import PathId

router = APIRouter(
    prefix="/api",
    tags=["invites"],
    responses={
        **ERROR_RESPONSES,
        410: {"model": ErrorBody, "description": "INVITE_GONE: revoked, expired or used up"},
    },
)


@router.post("/vaults/{vault_id}/invites", status_code=201, response_model=InviteEnvelope)
async def create_invite(
    vault_id: PathId, body: InviteCreate, request: Request, user: CurrentUser, ctx: Ctx
) -> InviteEnvelope:
    origin = str(request.base_url)
    return InviteEnvelope(invite=await service.create_invite(ctx, user, vault_id, body, origin))


@router.get("/vaults/{vault_id}/invites", response_model=InviteList)
async def list_invites(vault_id: PathId, user: CurrentUser, db: Db) -> InviteList:
    return InviteList(invites=await service.list_invites(db, user, vault_id))


@router.delete("/invites/{invite_id}", status_code=204, response_class=Response)
async def revoke_invite(invite_id: PathId, user: CurrentUser, ctx: Ctx) -> Response:
    await service.revoke_invite(ctx, user, invite_id)
    return Response(status_code=204)


@router.get("/invites/preview", response_model=InvitePreview)
async def preview_invite(token: Annotated[Token, Query()], db: Db) -> InvitePreview:
    """No sign-in needed: the link's holder sees where it leads before signing in or up."""
    return await service.preview(db, token)


@router.post("/invites/accept", response_model=Accepted)
async def accept_invite(body: InviteAccept, user: CurrentUser, ctx: Ctx) -> Accepted:
    vault, role = await service.accept(ctx, user, body.token)
    return Accepted(vault=vault, role=role)
