from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from sourcevault.audit.service import list_events
from sourcevault.auth.dependencies import CurrentUser, Db
from sourcevault.http_errors import ERROR_RESPONSES
from sourcevault.schema import PathId, WireModel
from sourcevault.vaults.access import role_in

router = APIRouter(prefix="/api", tags=["events"], responses=ERROR_RESPONSES)


class EventPage(WireModel):
    events: list[dict[str, Any]]
    has_more: bool


@router.get("/vaults/{vault_id}/events", response_model=EventPage)
async def events(
    vault_id: PathId,
    user: CurrentUser,
    db: Db,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventPage:
    await role_in(db, vault_id, user.user_id)
    events, has_more = await list_events(db, vault_id, after, limit)
    return EventPage(events=events, has_more=has_more)
