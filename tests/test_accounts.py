"""Accounts and tokens through /graphql: register, login, refreshToken, logout and me."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import bcrypt
import httpx
import pytest
from jose import jwt

from app.factory import create_app
from core.settings import Settings
from tests.accounts import (
    LOGOUT,
    PASSWORD,
    email_key,
    login,
    me,
    new_email,
    plain,
    refresh,
    register,
    signed_up,
)
from tests.shop import cart_add, in_stock_variants
from tests.support import RunningServer, codes, graphql, served, sql


def kept_jwt_secret(settings: Settings) -> str | None:
    path = settings.data_dir / "jwt_secret"
    return path.read_text().strip() if path.exists() else None


HASHING_ROUNDS = 6  # neither bcrypt's minimum nor the default: a cost that is surely the configured one


@pytest.fixture
async def hashing_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The application hashing at HASHING_ROUNDS."""
    app = create_app(settings.model_copy(update={"bcrypt_rounds": HASHING_ROUNDS}))
    async with served(app) as running, httpx.AsyncClient(base_url=running.url, timeout=30) as client:
        yield client


@dataclass(frozen=True)
class BcryptCall:
    function: str  # hashpw or checkpw
    rounds: int  # the cost of the salt or hash it was given
    on_event_loop: bool  # made on the thread of the event loop that serves the requests


@pytest.fixture
def bcrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[BcryptCall]:
    """Every call of bcrypt's hashpw and checkpw, which still do their work; the server runs on
    this test's event loop, on this thread."""
    calls: list[BcryptCall] = []
    loop_thread = threading.get_ident()

    def spy(function: str) -> Any:
        real = getattr(bcrypt, function)

        def call(password: bytes, salt_or_hash: bytes) -> Any:
            rounds = int(salt_or_hash.split(b"$")[2])
            calls.append(BcryptCall(function, rounds, threading.get_ident() == loop_thread))
            return real(password, salt_or_hash)

        return call

    for function in ("hashpw", "checkpw"):
        monkeypatch.setattr(bcrypt, function, spy(function))
    return calls


# ---------------------------------------------------------------- register and login


async def test_register_signs_the_user_in(client: httpx.AsyncClient) -> None:
    payload = await register(client, "ada@example.com", name="  Ada Lovelace ")
    assert payload["userErrors"] == []
    assert payload["user"]["email"] == "ada@example.com"
    assert payload["user"]["name"] == "Ada Lovelace"
    assert payload["user"]["isStaff"] is False
    assert base64.b64decode(payload["user"]["id"]).decode().startswith("User:")
    assert payload["accessToken"] and payload["refreshToken"]
    assert payload["cart"] is None
    assert await me(client, payload["accessToken"]) == payload["user"]


async def test_email_is_trimmed_and_case_insensitively_unique(
    client: httpx.AsyncClient, database_url: str
) -> None:
    first = await register(client, "  Grace.Hopper@Example.COM ")
    assert first["userErrors"] == []
    assert first["user"]["email"] == "grace.hopper@example.com"
    stored = await sql(database_url, "SELECT email FROM users")
    assert [plain(row.email, "users.email") for row in stored] == ["grace.hopper@example.com"]

    again = await register(client, "GRACE.HOPPER@example.com")
    assert again["userErrors"] == [
        {"field": ["email"], "message": "An account with this e-mail address exists.", "code": "EMAIL_TAKEN"}
    ]
    assert again["accessToken"] is None and again["user"] is None
    assert (await login(client, "grace.hopper@EXAMPLE.com "))["userErrors"] == []


@pytest.mark.parametrize("email", ["not-an-email", "someone@localhost", "a@b", "", "two@@example.com"])
async def test_invalid_email_is_refused(client: httpx.AsyncClient, email: str) -> None:
    payload = await register(client, email)
    assert payload["userErrors"][0]["code"] == "INVALID_EMAIL"
    assert payload["userErrors"][0]["field"] == ["email"]
    assert payload["accessToken"] is None


async def test_email_syntax_is_checked_without_looking_the_domain_up(client: httpx.AsyncClient) -> None:
    payload = await register(client, "someone@no-such-domain-e3b0c44298fc.com")
    assert payload["userErrors"] == []


async def test_passwords_need_ten_characters(client: httpx.AsyncClient, database_url: str) -> None:
    weak = await register(client, "weak@example.com", password="123456789")
    assert weak["userErrors"] == [
        {
            "field": ["password"],
            "message": "Use a password of 10 to 1024 characters.",
            "code": "WEAK_PASSWORD",
        }
    ]
    assert await sql(database_url, "SELECT id FROM users") == []
    assert (await register(client, "weak@example.com", password="1234567890"))["userErrors"] == []


