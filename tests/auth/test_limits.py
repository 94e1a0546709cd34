"""Time-bound parts of authentication: sessions expire, and failed logins lock an account only
for a while. Both are about time, so these tests wait for the known instant, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from tests import checks, factories
from tests.conftest import make_settings
from tests.factories import PASSWORD
from tests.live import live_server

MARGIN = 0.05  # seconds past the instant, so the server's clock has surely passed it too


async def sleep_until(instant: str) -> None:
    when = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    await asyncio.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()) + MARGIN)


async def test_an_expired_session_is_refused(database_url: str) -> None:
    settings = make_settings(database_url, session_max_age=1)
    async with live_server(settings) as live, httpx.AsyncClient(base_url=live.url) as http:
        user = await factories.register(http)
        token = await http.post(
            "/api/auth/token", json={"email": user["email"], "password": PASSWORD}
        )
        login = await http.post(
            "/api/auth/login", json={"email": user["email"], "password": PASSWORD}
        )
        assert token.status_code == 200 and login.status_code == 200
        bearer = {"Authorization": f"Bearer {token.json()['token']}"}
        attrs = {a.strip().lower() for a in login.headers["set-cookie"].split(";")}
        assert "max-age=1" in attrs

        await sleep_until(max(token.json()["expires"], login.json()["expires"]))

        checks.error(await http.get("/api/auth/session", headers=bearer), 401, "UNAUTHORIZED")
        checks.error(await http.get("/api/vaults", headers=bearer), 401, "UNAUTHORIZED")
        cookie = {"Cookie": f"sourcevault_session={login.cookies['sourcevault_session']}"}
        http.cookies.clear()
        checks.error(await http.get("/api/auth/session", headers=cookie), 401, "UNAUTHORIZED")
        # Logging in again opens a fresh session.
        again = await factories.token_for(http, user["email"])
        fresh = await http.get("/api/auth/session", headers={"Authorization": f"Bearer {again}"})
        assert fresh.status_code == 200, fresh.text


async def test_failed_logins_lock_the_account_for_a_while(database_url: str) -> None:
    settings = make_settings(database_url, login_max_failures=3, login_lockout_seconds=1)
    async with live_server(settings) as live, httpx.AsyncClient(base_url=live.url) as http:
        user = await factories.register(http)
        bystander = await factories.register(http)
        right = {"email": user["email"], "password": PASSWORD}
        wrong = {"email": user["email"], "password": "not the password"}

        for _ in range(settings.login_max_failures):
            checks.error(await http.post("/api/auth/login", json=wrong), 401, "UNAUTHORIZED")
        locked_at = asyncio.get_running_loop().time()

        for path in ("/api/auth/login", "/api/auth/token"):
            refused = await http.post(path, json=right)
            checks.error(refused, 429, "RATE_LIMITED")
            assert 1 <= int(refused.headers["retry-after"]) <= settings.login_lockout_seconds
        # The lock is on that account only; the same email in another case is the same account.
        shouted = {"email": user["email"].upper(), "password": PASSWORD}
        checks.error(await http.post("/api/auth/login", json=shouted), 429, "RATE_LIMITED")
        other = await http.post(
            "/api/auth/token", json={"email": bystander["email"], "password": PASSWORD}
        )
        assert other.status_code == 200, other.text

        remaining = locked_at + settings.login_lockout_seconds - asyncio.get_running_loop().time()
        await asyncio.sleep(max(0.0, remaining) + MARGIN)

        unlocked = await http.post("/api/auth/login", json=right)
        assert unlocked.status_code == 200, unlocked.text
        # A success starts the count over: one more failure is just a failure.
        checks.error(await http.post("/api/auth/login", json=wrong), 401, "UNAUTHORIZED")
        assert (await http.post("/api/auth/token", json=right)).status_code == 200
