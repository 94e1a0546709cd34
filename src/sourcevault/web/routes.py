"""The multi-client test page: ``GET /realtime-test``, its static files, and the stock
``socket.io-client`` script served from the project's npm install (never a CDN, never a copy
kept in the repository)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse

from sourcevault.errors import NotFound, Unavailable

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).resolve().parent / "static"
# The page's own files; nothing else under static/ is served.
PAGE_FILES = {"realtime.js": "text/javascript", "realtime.css": "text/css"}
VENDOR_FILES = {
    "socket.io.min.js": "text/javascript",
    "socket.io.min.js.map": "application/json",
}
NO_CACHE = {"Cache-Control": "no-cache"}
DEMO_LOGINS = "demo_logins"


def node_modules_candidates() -> list[Path]:
    """Where ``npm ci`` puts the packages: the repository root (a checkout) or the working
    folder (where ``sourcevault serve`` runs from)."""
    return [Path(__file__).resolve().parents[3] / "node_modules", Path.cwd() / "node_modules"]


def client_script(name: str) -> Path | None:
    for root in node_modules_candidates():
        path = root / "socket.io-client" / "dist" / name
        if path.is_file():
            return path
    return None


def enable_demo(app: FastAPI, logins: list[dict[str, str]]) -> None:
    """Offer these logins on the test page (``serve --demo`` calls this)."""
    setattr(app.state, DEMO_LOGINS, logins)


@router.get("/realtime-test")
async def page() -> FileResponse:
    return FileResponse(STATIC / "realtime.html", media_type="text/html", headers=NO_CACHE)


@router.get("/realtime-test/static/{name}")
async def static_file(name: str) -> FileResponse:
    if name not in PAGE_FILES:
        raise NotFound()
    return FileResponse(STATIC / name, media_type=PAGE_FILES[name], headers=NO_CACHE)


@router.get("/realtime-test/vendor/{name}")
async def vendor_file(name: str) -> FileResponse:
    if name not in VENDOR_FILES:
        raise NotFound()
    path = client_script(name)
    if path is None:
        raise Unavailable(
            "The socket.io-client npm package is not installed: run `npm ci` (or `make install`)"
            " in the project folder"
        )
    return FileResponse(
        path, media_type=VENDOR_FILES[name], headers={"Cache-Control": "max-age=3600"}
    )


@router.get("/realtime-test/demo-logins")
async def demo_logins(request: Request) -> dict[str, Any]:
    """The demo users' logins, only when the server was started with ``--demo``."""
    logins = getattr(request.app.state, DEMO_LOGINS, None)
    if logins is None:
        raise NotFound("The server was not started with --demo")
    return {"logins": logins}