async def test_every_registration_problem_is_reported_and_nothing_is_created(
    client: httpx.AsyncClient, database_url: str
) -> None:
    payload = await register(client, "nope", password="short", name="   ")
    assert sorted(codes(payload)) == ["INVALID_EMAIL", "INVALID_NAME", "WEAK_PASSWORD"]
    assert await sql(database_url, "SELECT id FROM users") == []


async def test_passwords_are_stored_as_bcrypt_hashes(client: httpx.AsyncClient, database_url: str) -> None:
    long_password = "a" * 80 + "tail"  # longer than the 72 bytes bcrypt itself reads
    payload = await register(client, "hash@example.com", password=long_password)
    assert payload["userErrors"] == []
    (row,) = await sql(database_url, "SELECT password_hash FROM users")
    assert row.password_hash.startswith("$2b$04$")  # the tests' cost of 4
    assert long_password not in row.password_hash
    # every character counts, also past the 72nd
    assert codes(await login(client, "hash@example.com", "a" * 80 + "tall")) == ["INVALID_CREDENTIALS"]
    assert (await login(client, "hash@example.com", long_password))["userErrors"] == []


async def test_login_returns_a_fresh_pair(client: httpx.AsyncClient) -> None:
    registered = await signed_up(client)
    payload = await login(client, registered["user"]["email"])
    assert payload["userErrors"] == []
    assert payload["user"] == registered["user"]
    assert payload["refreshToken"] != registered["refreshToken"]
    assert await me(client, payload["accessToken"]) == registered["user"]


async def test_wrong_password_and_unknown_email_answer_alike(client: httpx.AsyncClient) -> None:
    registered = await signed_up(client)
    wrong_password = await login(client, registered["user"]["email"], "not the password")
    unknown_email = await login(client, "nobody@example.com")
    malformed_email = await login(client, "nobody")
    for payload in (wrong_password, unknown_email, malformed_email):
        assert payload["userErrors"] == [
            {"field": None, "message": "Wrong e-mail address or password.", "code": "INVALID_CREDENTIALS"}
        ]
        assert payload["accessToken"] is None and payload["refreshToken"] is None and payload["user"] is None


async def test_unknown_email_takes_as_long_as_a_wrong_password(
    hashing_client: httpx.AsyncClient, bcrypt_calls: list[BcryptCall]
) -> None:
    # The same work, not the same measured time: one bcrypt check at the configured cost either way.
    client = hashing_client
    email = new_email()
    assert (await register(client, email))["userErrors"] == []

    async def work(address: str) -> list[BcryptCall]:
        bcrypt_calls.clear()
        assert codes(await login(client, address, "not the password")) == ["INVALID_CREDENTIALS"]
        return [call for call in bcrypt_calls if call.function == "checkpw"]

    wrong_password = await work(email)
    unknown_email = await work("nobody@example.com")
    assert [call.rounds for call in wrong_password] == [HASHING_ROUNDS]  # bcrypt at the configured cost
    assert unknown_email == wrong_password, (unknown_email, wrong_password)


async def test_hashing_does_not_block_the_event_loop(
    hashing_client: httpx.AsyncClient, bcrypt_calls: list[BcryptCall]
) -> None:
    # The server runs on this test's event loop: bcrypt must work on another thread.
    client = hashing_client
    email = new_email()
    bcrypt_calls.clear()
    assert (await register(client, email))["userErrors"] == []
    assert (await login(client, email))["userErrors"] == []
    hashes = [(call.function, call.rounds) for call in bcrypt_calls]
    assert hashes == [("hashpw", HASHING_ROUNDS), ("checkpw", HASHING_ROUNDS)]  # two hashes
    assert not any(call.on_event_loop for call in bcrypt_calls), bcrypt_calls


# ---------------------------------------------------------------- access tokens


async def test_access_token_is_an_hs256_jwt_with_the_standard_claims(
    client: httpx.AsyncClient, server: RunningServer, settings: Settings
) -> None:
    first = await signed_up(client)
    second = await login(client, first["user"]["email"])
    secret = server.app.state.jwt_secret
    header = jwt.get_unverified_header(first["accessToken"])
    assert header["alg"] == "HS256"
    claims = jwt.decode(first["accessToken"], secret, algorithms=["HS256"])
    user_pk = base64.b64decode(first["user"]["id"]).decode().split(":")[1]
    assert claims["sub"] == user_pk
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl
    assert abs(claims["iat"] - time.time()) < 60
    assert claims["jti"] != jwt.decode(second["accessToken"], secret, algorithms=["HS256"])["jti"]


