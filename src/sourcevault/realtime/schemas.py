"""Socket event payloads: the REST bodies plus the id the REST path would carry."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt, StringConstraints

from sourcevault.schema import InputModel, Timestamp, WireModel
from sourcevault.sources.schemas import SourceCreate, SourceUpdate
from sourcevault.vaults.roles import Role

Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class JoinIn(InputModel):
    vault_id: Id
    after: Annotated[StrictInt, Field(ge=0, le=2**53)] | None = None


class LeaveIn(InputModel):
    vault_id: Id


class SourceCreateIn(SourceCreate):
    vault_id: Id


class SourceUpdateIn(SourceUpdate):
    source_id: Id

    def changes(self) -> SourceUpdate:
        fields = self.model_dump(exclude_unset=True, exclude={"source_id"})
        return SourceUpdate.model_validate(fields)


class SourceDeleteIn(InputModel):
    source_id: Id


class PresenceOut(WireModel):
    """A user with at least one socket in the vault's room, since their first joined."""

    user_id: str
    user_name: str
    role: Role
    since: Timestamp


class PresenceList(WireModel):
    presence: list[PresenceOut]
