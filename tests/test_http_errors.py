"""However malformed the request, the answer is a 4xx in the contract's error body (never a 500
or a traceback), and nothing changes."""

from __future__ import annotations

import base64

import httpx

from tests import checks
from tests.factories import Team
from tests.live import Recorder

JSON = {"Content-Type": "application/json"}


async def test_malformed_bodies_are_validation_errors(team: Team, recorder: Recorder) -> None:
    http = team.contributor.http
    sources = f"/api/vaults/{team.vault_id}/sources"
    for raw in (
        b'{"title": ',
        b"{'title': 'x'}",
        b"\xff\xfe",
        b"K\xff\xfe\x07",  # not UTF-8 at all
        b"",
        b"NaN",
        b'{"title": "x"} 1',
    ):
        response = await http.post(sources, content=raw, headers=JSON)
        assert checks.fields(response) == {"body"}, (raw, response.text)
    for body in ([], ["title"], "a title", 3, None, True):
        response = await http.post(sources, json=body)
        assert checks.fields(response) == {"body"}, (body, response.text)
    as_text = await http.post(
        sources, content=b'{"title": "x"}', headers={"Content-Type": "text/plain"}
    )
    checks.error(as_text, 422, "VALIDATION_ERROR")
    for path in ("/api/auth/register", "/api/auth/login", "/api/auth/token", "/api/vaults"):
        checks.error(await http.post(path, content=b"{", headers=JSON), 422, "VALIDATION_ERROR")
    assert recorder.published == []
    assert (await http.get(sources)).json()["sources"] == []


async def test_unknown_paths_and_wrong_methods(client: httpx.AsyncClient, team: Team) -> None:
    for path in ("/api/nothing-here", "/api/vaults/x/y/z", "/nothing"):
        checks.error(await client.get(path), 404, "NOT_FOUND")
    # Allow names every method the path serves, not just the first route's.
    for method, path, allow in [
        ("PUT", "/api/vaults", "GET, POST"),
        ("DELETE", "/api/vaults", "GET, POST"),
        ("GET", "/api/auth/login", "POST"),
        ("PUT", f"/api/vaults/{team.vault_id}", "DELETE, GET, PATCH"),
        ("POST", f"/api/vaults/{team.vault_id}/events", "GET"),
        ("GET", f"/api/vaults/{team.vault_id}/members/{team.owner.id}", "DELETE, PATCH"),
    ]:
        response = await team.owner.http.request(method, path)
        checks.error(response, 405, "METHOD_NOT_ALLOWED")
        assert response.headers["allow"] == allow, (method, path)
    # An id that could be one but is not is not found; one that cannot be (empty, over 64
    # characters, or holding a NUL) is a validation error, on every backend alike.
    for odd, status in [
        ("%F0%9F%98%80", 404),
        ("..%2F..%2Fetc", 404),
        ("x" * 64, 404),
        ("%00", 422),
        ("a%00b", 422),
        ("x" * 65, 422),
    ]:
        code = "NOT_FOUND" if status == 404 else "VALIDATION_ERROR"
        for path in (f"/api/vaults/{odd}", f"/api/sources/{odd}", f"/api/vaults/{odd}/events"):
            checks.error(await team.owner.http.get(path), status, code)
        member = f"/api/vaults/{team.vault_id}/members/{odd}"
        checks.error(await team.owner.http.patch(member, json={"role": "viewer"}), status, code)
        source = f"/api/sources/{odd}"
        checks.error(await team.owner.http.patch(source, json={"title": "x"}), status, code)


async def test_text_with_a_nul_character_is_refused_not_stored(
    client: httpx.AsyncClient, team: Team
) -> None:
    sources = f"/api/vaults/{team.vault_id}/sources"
    for body in (
        {"title": "a\x00b"},
        {"title": "ok", "annotation": "\x00"},
        {"title": "ok", "tags": ["a\x00"]},
        {"title": "ok", "url": "https://example.com/\x00"},
    ):
        checks.error(await team.owner.http.post(sources, json=body), 422, "VALIDATION_ERROR")
    checks.error(
        await client.post(
            "/api/auth/register",
            json={"email": "nul@example.com", "name": "a\x00", "password": "p" * 8},
        ),
        422,
        "VALIDATION_ERROR",
    )
    checks.error(
        await client.post("/api/auth/login", json={"email": "a\x00@x.org", "password": "p" * 8}),
        422,
        "VALIDATION_ERROR",
    )
    nul_cursor = base64.urlsafe_b64encode(b'["2026-01-01T00:00:00.000+00:00", "\\u0000"]')
    for cursor in ("a\x00", nul_cursor.decode().rstrip("=")):
        checks.error(
            await team.owner.http.get(sources, params={"cursor": cursor}), 422, "VALIDATION_ERROR"
        )
