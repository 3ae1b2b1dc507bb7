"""Helpers for the account and cart tests: signing up, carts, variants and direct SQL."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from sqlalchemy import text

from core.db import create_engine
from graph.ids import to_global_id
from tests.support import graphql

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

CART_FIELDS = """
token totalQuantity subtotal { amount currency }
lines {
  id quantity priceChanged
  unitPrice { amount currency } lineTotal { amount currency }
  variant { id sku price { amount } quantityAvailable }
}
"""

CART = f"query($token: String) {{ cart(token: $token) {{ {CART_FIELDS} }} }}"

ADD = f"""
mutation($cartToken: String, $lines: [CartLineInput!]!) {{
  cartLinesAdd(cartToken: $cartToken, lines: $lines) {{
    cart {{ {CART_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

UPDATE = f"""
mutation($cartToken: String, $lines: [CartLineUpdateInput!]!) {{
  cartLinesUpdate(cartToken: $cartToken, lines: $lines) {{
    cart {{ {CART_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

REMOVE = f"""
mutation($cartToken: String, $lineIds: [ID!]!) {{
  cartLinesRemove(cartToken: $cartToken, lineIds: $lineIds) {{
    cart {{ {CART_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

_emails = itertools.count(1)


def new_email() -> str:
    return f"shopper{next(_emails)}@example.com"


async def run_sql(database_url: str, statement: str, **params: Any) -> list[Any]:
    """Run one statement on the test database (to set up or inspect state) and return its rows."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


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


async def in_stock_variants(database_url: str, count: int, at_least: int = 30) -> list[dict[str, Any]]:
    """Variants of active products with plenty of stock: global id, pk, price and what is available."""
    rows = await run_sql(
        database_url,
        """
        SELECT v.id, v.sku, v.price, v.stock - v.reserved AS available
        FROM product_variants v JOIN products p ON p.id = v.product_id AND p.is_active
        WHERE v.stock - v.reserved >= :at_least
        ORDER BY v.id LIMIT :count
        """,
        at_least=at_least,
        count=count,
    )
    assert len(rows) == count
    return [
        {
            "id": to_global_id("ProductVariant", row.id),
            "pk": row.id,
            "price": row.price,
            "available": row.available,
        }
        for row in rows
    ]


async def cart_add(
    client: httpx.AsyncClient,
    lines: list[tuple[str, int]],
    cart_token: str | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    variables = {
        "cartToken": cart_token,
        "lines": [{"variantId": variant_id, "quantity": quantity} for variant_id, quantity in lines],
    }
    body = await graphql(client, ADD, variables, token=token)
    assert "errors" not in body, body
    return body["data"]["cartLinesAdd"]


async def read_cart(
    client: httpx.AsyncClient, cart_token: str | None = None, token: str | None = None
) -> dict[str, Any] | None:
    body = await graphql(client, CART, {"token": cart_token}, token=token)
    assert "errors" not in body, body
    return body["data"]["cart"]
