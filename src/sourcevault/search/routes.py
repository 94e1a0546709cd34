from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from sourcevault.auth.dependencies import CurrentUser, Db
from sourcevault.http_errors import ERROR_RESPONSES
from sourcevault.schema import WireModel
from sourcevault.search import service
from sourcevault.search.text import MAX_QUERY
from sourcevault.sources.schemas import SourceOut

router = APIRouter(prefix="/api", tags=["search"], responses=ERROR_RESPONSES)

SearchQuery = Annotated[str | None, Query(max_length=MAX_QUERY)]
TagFilter = Annotated[list[str] | None, Query()]


class SearchPage(WireModel):
    sources: list[SourceOut]
    next_cursor: str | None


@router.get("/search", response_model=SearchPage)
async def search(
    user: CurrentUser,
    db: Db,
    q: SearchQuery = None,
    tag: TagFilter = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> SearchPage:
    """Sources of every vault the caller is a member of that hold every word of ``q`` and
    every ``tag``, best match first."""
    sources, next_cursor = await service.search_all(db, user, q, tag or [], limit, cursor)
    return SearchPage(sources=sources, next_cursor=next_cursor)
