from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from sourcevault.auth.dependencies import Ctx, CurrentUser, Db
from sourcevault.http_errors import ERROR_RESPONSES
from sourcevault.schema import PathId
from sourcevault.search import service as search
from sourcevault.search.routes import SearchQuery, TagFilter
from sourcevault.sources import service
from sourcevault.sources.schemas import SourceCreate, SourceEnvelope, SourcePage, SourceUpdate

router = APIRouter(prefix="/api", tags=["sources"], responses=ERROR_RESPONSES)


@router.get("/vaults/{vault_id}/sources", response_model=SourcePage)
async def list_sources(
    vault_id: PathId,
    user: CurrentUser,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    q: SearchQuery = None,
    tag: TagFilter = None,
) -> SourcePage:
    """Newest first; with ``q`` or ``tag``, only the matching sources, best match first."""
    if q is not None or tag:
        found = await search.search_vault(db, user, vault_id, q, tag or [], limit, cursor)
        sources, seq, next_cursor = found
    else:
        sources, seq, next_cursor = await service.list_sources(db, user, vault_id, limit, cursor)
    return SourcePage(sources=sources, seq=seq, next_cursor=next_cursor)


@router.post("/vaults/{vault_id}/sources", status_code=201, response_model=SourceEnvelope)
async def create_source(
    vault_id: PathId, body: SourceCreate, user: CurrentUser, ctx: Ctx
) -> SourceEnvelope:
    return SourceEnvelope(source=await service.create_source(ctx, user, vault_id, body))


@router.get("/sources/{source_id}", response_model=SourceEnvelope)
async def get_source(source_id: PathId, user: CurrentUser, db: Db) -> SourceEnvelope:
    return SourceEnvelope(source=await service.get_source(db, user, source_id))


@router.patch("/sources/{source_id}", response_model=SourceEnvelope)
async def update_source(
    source_id: PathId, body: SourceUpdate, user: CurrentUser, ctx: Ctx
) -> SourceEnvelope:
    return SourceEnvelope(source=await service.update_source(ctx, user, source_id, body))


@router.delete("/sources/{source_id}", status_code=204, response_class=Response)
async def delete_source(source_id: PathId, user: CurrentUser, ctx: Ctx) -> Response:
    await service.delete_source(ctx, user, source_id)
    return Response(status_code=204)
