from __future__ import annotations

from typing import Annotated, Any, cast

from pydantic import Field, StringConstraints, field_validator

from sourcevault.events import MemberPayload, VaultPayload
from sourcevault.schema import (
    NOT_BLANK,
    Email,
    InputModel,
    Timestamp,
    WireModel,
    not_null,
    not_null_schema,
)
from sourcevault.vaults.roles import Role

VaultName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK
]
Description = Annotated[str, StringConstraints(max_length=2000)]


class VaultCreate(InputModel):
    name: VaultName
    description: Description | None = None


class VaultUpdate(InputModel):
    name: VaultName | None = Field(None, json_schema_extra=not_null_schema)
    description: Description | None = None

    _not_null = field_validator("name", mode="before")(not_null)


class MemberAdd(InputModel):
    email: Email
    role: Role


class MemberUpdate(InputModel):
    role: Role


class VaultOut(WireModel):
    id: str
    name: str
    description: str | None
    role: Role
    seq: int
    created_at: Timestamp
    updated_at: Timestamp

    def payload(self) -> VaultPayload:
        """The vault as its events carry it."""
        return cast("VaultPayload", self.wire())


class MemberOut(WireModel):
    user_id: str
    name: str
    email: str
    role: Role
    joined_at: Timestamp

    def payload(self) -> MemberPayload:
        """The member as their events carry them."""
        return cast("MemberPayload", self.wire())


class VaultEnvelope(WireModel):
    vault: VaultOut


class VaultList(WireModel):
    vaults: list[VaultOut]


class MemberEnvelope(WireModel):
    member: MemberOut


class MemberList(WireModel):
    members: list[MemberOut]


class VaultOverview(WireModel):
    """One row of the vault list: the vault as ``GET /api/vaults`` lists it, how many members
    it has, and its latest event (null while it has none)."""

    vault: VaultOut
    member_count: int
    last_event: dict[str, Any] | None


class VaultOverviewList(WireModel):
    vaults: list[VaultOverview]
