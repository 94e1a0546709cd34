from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from sourcevault.schema import InputModel, Timestamp, WireModel
from sourcevault.sources.schemas import Creator
from sourcevault.vaults.roles import Role
from sourcevault.vaults.schemas import VaultOut

MAX_EXPIRES_IN = 365 * 24 * 3600  # a year
MAX_USES = 10_000

ExpiresIn = Annotated[int, Field(strict=True, ge=60, le=MAX_EXPIRES_IN)]
MaxUses = Annotated[int, Field(strict=True, ge=1, le=MAX_USES)]
# A token is 43 URL-safe characters; anything much longer is not one of ours.
Token = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class InviteCreate(InputModel):
    role: Role
    expires_in_seconds: ExpiresIn | None = None
    max_uses: MaxUses | None = None


class InviteAccept(InputModel):
    token: Token


class InviteOut(WireModel):
    id: str
    vault_id: str
    role: Role
    # The link with the secret: only in the answer that creates the invite, null afterwards.
    url: str | None
    expires_at: Timestamp | None
    max_uses: int | None
    uses: int
    created_by: Creator
    created_at: Timestamp


class InviteEnvelope(WireModel):
    invite: InviteOut


class InviteList(WireModel):
    invites: list[InviteOut]


class InvitePreview(WireModel):
    vault_name: str
    inviter_name: str
    role: Role
    expires_at: Timestamp | None


class Accepted(WireModel):
    vault: VaultOut
    role: Role
