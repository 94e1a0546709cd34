"""Register, login (cookie), token, session and logout, as CONTRACT.md "Authentication"."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from sourcevault.auth import passwords
from sourcevault.auth.models import AuthSession, User
from sourcevault.config import Settings
from tests import checks, factories
from tests.conftest import make_settings
from tests.factories import PASSWORD
from tests.live import LiveServer, live_server

INVALID = "Invalid email or password"


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def cookie_attributes(response: httpx.Response) -> tuple[str, set[str]]:
    """The session cookie's value and its attributes (lower-cased names, with values)."""
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    first, *rest = (part.strip() for part in headers[0].split(";"))
    name, _, value = first.partition("=")
    assert name == "sourcevault_session"
    attrs = set()
    for attr in rest:
        key, eq, val = attr.partition("=")
        attrs.add(f"{key.lower()}={val.lower()}" if eq else key.lower())
    return value, attrs


async def test_register_answers_the_user_and_refuses_a_taken_email_in_any_case(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "Ada.Lovelace@Example.ORG", "name": "Ada", "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"user"}
    user = response.json()["user"]
    checks.user(user)
    assert user["email"] == "ada.lovelace@example.org"
    assert user["name"] == "Ada"

    again = await client.post(
        "/api/auth/register",
        json={"email": "ADA.LOVELACE@example.org", "name": "Impostor", "password": "another one"},
    )
    checks.error(again, 409, "CONFLICT")

    # The first account is untouched: its password still works, its name is unchanged.
    login = await client.post(
        "/api/auth/login", json={"email": "ada.lovelace@EXAMPLE.org", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    assert login.json()["user"] == user
    refused = await client.post(
        "/api/auth/login", json={"email": "ada.lovelace@example.org", "password": "another one"}
    )
    checks.error(refused, 401, "UNAUTHORIZED", INVALID)


async def test_login_sets_the_session_cookie_and_session_answers_with_it(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await factories.register(client)
    before = datetime.now(UTC)
    response = await client.post(
        "/api/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"user", "expires"}
    assert body["user"] == user
    assert checks.is_time(body["expires"])
    lasts = parse(body["expires"]) - before
    assert abs(lasts - timedelta(seconds=settings.session_max_age)) < timedelta(seconds=30)

    value, attrs = cookie_attributes(response)
    assert len(value) >= 43  # 256 bits, base64
    assert {"httponly", "samesite=lax", "path=/"} <= attrs
    assert "secure" not in attrs

    session = await client.get("/api/auth/session")  # the client's jar carries the cookie
    assert session.status_code == 200, session.text
    assert session.json() == {"user": user, "expires": body["expires"]}


async def test_the_cookie_is_secure_when_configured(database_url: str) -> None:
    async with (
        live_server(make_settings(database_url, cookie_secure=True)) as live,
        httpx.AsyncClient(base_url=live.url) as http,
    ):
        user = await factories.register(http)
        response = await http.post(
            "/api/auth/login", json={"email": user["email"], "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        _value, attrs = cookie_attributes(response)
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= attrs


async def test_unknown_email_and_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    user = await factories.register(client)
    for path in ("/api/auth/login", "/api/auth/token"):
        wrong = await client.post(path, json={"email": user["email"], "password": "wrong pass"})
        unknown = await client.post(
            path, json={"email": "nobody@example.com", "password": PASSWORD}
        )
        checks.error(wrong, 401, "UNAUTHORIZED", INVALID)
        assert unknown.status_code == wrong.status_code
        assert unknown.json() == wrong.json()
        assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers


async def test_a_token_authenticates_without_a_cookie(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    user = await factories.register(client)
    response = await client.post(
        "/api/auth/token", json={"email": user["email"], "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token", "user", "expires"}
    assert body["user"] == user
    assert checks.is_time(body["expires"])
    assert len(body["token"]) >= 43
    assert "set-cookie" not in response.headers
    assert not client.cookies

    bearer = {"Authorization": f"Bearer {body['token']}"}
    session = await client.get("/api/auth/session", headers=bearer)
    assert session.status_code == 200, session.text
    assert session.json() == {"user": user, "expires": body["expires"]}

    checks.error(await client.get("/api/auth/session"), 401, "UNAUTHORIZED")
    for header in (f"Bearer {body['token']}x", "Bearer", f"Basic {body['token']}"):
        answer = await client.get("/api/auth/session", headers={"Authorization": header})
        checks.error(answer, 401, "UNAUTHORIZED")


async def test_logout_revokes_only_that_session(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    user = await factories.register(client)
    other = await factories.token_for(client, user["email"])
    login = await client.post(
        "/api/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert login.status_code == 200

    out = await client.post("/api/auth/logout", headers={"Origin": server.url})
    assert out.status_code == 204, out.text
    assert out.content == b""
    _value, attrs = cookie_attributes(out)
    assert "max-age=0" in attrs  # the browser drops its cookie
    cookie = login.cookies["sourcevault_session"]
    assert not client.cookies
    stale = await client.get(
        "/api/auth/session", headers={"Cookie": f"sourcevault_session={cookie}"}
    )
    checks.error(stale, 401, "UNAUTHORIZED")

    # The user's other session (a token) lives on, until it logs out itself.
    bearer = {"Authorization": f"Bearer {other}"}
    assert (await client.get("/api/auth/session", headers=bearer)).status_code == 200
    assert (await client.post("/api/auth/logout", headers=bearer)).status_code == 204
    checks.error(await client.get("/api/auth/session", headers=bearer), 401, "UNAUTHORIZED")
    checks.error(await client.post("/api/auth/logout", headers=bearer), 401, "UNAUTHORIZED")


async def test_anonymous_callers_get_unauthorized(client: httpx.AsyncClient) -> None:
    checks.error(await client.get("/api/auth/session"), 401, "UNAUTHORIZED")
    checks.error(await client.post("/api/auth/logout"), 401, "UNAUTHORIZED")
    checks.error(await client.get("/api/vaults"), 401, "UNAUTHORIZED")
    garbage = {"Cookie": "sourcevault_session=not-a-session"}
    checks.error(await client.get("/api/auth/session", headers=garbage), 401, "UNAUTHORIZED")


async def test_registration_fields_are_held_to_the_contract_limits(
    client: httpx.AsyncClient,
) -> None:
    def body(**change: object) -> dict[str, object]:
        return {"email": "limits@example.com", "name": "Lim", "password": PASSWORD, **change}

    refused = {
        "name": [body(name=""), body(name="   "), body(name="n" * 101), body(name=None)],
        "password": [body(password="x" * 7), body(password="x" * 129), body(password=12345678)],
        "email": [body(email="not-an-email"), body(email="a@b"), body(email="a b@example.com")],
    }
    for field, bodies in refused.items():
        for sent in bodies:
            response = await client.post("/api/auth/register", json=sent)
            assert checks.fields(response) == {field}, (sent, response.text)
    missing = await client.post("/api/auth/register", json={"email": "limits@example.com"})
    assert checks.fields(missing) == {"name", "password"}
    typo = await client.post("/api/auth/register", json=body(nmae="Lim"))
    assert checks.fields(typo) == {"nmae"}

    # None of that made an account; the limits themselves are accepted.
    checks.error(
        await client.post(
            "/api/auth/login", json={"email": "limits@example.com", "password": PASSWORD}
        ),
        401,
        "UNAUTHORIZED",
    )
    longest = await client.post("/api/auth/register", json=body(name="n" * 100, password="p" * 128))
    assert longest.status_code == 201, longest.text
    shortest = await client.post(
        "/api/auth/register", json=body(email="short@example.com", name="n", password="p" * 8)
    )
    assert shortest.status_code == 201, shortest.text


async def test_sign_up_can_be_turned_off(database_url: str) -> None:
    async with (
        live_server(make_settings(database_url, allow_signup=False)) as live,
        httpx.AsyncClient(base_url=live.url) as http,
    ):
        response = await http.post(
            "/api/auth/register",
            json={"email": "closed@example.com", "name": "Closed", "password": PASSWORD},
        )
        checks.error(response, 403, "INSUFFICIENT_PERMISSIONS")
        login = await http.post(
            "/api/auth/login", json={"email": "closed@example.com", "password": PASSWORD}
        )
        checks.error(login, 401, "UNAUTHORIZED", INVALID)


async def test_only_hashes_of_secrets_are_stored(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    user = await factories.register(client)
    token = await factories.token_for(client, user["email"])
    async with server.ctx.sessionmaker() as session:
        hashes = (await session.scalars(select(AuthSession.token_hash))).all()
        password_hash = await session.scalar(select(User.password_hash))
    assert hashes == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in hashes
    # argon2id at OWASP's minimum: 19 MiB, two passes, one lane.
    assert password_hash is not None
    assert password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in password_hash


def test_an_unknown_email_is_verified_against_a_hash_of_the_same_cost() -> None:
    assert not passwords._hasher.check_needs_rehash(passwords._DUMMY_HASH)
    assert passwords._hasher.verify(
        passwords._DUMMY_HASH, "not a real password, only here to spend the same time"
    )
