"""Accounts through /graphql: signing up, signing in, tokens, staff."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from core import pii
from tests.support import graphql, sql

PASSWORD = "correct horse battery"

AUTH_FIELDS = """
accessToken refreshToken
user { id email name isStaff }
cart { token totalQuantity subtotal { amount currency } lines { quantity variant { id } } }
userErrors { field message code }
"""

REGISTER = f"""
mutation($email: String!, $password: String!, $name: String!, $cartToken: String) {{
  register(email: $email, password: $password, name: $name, cartToken: $cartToken) {{ {AUTH_FIELDS} }}
}}
"""

LOGIN = f"""
mutation($email: String!, $password: String!, $cartToken: String) {{
  login(email: $email, password: $password, cartToken: $cartToken) {{ {AUTH_FIELDS} }}
}}
"""

REFRESH = f"""
mutation($refreshToken: String!) {{ refreshToken(refreshToken: $refreshToken) {{ {AUTH_FIELDS} }} }}
"""

LOGOUT = """
mutation($refreshToken: String!) {
  logout(refreshToken: $refreshToken) { ok userErrors { field message code } }
}
"""

ME = "{ me { id email name isStaff } }"

_emails = itertools.count(1)


def email_key(email: str) -> bytes:
    """The blind index users and orders are found by (the e-mail itself is encrypted)."""
    return pii.blind_index(email.strip().lower())


def plain(stored: str, column: str) -> str:
    """A value of an encrypted column (`table.column`) as it was written."""
    return pii.decrypt(stored, column).decode()


def new_email() -> str:
    return f"shopper{next(_emails)}@example.com"


async def register(
    client: httpx.AsyncClient,
    email: str | None = None,
    password: str = PASSWORD,
    name: str = "Ada Shopper",
    cart_token: str | None = None,
) -> dict[str, Any]:
    variables = {
        "email": new_email() if email is None else email,
        "password": password,
        "name": name,
        "cartToken": cart_token,
    }
    body = await graphql(client, REGISTER, variables)
    assert "errors" not in body, body
    return body["data"]["register"]


async def signed_up(client: httpx.AsyncClient, email: str | None = None) -> dict[str, Any]:
    """A new user's AuthPayload; fails the test unless registration succeeded."""
    payload = await register(client, email)
    assert payload["userErrors"] == [], payload
    return payload


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, cart_token: str | None = None
) -> dict[str, Any]:
    body = await graphql(client, LOGIN, {"email": email, "password": password, "cartToken": cart_token})
    assert "errors" not in body, body
    return body["data"]["login"]


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> dict[str, Any]:
    body = await graphql(client, REFRESH, {"refreshToken": refresh_token})
    assert "errors" not in body, body
    return body["data"]["refreshToken"]


async def me(client: httpx.AsyncClient, token: str | None) -> dict[str, Any] | None:
    body = await graphql(client, ME, token=token)
    assert "errors" not in body, body
    return body["data"]["me"]


async def signed_up_token(client: httpx.AsyncClient, email: str | None = None) -> str:
    """A new user's access token."""
    return (await signed_up(client, email))["accessToken"]


async def staff_token(client: httpx.AsyncClient, database_url: str, email: str = "staff@example.com") -> str:
    """An access token of a new staff member."""
    token = await signed_up_token(client, email)
    await sql(database_url, "UPDATE users SET is_staff = true WHERE email_index = :key", key=email_key(email))
    return token
