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


# ---------------------------------------------------------------- self-service (issue 17)

USER_ERRORS = "userErrors { field message code }"
ADDRESS_FIELDS = (
    "id isDefaultShipping isDefaultBilling address { name line1 line2 city state postalCode country }"
)
ME_FULL = f"""{{ me {{ id email name emailVerified addresses {{ {ADDRESS_FIELDS} }}
  sessions {{ id createdAt lastUsedAt clientAddress userAgent current }} }} }}"""
ACCOUNT_UPDATE = f"mutation($n: String) {{ accountUpdate(name: $n) {{ user {{ name }} {USER_ERRORS} }} }}"
PASSWORD_CHANGE = f"""mutation($c: String!, $n: String!) {{
  accountPasswordChange(currentPassword: $c, newPassword: $n) {{ user {{ id }} {USER_ERRORS} }} }}"""
RESET_REQUEST = f"mutation($e: String!) {{ accountPasswordResetRequest(email: $e) {{ ok {USER_ERRORS} }} }}"
RESET = f"""mutation($t: String!, $p: String!) {{ accountPasswordReset(token: $t, newPassword: $p) {{
  accessToken refreshToken user {{ email emailVerified }} {USER_ERRORS} }} }}"""
VERIFY_REQUEST = f"mutation {{ accountEmailVerificationRequest {{ ok {USER_ERRORS} }} }}"
VERIFY = (
    f"mutation($t: String!) {{ accountEmailVerify(token: $t) {{ user {{ emailVerified }} {USER_ERRORS} }} }}"
)
EMAIL_CHANGE_REQUEST = f"""mutation($e: String!, $p: String!) {{
  accountEmailChangeRequest(newEmail: $e, password: $p) {{ ok {USER_ERRORS} }} }}"""
EMAIL_CHANGE_CONFIRM = f"""mutation($t: String!) {{
  accountEmailChangeConfirm(token: $t) {{ user {{ email emailVerified }} {USER_ERRORS} }} }}"""
ADDRESS_CREATE = f"""mutation($a: AddressInput!, $s: Boolean, $b: Boolean) {{
  accountAddressCreate(input: $a, setDefaultShipping: $s, setDefaultBilling: $b) {{
    address {{ {ADDRESS_FIELDS} }} {USER_ERRORS} }} }}"""
ADDRESS_UPDATE = f"""mutation($id: ID!, $a: AddressInput!) {{
  accountAddressUpdate(id: $id, input: $a) {{ address {{ {ADDRESS_FIELDS} }} {USER_ERRORS} }} }}"""
ADDRESS_DELETE = f"""mutation($id: ID!) {{
  accountAddressDelete(id: $id) {{ address {{ id }} {USER_ERRORS} }} }}"""
ADDRESS_SET_DEFAULT = f"""mutation($id: ID!, $t: AddressType!) {{
  accountAddressSetDefault(id: $id, type: $t) {{ address {{ {ADDRESS_FIELDS} }} {USER_ERRORS} }} }}"""
SESSION_REVOKE = f"mutation($id: ID!) {{ accountSessionRevoke(id: $id) {{ ok {USER_ERRORS} }} }}"
SESSIONS_REVOKE_ALL = (
    f"mutation($k: Boolean) {{ accountSessionsRevokeAll(keepCurrent: $k) {{ ok {USER_ERRORS} }} }}"
)
ACCOUNT_DELETE = f"mutation($p: String!) {{ accountDelete(password: $p) {{ ok {USER_ERRORS} }} }}"
DATA_EXPORT = "{ myDataExport }"

HOME = {
    "name": "Grace Hopper",
    "line1": "7 Compiler Lane",
    "city": "Arlington",
    "state": "VA",
    "postalCode": "22201",
    "country": "US",
}


async def ok_data(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    """The data of an answer that has no GraphQL errors."""
    body = await graphql(client, query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


def link_token(message: Any) -> str:
    """The token of the link in an e-mail (its plain-text part)."""
    import re

    text = message.get_body(("plain",)).get_content()
    found = re.search(r"[?&]token=([A-Za-z0-9_\-]+)", text)
    assert found, text
    return found.group(1)


def recipient_of(message: Any) -> str:
    return str(message["To"])
