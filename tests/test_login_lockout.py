"""Strangers cannot lock a customer out, and guessing stays bounded (issue 12, item 5).

Sign-in attempts count per client address, per account and client address, and against a larger
ceiling per account that a client with no attempts since its last sign-in is let past.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from app.factory import create_app
from core.settings import Settings
from tests.accounts import LOGIN, PASSWORD, REGISTER, email_key, new_email
from tests.support import NO_RATE_LIMITS, served, sql

DAY = 86_400
PER_CLIENT = 3
CEILING = 10
LIMITS = {"rate_limit_login_email": f"{PER_CLIENT}/{DAY}", "rate_limit_login_account": f"{CEILING}/{DAY}"}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={**NO_RATE_LIMITS, **LIMITS}))
    async with served(app) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=60) as http:
            yield http


Login = Callable[..., Any]


async def sign_in(client: httpx.AsyncClient, email: str, address: str, password: str) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"email": email, "password": password}},
        headers={"X-Forwarded-For": address},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["login"]


def code_of(payload: dict[str, Any]) -> str | None:
    return payload["userErrors"][0]["code"] if payload["userErrors"] else None


async def registered(client: httpx.AsyncClient) -> str:
    email = new_email()
    response = await client.post(
        "/graphql",
        json={"query": REGISTER, "variables": {"email": email, "password": PASSWORD, "name": "Ada"}},
    )
    assert response.json()["data"]["register"]["userErrors"] == []
    return email


async def sessions_of(database_url: str, email: str) -> int:
    rows = await sql(
        database_url,
        "SELECT count(*) AS n FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE u.email_index = :key",
        key=email_key(email),
    )
    return rows[0].n


async def test_strangers_guessing_at_once_cannot_lock_the_owner_out(
    client: httpx.AsyncClient, database_url: str
) -> None:
    email = await registered(client)
    strangers = [f"198.51.100.{i}" for i in range(8)]
    guesses = await asyncio.gather(
        *(sign_in(client, email, address, f"guess {n}!!!!!") for address in strangers for n in range(5))
    )
    checked = [code_of(answer) for answer in guesses].count("INVALID_CREDENTIALS")
    refused = [code_of(answer) for answer in guesses].count("RATE_LIMITED")
    assert checked + refused == 40 and all(answer["accessToken"] is None for answer in guesses)
    # Bounded: at most PER_CLIENT per address, and past the ceiling one first try per address.
    assert checked <= CEILING + len(strangers)
    # The owner, from their own address, signs in with the right password.
    owner = await sign_in(client, email, "203.0.113.7", PASSWORD)
    assert owner["userErrors"] == [] and owner["accessToken"]
    # The session was made (registration's and this one); no stranger got one.
    assert await sessions_of(database_url, email) == 2


async def test_past_the_ceiling_only_a_first_try_is_checked(
    client: httpx.AsyncClient, database_url: str
) -> None:
    email = await registered(client)
    # Fill the ceiling from many addresses, PER_CLIENT - 1 wrong guesses each, all at once.
    fillers = [f"192.0.2.{i}" for i in range(CEILING // (PER_CLIENT - 1) + 1)]
    await asyncio.gather(
        *(
            sign_in(client, email, address, "wrong password")
            for address in fillers
            for _ in range(PER_CLIENT - 1)
        )
    )
    # A client that has failed on this account: refused, even with the right password.
    again = await sign_in(client, email, fillers[0], PASSWORD)
    assert code_of(again) == "RATE_LIMITED" and again["accessToken"] is None
    # Twenty tries at once from one new address: only one is let past the ceiling.
    burst = await asyncio.gather(
        *(sign_in(client, email, "203.0.113.50", "wrong password") for _ in range(20))
    )
    assert [code_of(answer) for answer in burst].count("INVALID_CREDENTIALS") == 1
    # A client with no failures on the account gets through with the right password.
    owner = await sign_in(client, email, "203.0.113.99", PASSWORD)
    assert owner["accessToken"] and owner["userErrors"] == []
    assert await sessions_of(database_url, email) == 2


async def test_a_successful_sign_in_clears_the_clients_failures(
    client: httpx.AsyncClient, database_url: str
) -> None:
    email = await registered(client)
    for _ in range(PER_CLIENT - 1):
        assert (
            code_of(await sign_in(client, email, "203.0.113.8", "mistyped password")) == "INVALID_CREDENTIALS"
        )
    assert (await sign_in(client, email, "203.0.113.8", PASSWORD))["accessToken"]
    rows = await sql(
        database_url, "SELECT count(*) AS n FROM rate_limit_counters WHERE bucket = 'login:account+address'"
    )
    assert rows[0].n == 0
    # So a later typo or two does not lock the owner out either.
    for _ in range(PER_CLIENT - 1):
        assert (
            code_of(await sign_in(client, email, "203.0.113.8", "mistyped password")) == "INVALID_CREDENTIALS"
        )
    assert (await sign_in(client, email, "203.0.113.8", PASSWORD))["accessToken"]
