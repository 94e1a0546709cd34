from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.convertors import Convertor, register_url_convertor

from sourcevault.auth.dependencies import Ctx, CurrentUser, Db
from sourcevault.http_errors import ERROR_RESPONSES, documented_error
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


class InviteId(Convertor[str]):
    """An invite id in a path (32 hex digits, as ``new_id`` makes them), so that
    ``/api/invites/accept`` and ``/api/invites/preview`` are never taken for an invite's path:
    ``DELETE /api/invites/accept`` is a 404, and their ``Allow`` names their own methods only."""

    regex = "[0-9a-f]{32}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("invite_id", InviteId())

router = APIRouter(
    prefix="/api",
    tags=["invites"],
    responses={
        **ERROR_RESPONSES,
        410: documented_error("INVITE_GONE: revoked, expired or used up"),
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


@router.delete("/invites/{invite_id:invite_id}", status_code=204, response_class=Response)
async def revoke_invite(
    invite_id: Annotated[str, Path(pattern=f"^{InviteId.regex}$")], user: CurrentUser, ctx: Ctx
) -> Response:
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
