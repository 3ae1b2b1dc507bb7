"""Helpers for tests that shop: variants with known stock, carts, checkouts, signed webhooks."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from sqlalchemy import text

from core.db import create_engine
from core.settings import Settings
from main import create_app
from tests.stripe_stub import WEBHOOK_SECRET, event, stripe_signature
from tests.support import RunningServer, graphql, start_server

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "city": "London",
    "postalCode": "N1 9GU",
    "country": "gb",
}

CHECKOUT = """
mutation($cartToken: String, $email: String, $address: AddressInput!, $successUrl: String, $cancelUrl: String) {
  checkoutCreate(cartToken: $cartToken, email: $email, shippingAddress: $address,
                 successUrl: $successUrl, cancelUrl: $cancelUrl) {
    order { id number status email total { amount currency } subtotal { amount }
            lines { sku productName variantName quantity unitPrice { amount } lineTotal { amount } }
            shippingAddress { name country postalCode } statusHistory { from to reason } }
    checkoutUrl orderToken
    userErrors { field code message }
  }
}
"""

ORDER = """
query($id: ID!, $token: String) {
  order(id: $id, orderToken: $token) {
    id number status paidAt trackingNumber total { amount }
    statusHistory { from to at reason }
  }
}
"""

ADD = """
mutation($cartToken: String, $lines: [CartLineInput!]!) {
  cartLinesAdd(cartToken: $cartToken, lines: $lines) { cart { token } userErrors { code message } }
}
"""

VARIANT = "query($id: ID!) { node(id: $id) { ... on ProductVariant { quantityAvailable price { amount } } } }"


async def serve(settings: Settings) -> tuple[RunningServer, Any, Any]:
    app = create_app(settings)
    server, task, url = await start_server(app)
    return RunningServer(app, url), server, task


async def sql(database_url: str, statement: str, **params: Any) -> list[Any]:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        await engine.dispose()


async def variant_with_stock(database_url: str, stock: int, offset: int = 0) -> tuple[str, int, int]:
    """A variant of an active product set to `stock` units: (global id, pk, price)."""
    rows = await sql(
        database_url,
        "UPDATE product_variants SET stock = :stock, reserved = 0 WHERE id = ("
        " SELECT v.id FROM product_variants v JOIN products p ON p.id = v.product_id"
        " WHERE p.is_active ORDER BY v.id OFFSET :offset LIMIT 1) RETURNING id, price",
        stock=stock,
        offset=offset,
    )
    pk, price = rows[0]
    return base64.b64encode(f"ProductVariant:{pk}".encode()).decode(), pk, price


async def stock_of(database_url: str, pk: int) -> tuple[int, int]:
    (row,) = await sql(database_url, "SELECT stock, reserved FROM product_variants WHERE id = :id", id=pk)
    return row.stock, row.reserved


async def new_cart(
    client: httpx.AsyncClient, variant_id: str, quantity: int = 1, token: str | None = None
) -> str:
    body = await graphql(
        client, ADD, {"lines": [{"variantId": variant_id, "quantity": quantity}]}, token=token
    )
    payload = body["data"]["cartLinesAdd"]
    assert payload["userErrors"] == [], payload
    return payload["cart"]["token"]


async def checkout(
    client: httpx.AsyncClient, cart_token: str | None, token: str | None = None, **extra: Any
) -> dict:
    variables = {"cartToken": cart_token, "email": "ada@example.com", "address": ADDRESS, **extra}
    body = await graphql(client, CHECKOUT, variables, token=token)
    assert "errors" not in body, body
    return body["data"]["checkoutCreate"]


async def send_event(
    client: httpx.AsyncClient, event_type: str, data: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    payload = event(event_type, data, kwargs.pop("event_id", None))
    signature = kwargs.pop("signature", None) or stripe_signature(
        payload, kwargs.pop("secret", WEBHOOK_SECRET)
    )
    return await client.post(
        "/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


async def order_row(database_url: str, global_id: str) -> Any:
    pk = int(base64.b64decode(global_id).decode().split(":")[1])
    (row,) = await sql(database_url, "SELECT * FROM orders WHERE id = :id", id=pk)
    return row


def session_of(order: Any, **fields: Any) -> dict[str, Any]:
    return {
        "id": order.payment_session_id,
        "object": "checkout.session",
        "amount_total": order.total,
        "currency": order.currency,
        "client_reference_id": str(order.id),
        "metadata": {"order_id": str(order.id)},
        "payment_status": "paid",
        "status": "complete",
        "payment_intent": f"pi_test_{order.id}",
        **fields,
    }


async def register(client: httpx.AsyncClient, email: str) -> str:
    body = await graphql(
        client,
        'mutation($e: String!) { register(email: $e, password: "correct horse battery", name: "Shopper") '
        "{ accessToken userErrors { code } } }",
        {"e": email},
    )
    return body["data"]["register"]["accessToken"]


async def staff_token(client: httpx.AsyncClient, database_url: str) -> str:
    token = await register(client, "staff@example.com")
    await sql(database_url, "UPDATE users SET is_staff = true WHERE email = 'staff@example.com'")
    return token


async def paid_order(
    client: httpx.AsyncClient, database_url: str, quantity: int = 1
) -> tuple[dict, Any, int]:
    variant_id, pk, _ = await variant_with_stock(database_url, 10)
    result = await checkout(client, await new_cart(client, variant_id, quantity))
    order = await order_row(database_url, result["order"]["id"])
    response = await send_event(client, "checkout.session.completed", session_of(order))
    assert response.status_code == 200, response.text
    return result, await order_row(database_url, result["order"]["id"]), pk