async def test_jwt_secret_is_generated_once_and_kept_in_the_data_dir(
    client: httpx.AsyncClient, server: RunningServer, settings: Settings
) -> None:
    kept = kept_jwt_secret(settings)
    assert kept is not None and len(kept) >= 32
    assert server.app.state.jwt_secret == kept
    payload = await signed_up(client)
    assert jwt.decode(payload["accessToken"], kept, algorithms=["HS256"])["sub"]


async def test_jwt_secret_from_settings_is_used(settings: Settings) -> None:
    secret = "configured-secret-" + "x" * 40
    app = create_app(settings.model_copy(update={"jwt_secret": secret}))
    async with served(app) as running:
        async with httpx.AsyncClient(base_url=running.url) as client:
            payload = await signed_up(client)
            assert jwt.decode(payload["accessToken"], secret, algorithms=["HS256"])["sub"]
    assert kept_jwt_secret(settings) is None


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _forgeries(secret: str, claims: dict[str, Any], genuine: str) -> dict[str, str]:
    now = int(time.time())
    other_user = {**claims, "sub": str(int(claims["sub"]) + 1)}
    header, _, signature = genuine.split(".")
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "alg None": f"{_b64({'alg': 'None', 'typ': 'JWT'})}.{_b64(claims)}.",
        "another algorithm": jwt.encode(claims, secret, algorithm="HS512"),
        "another key": jwt.encode(claims, "not-the-server-secret-" + "y" * 30, algorithm="HS256"),
        "bad signature": f"{header}.{_b64(other_user)}.{signature}",
        "expired": jwt.encode({**claims, "iat": now - 3600, "exp": now - 1}, secret, algorithm="HS256"),
        "no expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret, algorithm="HS256"),
        "garbage": "not.a.jwt",
    }


async def test_forged_and_expired_tokens_are_refused(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    target = await signed_up(client)
    await signed_up(client)  # the user a re-signed payload would claim to be
    secret = server.app.state.jwt_secret
    claims = jwt.decode(target["accessToken"], secret, algorithms=["HS256"])
    # The forging harness makes valid tokens when it does nothing wrong:
    control = jwt.encode({**claims, "jti": uuid.uuid4().hex}, secret, algorithm="HS256")
    assert await me(client, control) == target["user"]

    assert "errors" not in await graphql(client, "{ orders { totalCount } }", token=control)

    for name, token in _forgeries(secret, claims, target["accessToken"]).items():
        assert await me(client, token) is None, name
        # An operation that needs a user refuses it (the user's orders).
        body = await graphql(client, "{ orders { totalCount } }", token=token)
        assert body["data"] is None, name
        assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"], name


async def test_bad_token_on_a_cart_operation_means_signed_out(
    client: httpx.AsyncClient, database_url: str, server: RunningServer
) -> None:
    user = await signed_up(client)
    claims = jwt.decode(user["accessToken"], server.app.state.jwt_secret, algorithms=["HS256"])
    forged = jwt.encode(claims, "not-the-server-secret-" + "y" * 30, algorithm="HS256")
    (variant,) = await in_stock_variants(database_url, 1)
    added = await cart_add(client, [(variant["id"], 1)], token=forged)
    assert added["userErrors"] == []
    rows = await sql(database_url, "SELECT user_id FROM carts WHERE token = :t", t=added["cart"]["token"])
    assert [row.user_id for row in rows] == [None]


async def test_token_of_a_deleted_user_is_signed_out(client: httpx.AsyncClient, database_url: str) -> None:
    payload = await signed_up(client)
    await sql(
        database_url, "DELETE FROM users WHERE email_index = :key", key=email_key(payload["user"]["email"])
    )
    assert await me(client, payload["accessToken"]) is None


async def test_me_is_null_when_signed_out(client: httpx.AsyncClient) -> None:
    assert await me(client, None) is None
    body = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": "Basic abc"}
    )
    assert body.json() == {"data": {"me": None}}


async def test_operations_that_need_a_user_answer_unauthenticated_without_a_valid_token(
    client: httpx.AsyncClient,
) -> None:
    payload = await signed_up(client)
    query = {"query": "{ orders(first: 1) { totalCount } }"}
    for authorization in (None, "Bearer", "Bearer not.a.jwt", "Token " + payload["accessToken"]):
        headers = {"Authorization": authorization} if authorization else {}
        body = (await client.post("/graphql", json=query, headers=headers)).json()
        assert body["data"] is None
        assert [error["extensions"] for error in body["errors"]] == [{"code": "UNAUTHENTICATED"}]
    signed_in = await client.post(
        "/graphql", json=query, headers={"Authorization": "Bearer " + payload["accessToken"]}
    )
    assert signed_in.json() == {"data": {"orders": {"totalCount": 0}}}


