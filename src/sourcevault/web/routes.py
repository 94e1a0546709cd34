"""The browser side: the app at ``GET /`` and its ES modules under ``/app/``, the multi-client
test page at ``GET /realtime-test``, and the npm scripts both load (``socket.io-client`` and
htm's Preact bundle) under ``/vendor/``.

The npm scripts are never fetched from a CDN and never kept in the repository: a built wheel
carries copies made from ``node_modules`` at build time (``web/vendor/``, see setup.py and
vendor_files.py), and a checkout serves them straight from its ``node_modules``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse

from sourcevault.errors import NotFound, Unavailable
from sourcevault.web.vendor_files import VENDOR_FILES

router = APIRouter(include_in_schema=False)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
APP = HERE / "app"
# Where a built wheel keeps its copies of the npm files (absent in a checkout).
PACKAGED_VENDOR = HERE / "vendor"
# The pages' own files; nothing else under static/ or app/ is served.
PAGE_FILES = {"realtime.js": "text/javascript", "realtime.css": "text/css"}
APP_FILES = {
    "main.js": "text/javascript",
    "views.js": "text/javascript",
    "follow.js": "text/javascript",
    "invites.js": "text/javascript",
    "transfer.js": "text/javascript",
    "presence.js": "text/javascript",
    "app.css": "text/css",
}
NO_CACHE = {"Cache-Control": "no-cache"}
DEMO_LOGINS = "demo_logins"


def node_modules_candidates() -> list[Path]:
    """Where ``npm ci`` puts the packages: the repository root (a checkout) or the working
    folder (where ``sourcevault serve`` runs from)."""
    return [Path(__file__).resolve().parents[3] / "node_modules", Path.cwd() / "node_modules"]


def vendor_path(name: str) -> Path | None:
    """The file served as ``/vendor/{name}``: the wheel's copy, else the npm install's."""
    package, inside, _media = VENDOR_FILES[name]
    packaged = PACKAGED_VENDOR / name
    if packaged.is_file():
        return packaged
    for root in node_modules_candidates():
        path = root / package / inside
        if path.is_file():
            return path
    return None


def client_script(name: str) -> Path | None:
    """The stock socket.io-client file of that name, if installed."""
    return vendor_path(name) if name in VENDOR_FILES else None


def enable_demo(app: FastAPI, logins: list[dict[str, str]]) -> None:
    """Offer these logins on the test page and the app's sign-in (``serve --demo`` calls
    this)."""
    setattr(app.state, DEMO_LOGINS, logins)


@router.get("/")
async def app_page() -> FileResponse:
    return FileResponse(APP / "index.html", media_type="text/html", headers=NO_CACHE)


@router.get("/invite")
async def invite_page() -> FileResponse:
    """Where an invite link lands (``/invite#token=...``): the app, which reads the token
    from the fragment, shows the preview and accepts once the person is signed in."""
    return await app_page()


@router.get("/app/{name}")
async def app_file(name: str) -> FileResponse:
    return _listed(APP, APP_FILES, name)


@router.get("/realtime-test")
async def page() -> FileResponse:
    return FileResponse(STATIC / "realtime.html", media_type="text/html", headers=NO_CACHE)


@router.get("/realtime-test/static/{name}")
async def static_file(name: str) -> FileResponse:
    return _listed(STATIC, PAGE_FILES, name)


def _listed(folder: Path, files: dict[str, str], name: str) -> FileResponse:
    """A page's own file, only when the page lists it (with its media type)."""
    if name not in files:
        raise NotFound()
    return FileResponse(folder / name, media_type=files[name], headers=NO_CACHE)


def _vendor(name: str) -> FileResponse:
    if name not in VENDOR_FILES:
        raise NotFound()
    path = vendor_path(name)
    if path is None:
        package = VENDOR_FILES[name][0]
        raise Unavailable(
            f"The {package} npm package is not installed: run `npm ci` (or `make install`)"
            " in the project folder"
        )
    return FileResponse(
        path, media_type=VENDOR_FILES[name][2], headers={"Cache-Control": "max-age=3600"}
    )


@router.get("/vendor/{name}")
async def vendor_file(name: str) -> FileResponse:
    return _vendor(name)


@router.get("/realtime-test/vendor/{name}")
async def test_page_vendor_file(name: str) -> FileResponse:
    return _vendor(name)


@router.get("/realtime-test/demo-logins")
async def demo_logins(request: Request) -> dict[str, Any]:
    """The demo users' logins, only when the server was started with ``--demo``."""
    logins = getattr(request.app.state, DEMO_LOGINS, None)
    if logins is None:
        raise NotFound("The server was not started with --demo")
    return {"logins": logins}
