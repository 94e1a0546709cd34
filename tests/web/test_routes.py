"""The test page's routes: the page, its files, the stock client script from node_modules,
and the demo logins only on a --demo server."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from sourcevault.web import routes
from tests.live import LiveServer


async def test_the_page_and_its_files_are_served(client: httpx.AsyncClient):
    page = await client.get("/realtime-test")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/realtime-test/vendor/socket.io.min.js">' in page.text
    for name, kind in (("realtime.js", "text/javascript"), ("realtime.css", "text/css")):
        response = await client.get(f"/realtime-test/static/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
    for path in ("/realtime-test/static/realtime.html", "/realtime-test/static/..%2Froutes.py"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_the_client_script_is_the_npm_package_s(client: httpx.AsyncClient):
    installed = routes.client_script("socket.io.min.js")
    if installed is None:
        pytest.skip("the npm packages are not installed (npm ci)")
    response = await client.get("/realtime-test/vendor/socket.io.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == installed.read_bytes()
    assert (await client.get("/realtime-test/vendor/socket.io.js")).status_code == 404


async def test_without_the_npm_package_the_script_url_says_what_to_run(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setattr(routes, "node_modules_candidates", lambda: [tmp_path / "node_modules"])
    response = await client.get("/realtime-test/vendor/socket.io.min.js")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "UNAVAILABLE"
    assert "npm ci" in error["message"]


async def test_demo_logins_exist_only_on_a_demo_server(
    server: LiveServer, client: httpx.AsyncClient
):
    response = await client.get("/realtime-test/demo-logins")
    assert response.status_code == 404
    logins = [{"email": "owner@demo.example", "password": "pw", "role": "owner"}]
    routes.enable_demo(server.app, logins)
    response = await client.get("/realtime-test/demo-logins")
    assert response.status_code == 200
    assert response.json() == {"logins": logins}


async def test_the_app_and_its_modules_are_served(client: httpx.AsyncClient):
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/app/main.js">' in page.text
    for name, kind in (
        ("main.js", "text/javascript"),
        ("views.js", "text/javascript"),
        ("follow.js", "text/javascript"),
        ("invites.js", "text/javascript"),
        ("transfer.js", "text/javascript"),
        ("presence.js", "text/javascript"),
        ("app.css", "text/css"),
    ):
        response = await client.get(f"/app/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(kind)
    # An invite link (`/invite#token=...`) opens the app, which reads the fragment.
    invite = await client.get("/invite")
    assert invite.status_code == 200
    assert invite.text == page.text
    assert "script-src 'self'" in invite.headers["content-security-policy"]
    for path in ("/app/index.html", "/app/..%2Froutes.py", "/vendor/preact.js"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_the_page_names_every_module_of_the_first_screen_to_fetch_at_once(
    client: httpx.AsyncClient,
):
    """Each module main.js imports, however deep, is fetched by the page at the start, not
    one import level after another (a module left out would still load, one round trip late)."""
    page = (await client.get("/")).text
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', page))
    imported: set[str] = set()
    waiting = ["/app/main.js"]
    while waiting:
        path = waiting.pop()
        imported.add(path)
        if not path.startswith("/app/"):
            continue
        text = (await client.get(path)).text
        for name in re.findall(r'^import .* from "([^"]+)";$', text, re.MULTILINE):
            if name not in imported:
                waiting.append(name)
    assert preloaded == imported


async def test_the_rendering_library_is_the_npm_package_s(client: httpx.AsyncClient):
    installed = routes.vendor_path("preact-htm.js")
    if installed is None:
        pytest.skip("the npm packages are not installed (npm ci)")
    assert installed.parts[-3:] == ("htm", "preact", "standalone.module.js")
    response = await client.get("/vendor/preact-htm.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == installed.read_bytes()