# ---------------------------------------------------------------- refresh tokens


async def test_refresh_tokens_are_random_and_stored_only_as_hashes(
    client: httpx.AsyncClient, database_url: str
) -> None:
    payload = await signed_up(client)
    token = payload["refreshToken"]
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 32
    rows = await sql(database_url, "SELECT token_hash FROM refresh_tokens")
    assert [bytes(row.token_hash) for row in rows] == [hashlib.sha256(token.encode()).digest()]


async def test_refresh_rotates_the_pair(client: httpx.AsyncClient) -> None:
    payload = await signed_up(client)
    rotated = await refresh(client, payload["refreshToken"])
    assert rotated["userErrors"] == []
    assert rotated["user"] == payload["user"]
    assert rotated["refreshToken"] != payload["refreshToken"]
    assert rotated["accessToken"] != payload["accessToken"]
    assert await me(client, rotated["accessToken"]) == payload["user"]
    again = await refresh(client, rotated["refreshToken"])
    assert again["userErrors"] == []


async def test_reusing_a_retired_refresh_token_revokes_the_whole_chain(client: httpx.AsyncClient) -> None:
    first = await signed_up(client)
    other_login = await login(client, first["user"]["email"])
    second = await refresh(client, first["refreshToken"])
    third = await refresh(client, second["refreshToken"])
    assert third["userErrors"] == []

    stolen = await refresh(client, first["refreshToken"])
    assert stolen["userErrors"] == [
        {
            "field": ["refreshToken"],
            "message": "This refresh token is not valid; sign in again.",
            "code": "INVALID_TOKEN",
        }
    ]
    assert stolen["accessToken"] is None and stolen["refreshToken"] is None
    # The newest token of that chain, and its access tokens, are dead too.
    assert codes(await refresh(client, third["refreshToken"])) == ["INVALID_TOKEN"]
    assert await me(client, third["accessToken"]) is None
    # Another login of the same user is a chain of its own.
    assert await me(client, other_login["accessToken"]) == first["user"]
    assert (await refresh(client, other_login["refreshToken"]))["userErrors"] == []


async def test_expired_refresh_token_fails(client: httpx.AsyncClient, database_url: str) -> None:
    payload = await signed_up(client)
    await sql(database_url, "UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
    assert codes(await refresh(client, payload["refreshToken"])) == ["INVALID_TOKEN"]


async def test_refresh_token_lifetime_comes_from_settings(
    client: httpx.AsyncClient, database_url: str, settings: Settings
) -> None:
    await signed_up(client)
    (row,) = await sql(
        database_url, "SELECT extract(epoch FROM expires_at - created_at) AS ttl FROM refresh_tokens"
    )
    assert abs(float(row.ttl) - settings.refresh_token_ttl) < 5


async def test_unknown_refresh_token_fails(client: httpx.AsyncClient) -> None:
    assert codes(await refresh(client, "made-up-token")) == ["INVALID_TOKEN"]


async def test_concurrent_refreshes_of_one_token_succeed_at_most_once(client: httpx.AsyncClient) -> None:
    payload = await signed_up(client)
    results = await asyncio.gather(*(refresh(client, payload["refreshToken"]) for _ in range(10)))
    succeeded = [result for result in results if not result["userErrors"]]
    assert len(succeeded) <= 1
    assert all(codes(result) == ["INVALID_TOKEN"] for result in results if result["userErrors"])


# ---------------------------------------------------------------- logout


async def test_logout_revokes_the_chain(client: httpx.AsyncClient) -> None:
    payload = await signed_up(client)
    rotated = await refresh(client, payload["refreshToken"])
    body = await graphql(client, LOGOUT, {"refreshToken": rotated["refreshToken"]})
    assert body["data"]["logout"] == {"ok": True, "userErrors": []}
    assert codes(await refresh(client, rotated["refreshToken"])) == ["INVALID_TOKEN"]
    assert await me(client, rotated["accessToken"]) is None
    # Signing in again starts a new chain.
    again = await login(client, payload["user"]["email"], PASSWORD)
    assert await me(client, again["accessToken"]) == payload["user"]


async def test_logout_with_an_unknown_token_fails(client: httpx.AsyncClient) -> None:
    body = await graphql(client, LOGOUT, {"refreshToken": "made-up-token"})
    assert body["data"]["logout"] == {
        "ok": False,
        "userErrors": [
            {"field": ["refreshToken"], "message": "Unknown refresh token.", "code": "INVALID_TOKEN"}
        ],
    }
