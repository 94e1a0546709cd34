"""Time-bound parts of authentication: sessions expire, and failed logins slow the guesser for a
while without keeping the owner out. Both are about time, so these tests wait for the known
instant, once."""

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


ATTACKER = {"X-Forwarded-For": "203.0.113.9"}
OWNER = {"X-Forwarded-For": "198.51.100.7"}


async def test_failed_logins_slow_that_address_more_each_time_but_never_the_owner_elsewhere(
    database_url: str,
) -> None:
    settings = make_settings(
        database_url, login_max_failures=3, login_delay_seconds=1, trusted_proxies=["127.0.0.1"]
    )
    async with live_server(settings) as live, httpx.AsyncClient(base_url=live.url) as http:
        user = await factories.register(http)
        right = {"email": user["email"], "password": PASSWORD}
        wrong = {"email": user["email"], "password": "not the password"}

        for _ in range(settings.login_max_failures):
            failed = await http.post("/api/auth/login", json=wrong, headers=ATTACKER)
            checks.error(failed, 401, "UNAUTHORIZED")
        waited_from = asyncio.get_running_loop().time()
        # From the attacker's address the next try waits, even with the right password...
        for path in ("/api/auth/login", "/api/auth/token"):
            refused = await http.post(path, json=right, headers=ATTACKER)
            checks.error(refused, 429, "RATE_LIMITED")
            assert refused.headers["retry-after"] == "1"
        # ...and the same email in another case is the same account.
        shouted = {"email": user["email"].upper(), "password": PASSWORD}
        checks.error(
            await http.post("/api/auth/login", json=shouted, headers=ATTACKER), 429, "RATE_LIMITED"
        )
        # The owner, elsewhere, is not kept out.
        mine = await http.post("/api/auth/token", json=right, headers=OWNER)
        assert mine.status_code == 200, mine.text

        # Past the wait, one more failure doubles it.
        await asyncio.sleep(max(0.0, waited_from + 1 - asyncio.get_running_loop().time()) + MARGIN)
        checks.error(
            await http.post("/api/auth/login", json=wrong, headers=ATTACKER), 401, "UNAUTHORIZED"
        )
        refused = await http.post("/api/auth/login", json=right, headers=ATTACKER)
        checks.error(refused, 429, "RATE_LIMITED")
        assert refused.headers["retry-after"] == "2"

        # A success from an address starts its count over.
        again = await http.post("/api/auth/login", json=wrong, headers=OWNER)
        checks.error(again, 401, "UNAUTHORIZED")
        assert (await http.post("/api/auth/login", json=right, headers=OWNER)).status_code == 200


async def test_one_address_guessing_across_accounts_is_refused_there_only(
    database_url: str,
) -> None:
    settings = make_settings(
        database_url, login_address_max_failures=4, trusted_proxies=["127.0.0.1"]
    )
    async with live_server(settings) as live, httpx.AsyncClient(base_url=live.url) as http:
        user = await factories.register(http)
        for n in range(settings.login_address_max_failures):
            guess = {"email": f"someone{n}@example.org", "password": "guess"}
            checks.error(
                await http.post("/api/auth/login", json=guess, headers=ATTACKER),
                401,
                "UNAUTHORIZED",
            )
        right = {"email": user["email"], "password": PASSWORD}
        refused = await http.post("/api/auth/token", json=right, headers=ATTACKER)
        checks.error(refused, 429, "RATE_LIMITED")
        assert int(refused.headers["retry-after"]) > 200  # until the window ends
        mine = await http.post("/api/auth/token", json=right, headers=OWNER)
        assert mine.status_code == 200, mine.text


async def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy(
    database_url: str,
) -> None:
    # No trusted proxy: a client naming another address each time is still one address.
    settings = make_settings(database_url, login_max_failures=2)
    async with live_server(settings) as live, httpx.AsyncClient(base_url=live.url) as http:
        user = await factories.register(http)
        wrong = {"email": user["email"], "password": "not the password"}
        for n in range(settings.login_max_failures):
            forged = {"X-Forwarded-For": f"192.0.2.{n + 1}"}
            checks.error(
                await http.post("/api/auth/login", json=wrong, headers=forged), 401, "UNAUTHORIZED"
            )
        refused = await http.post(
            "/api/auth/login", json=wrong, headers={"X-Forwarded-For": "192.0.2.99"}
        )
        checks.error(refused, 429, "RATE_LIMITED")
