"""``POST /api/vaults/{id}/import`` and ``GET /api/vaults/{id}/export``: thin edges over
``transfer.service``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from sourcevault.auth.dependencies import Ctx, CurrentUser
from sourcevault.body_limit import allow_body
from sourcevault.http_errors import ERROR_RESPONSES
from sourcevault.schema import PathId
from sourcevault.transfer import service
from sourcevault.transfer.readers import ImportFormat
from sourcevault.transfer.writers import WRITERS, ExportFormat

router = APIRouter(prefix="/api", tags=["import and export"], responses=ERROR_RESPONSES)


async def import_limit(request: Request, ctx: Ctx) -> None:
    """The import's own body limit (``SOURCEVAULT_IMPORT_MAX_BYTES``), set before the body is
    read; every other route keeps the default."""
    allow_body(ctx.settings.import_max_bytes)(request)


_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file, as it is (UTF-8)",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/vaults/{vault_id}/import",
    dependencies=[Depends(import_limit)],
    openapi_extra=_IMPORT_BODY,
    responses={
        200: {"description": "a dry run: what would be imported and what skipped"},
        201: {"description": "imported: the event's import object and every entry's outcome"},
    },
)
async def import_file(
    vault_id: PathId,
    request: Request,
    user: CurrentUser,
    ctx: Ctx,
    fmt: Annotated[ImportFormat, Query(alias="format")],
    dry_run: Annotated[bool, Query(alias="dryRun")] = False,
) -> JSONResponse:

    async def receive() -> bytes:
        # Read here, not as a declared body: FastAPI reads those before the limit is raised.
        return b"".join([chunk async for chunk in request.stream()])

    result = await service.import_sources(ctx, user, vault_id, fmt, receive, dry_run=dry_run)
    return JSONResponse(result.wire(), status_code=200 if dry_run else 201)


@router.get(
    "/vaults/{vault_id}/export",
    response_class=StreamingResponse,
    responses={200: {"description": "the vault's sources as a file, streamed"}},
)
async def export_file(
    vault_id: PathId,
    user: CurrentUser,
    ctx: Ctx,
    fmt: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.JSON,
) -> StreamingResponse:
    meta = await service.export_meta(ctx, user, vault_id)
    writer = WRITERS[fmt]
    name = f"{meta['vault']['name']}.{writer.extension}"
    ascii_name = "".join(c if c.isalnum() or c in " ._-" else "_" for c in name if c.isascii())
    disposition = (
        f"attachment; filename=\"{ascii_name or 'vault'}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    return StreamingResponse(
        (chunk.encode() async for chunk in service.export_text(ctx, vault_id, fmt, meta)),
        media_type=writer.media_type,
        headers={"Content-Disposition": disposition},
    )
