"""Rate limits on login, register, refreshToken, new carts and checkoutCreate, held in PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pydantic
import pytest

from app.factory import create_app
from core.pii import keyed_digest
from core.settings import RateLimit, Settings
from domain import rate_limits
from domain.rate_limits import address_key
from tests.accounts import LOGIN, PASSWORD, REFRESH, REGISTER, new_email, plain
from tests.shop import ADD, ADDRESS, CHECKOUT, WEBHOOK_SECRET, new_cart, variant_with_stock
from tests.support import NO_RATE_LIMITS, graphql, own_engine, serve_process, served, sql

Serve = Callable[..., Any]
WRONG_PASSWORD = "wrong password"
# Day-long windows: a test that straddled the end of a window would see its counts start again.
DAY = 86_400


@pytest.fixture
async def serve_with(settings: Settings) -> AsyncIterator[Serve]:
    """Start the application with only the given limits on (and others off); yields a client factory."""
    async with contextlib.AsyncExitStack() as servers:

        async def serve(forwarded_allow_ips: str = "127.0.0.1", **limits: str) -> httpx.AsyncClient:
            app = create_app(settings.model_copy(update={**NO_RATE_LIMITS, **limits}))
            running = await servers.enter_async_context(served(app, forwarded_allow_ips=forwarded_allow_ips))
            return httpx.AsyncClient(base_url=running.url, timeout=30)

        yield serve


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return response


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    (payload,) = response.json()["data"].values()
    return payload["userErrors"]


def is_refused(response: httpx.Response, window: int) -> bool:
    errors = errors_of(response)
    if not errors or errors[0]["code"] != "RATE_LIMITED":
        return False
    match = re.search(r"retry after (\d+) seconds", errors[0]["message"])
    assert match and 1 <= int(match[1]) <= window, errors
    assert response.headers["retry-after"] == match[1]
    return True


async def login(
    client: httpx.AsyncClient, email: str, address: str = "203.0.113.1", password: str = WRONG_PASSWORD
) -> httpx.Response:
    return await post(client, LOGIN, {"email": email, "password": password}, from_address(address))


# ---------------------------------------------------------------- login


async def test_login_is_limited_per_client_address(serve_with: Serve) -> None:
    async with await serve_with(rate_limit_login=f"3/{DAY}") as client:
        answers = [await login(client, new_email()) for _ in range(3)]
        assert [errors_of(answer)[0]["code"] for answer in answers] == ["INVALID_CREDENTIALS"] * 3
        assert all("retry-after" not in answer.headers for answer in answers)
        assert is_refused(await login(client, new_email()), DAY)
        # Other addresses are not affected.
        assert not is_refused(await login(client, new_email(), address="203.0.113.2"), DAY)


async def test_a_refused_login_is_refused_even_with_the_right_password(
    serve_with: Serve, database_url: str
) -> None:
    async with await serve_with(rate_limit_login_email=f"2/{DAY}") as client:
        email = new_email()
        registered = await post(client, REGISTER, {"email": email, "password": PASSWORD, "name": "Ada"})
        assert errors_of(registered) == []
        for _ in range(2):
            assert errors_of(await login(client, email, "203.0.113.1"))[0]["code"] == "INVALID_CREDENTIALS"
        # Per e-mail (any spelling of it) and client address.
        right = await login(client, f"  {email.upper()} ", "203.0.113.1", password=PASSWORD)
        assert is_refused(right, DAY)
        assert right.json()["data"]["login"]["accessToken"] is None
        assert not is_refused(await login(client, new_email(), "203.0.113.1"), DAY)
    # Only digests are stored: neither the e-mail nor the address.
    stored = await sql(database_url, "SELECT bucket, key FROM rate_limit_counters")
    assert {row.bucket for row in stored} == {"login:account+address"}
    assert all(len(row.key) == 32 and email.encode() not in row.key for row in stored)
    # Keyed: hashing a guessed e-mail does not find its row (a plain SHA-256 would).
    guessed = f"{rate_limits.email_key(email)}\n{address_key('203.0.113.1')}".encode()
    keys = {row.key for row in stored}
    assert keyed_digest(guessed) in keys and hashlib.sha256(guessed).digest() not in keys


async def test_concurrent_attempts_each_count_exactly_once(serve_with: Serve) -> None:
    async with await serve_with(rate_limit_login=f"5/{DAY}") as client:
        answers = await asyncio.gather(*(login(client, new_email()) for _ in range(20)))
    assert sum(is_refused(answer, DAY) for answer in answers) == 15


# ---------------------------------------------------------------- register and refresh


async def test_register_is_limited_per_address_and_per_email(serve_with: Serve, database_url: str) -> None:
    async with await serve_with(
        rate_limit_register=f"2/{DAY}", rate_limit_register_email=f"1/{DAY}"
    ) as client:

        async def register(email: str, address: str) -> httpx.Response:
            variables = {"email": email, "password": PASSWORD, "name": "Ada"}
            return await post(client, REGISTER, variables, from_address(address))

        first, second = new_email(), new_email()
        assert errors_of(await register(first, "198.51.100.1")) == []
        assert is_refused(await register(first, "198.51.100.2"), DAY)  # same e-mail, elsewhere
        assert errors_of(await register(second, "198.51.100.1")) == []
        assert is_refused(await register(new_email(), "198.51.100.1"), DAY)  # third from one address
    users = await sql(database_url, "SELECT email FROM users ORDER BY id")
    assert [plain(row.email, "users.email") for row in users] == [first, second]


async def test_refresh_is_limited_per_address(serve_with: Serve) -> None:
    async with await serve_with(rate_limit_refresh=f"2/{DAY}") as client:
        for _ in range(2):
            answer = await post(client, REFRESH, {"refreshToken": "stolen"}, from_address("192.0.2.7"))
            assert errors_of(answer)[0]["code"] == "INVALID_TOKEN"
        assert is_refused(await post(client, REFRESH, {"refreshToken": "x"}, from_address("192.0.2.7")), DAY)


# ---------------------------------------------------------------- new carts


async def test_new_anonymous_carts_are_limited_per_address(serve_with: Serve, database_url: str) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 50)
    lines = [{"variantId": variant_id, "quantity": 1}]
    async with await serve_with(rate_limit_cart=f"2/{DAY}") as client:

        async def add(address: str, **extra: Any) -> httpx.Response:
            return await post(client, ADD, {"lines": lines, **extra}, from_address(address))

        # A refused start still counts: attempts are counted before the operation runs.
        failed = await add("192.0.2.1", lines=[{"variantId": variant_id, "quantity": 0}])
        assert errors_of(failed)[0]["code"] == "INVALID_QUANTITY"
        started = await add("192.0.2.1")
        assert errors_of(started) == []
        token = started.json()["data"]["cartLinesAdd"]["cart"]["token"]
        refused = await add("192.0.2.1")
        assert is_refused(refused, DAY) and refused.json()["data"]["cartLinesAdd"]["cart"] is None
        # The cart it has is not limited, another address has a limit of its own, and a signed-in
        # customer's cart is theirs (one per account), not a new anonymous one.
        for _ in range(3):
            assert errors_of(await add("192.0.2.1", cartToken=token)) == []
        assert errors_of(await add("192.0.2.2")) == []
        registered = await post(client, REGISTER, {"email": new_email(), "password": PASSWORD, "name": "Ada"})
        bearer = {"Authorization": f"Bearer {registered.json()['data']['register']['accessToken']}"}
        for _ in range(3):
            answer = await post(client, ADD, {"lines": lines}, {**bearer, **from_address("192.0.2.1")})
            assert errors_of(answer) == []
    carts = await sql(database_url, "SELECT count(*) FILTER (WHERE user_id IS NULL) AS anonymous FROM carts")
    assert carts[0].anonymous == 2  # 192.0.2.1's one and 192.0.2.2's; the refused start wrote nothing


# ---------------------------------------------------------------- checkout


async def test_guest_checkouts_are_limited_per_address(serve_with: Serve, database_url: str) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 50)
    async with await serve_with(rate_limit_checkout=f"2/{DAY}") as client:

        async def checkout(cart_token: str, client_address: str, **extra: Any) -> httpx.Response:
            variables = {"cartToken": cart_token, "email": "ada@example.com", "address": ADDRESS, **extra}
            return await post(client, CHECKOUT, variables, from_address(client_address))

        # A failed checkout still counts: attempts are counted before the operation runs.
        failed = await checkout(
            await new_cart(client, variant_id), "192.0.2.1", address={**ADDRESS, "country": "XX"}
        )
        assert errors_of(failed)[0]["code"] == "INVALID_ADDRESS"
        assert errors_of(await checkout(await new_cart(client, variant_id), "192.0.2.1")) == []
        refused = await checkout(await new_cart(client, variant_id), "192.0.2.1")
        assert is_refused(refused, DAY) and refused.json()["data"]["checkoutCreate"]["order"] is None
        assert errors_of(await checkout(await new_cart(client, variant_id), "192.0.2.2")) == []
    orders = await sql(database_url, "SELECT count(*) AS n FROM orders")
    assert orders[0].n == 2


async def test_a_checkout_with_no_cart_at_all_is_counted_too(serve_with: Serve, database_url: str) -> None:
    async with await serve_with(rate_limit_checkout=f"1/{DAY}") as client:
        variables = {"email": "ada@example.com", "address": ADDRESS}  # no cartToken, not signed in
        first = await post(client, CHECKOUT, variables, from_address("192.0.2.7"))
        assert [error["code"] for error in errors_of(first)] == ["CART_NOT_FOUND"]
        assert is_refused(await post(client, CHECKOUT, variables, from_address("192.0.2.7")), DAY)


async def test_signed_in_checkouts_are_limited_per_user_wherever_they_come_from(
    serve_with: Serve, database_url: str
) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 50)
    async with await serve_with(rate_limit_checkout=f"1/{DAY}") as client:
        registered = await post(client, REGISTER, {"email": new_email(), "password": PASSWORD, "name": "Ada"})
        token = registered.json()["data"]["register"]["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}

        async def checkout(address: str) -> httpx.Response:
            await new_cart(client, variant_id, token=token)
            variables = {"address": ADDRESS}
            return await post(client, CHECKOUT, variables, {**headers, **from_address(address)})

        assert errors_of(await checkout("192.0.2.1")) == []
        assert is_refused(await checkout("192.0.2.99"), DAY)
        # A guest at the same address has a limit of their own.
        cart = await new_cart(client, variant_id)
        guest = await post(
            client,
            CHECKOUT,
            {"cartToken": cart, "email": "g@example.com", "address": ADDRESS},
            from_address("192.0.2.1"),
        )
        assert errors_of(guest) == []


# ---------------------------------------------------------------- client addresses


async def test_an_untrusted_peer_cannot_pick_its_address(serve_with: Serve) -> None:
    async with await serve_with(forwarded_allow_ips="10.9.9.9", rate_limit_login=f"2/{DAY}") as client:
        answers = [await login(client, new_email(), address=f"203.0.113.{i}") for i in range(3)]
    assert [is_refused(answer, DAY) for answer in answers] == [False, False, True]


async def test_ipv6_clients_are_counted_by_their_64_bit_prefix(serve_with: Serve) -> None:
    async with await serve_with(rate_limit_login=f"2/{DAY}") as client:
        assert not is_refused(await login(client, new_email(), address="2001:db8:1:2::1"), DAY)
        assert not is_refused(await login(client, new_email(), address="2001:db8:1:2:ffff::9"), DAY)
        assert is_refused(await login(client, new_email(), address="2001:db8:1:2::abcd"), DAY)
        assert not is_refused(await login(client, new_email(), address="2001:db8:1:3::1"), DAY)


def test_address_keys() -> None:
    assert address_key("203.0.113.9") == "203.0.113.9"
    assert address_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert address_key("::ffff:203.0.113.9") == "203.0.113.9"
    assert address_key(None) == "unknown" and address_key("") == "unknown"
    assert address_key("some-unix-socket") == "some-unix-socket"


# ---------------------------------------------------------------- across processes, cleanup, settings


async def test_limits_hold_across_server_processes(
    serve_with: Serve, settings: Settings, database_url: str
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_LISTEN_URL": settings.database_listen_url or database_url,
        "DATA_DIR": str(settings.data_dir),
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LOG_LEVEL": "warning",
        "BCRYPT_ROUNDS": "4",
        "RATE_LIMIT_LOGIN": f"4/{DAY}",
        "RATE_LIMIT_LOGIN_EMAIL": "off",
    }
    env.pop("STRIPE_SECRET_KEY", None)
    async with (
        serve_process(env) as other_url,
        await serve_with(rate_limit_login=f"4/{DAY}") as here,
        httpx.AsyncClient(base_url=other_url) as there,
    ):
        answers = [await login(client, new_email()) for client in (here, there, here, there, here, there)]
    assert [is_refused(answer, DAY) for answer in answers] == [False] * 4 + [True] * 2


async def test_ended_windows_are_deleted_by_the_periodic_task(serve_with: Serve, database_url: str) -> None:
    await sql(
        database_url,
        "INSERT INTO rate_limit_counters (bucket, key, window_start, expires_at, hits)"
        " VALUES ('login:address', 'old', now() - interval '2 hours', now() - interval '1 hour', 7)",
    )
    async with await serve_with(rate_limit_login=f"5/{DAY}") as client:
        await login(client, new_email())
    engine = own_engine(database_url)
    try:
        # The job worker's periodic task (jobs.periodic: every minute, once however many run).
        assert await rate_limits.delete_ended_windows(engine) == 1
    finally:
        await engine.dispose()
    rows = await sql(database_url, "SELECT hits FROM rate_limit_counters ORDER BY window_start")
    assert [row.hits for row in rows] == [1]


def test_rate_limit_settings() -> None:
    assert RateLimit.parse("10/60") == RateLimit(attempts=10, seconds=60)
    assert RateLimit.parse(" 5 / 3600 ") == RateLimit(attempts=5, seconds=3600)
    assert RateLimit.parse("off") is None and RateLimit.parse("") is None
    for malformed in ("10", "ten/60", "10/0", "-1/60", "10/60/2"):
        with pytest.raises(ValueError, match="ATTEMPTS/SECONDS"):
            RateLimit.parse(malformed)
    with pytest.raises(pydantic.ValidationError):
        Settings(_env_file=None, rate_limit_login="lots")  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for name in NO_RATE_LIMITS:
        assert RateLimit.parse(getattr(defaults, name)) is not None, name


async def test_default_limits_let_a_shopper_through(client: httpx.AsyncClient, database_url: str) -> None:
    email = new_email()
    assert (
        errors_of(await post(client, REGISTER, {"email": email, "password": PASSWORD, "name": "Ada"})) == []
    )
    for _ in range(3):
        signed_in = await post(client, LOGIN, {"email": email, "password": PASSWORD})
        assert errors_of(signed_in) == []
    token = signed_in.json()["data"]["login"]["refreshToken"]
    assert errors_of(await post(client, REFRESH, {"refreshToken": token})) == []
    assert (await graphql(client, "{ __typename }"))["data"]


async def test_retry_after_is_the_rest_of_the_window(serve_with: Serve) -> None:
    async with await serve_with(rate_limit_login="1/60") as client:
        answers = [await login(client, new_email()) for _ in range(3)]
    # is_refused checks 1 <= retry-after <= 60; the second or (past a window's end) third is refused.
    assert any(is_refused(answer, 60) for answer in answers[1:])
