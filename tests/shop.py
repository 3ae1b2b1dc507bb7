"""What a shopper does, for the tests: variants with known stock, carts, checkouts, orders,
signed Stripe webhooks, order subscriptions. Accounts are in tests/accounts.py."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import httpx

from app.factory import create_app
from core.settings import Settings
from tests.stripe_stub import WEBHOOK_SECRET, event, stripe_signature
from tests.support import RunningServer, graphql, served, sql

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

VARIANT = "query($id: ID!) { node(id: $id) { ... on ProductVariant { quantityAvailable price { amount } } } }"


def serve(settings: Settings) -> contextlib.AbstractAsyncContextManager[RunningServer]:
    """The application made from `settings`, served for an `async with` block."""
    return served(create_app(settings))


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


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
    return global_id("ProductVariant", pk), pk, price


async def stock_of(database_url: str, pk: int) -> tuple[int, int]:
    (row,) = await sql(database_url, "SELECT stock, reserved FROM product_variants WHERE id = :id", id=pk)
    return row.stock, row.reserved


async def new_cart(
    client: httpx.AsyncClient, variant_id: str, quantity: int = 1, token: str | None = None
) -> str:
    """A new cart holding `quantity` of the variant; its token."""
    payload = await cart_add(client, [(variant_id, quantity)], token=token)
    assert payload["userErrors"] == [], payload
    return payload["cart"]["token"]


async def in_stock_variants(database_url: str, count: int, at_least: int = 30) -> list[dict[str, Any]]:
    """Variants of active products with plenty of stock: global id, pk, price and what is available."""
    rows = await sql(
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
            "id": global_id("ProductVariant", row.id),
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


async def cart_update(
    client: httpx.AsyncClient,
    lines: list[tuple[str, int]],
    cart_token: str | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    variables = {
        "cartToken": cart_token,
        "lines": [{"lineId": line_id, "quantity": quantity} for line_id, quantity in lines],
    }
    body = await graphql(client, UPDATE, variables, token=token)
    assert "errors" not in body, body
    return body["data"]["cartLinesUpdate"]


async def cart_remove(
    client: httpx.AsyncClient, line_ids: list[str], cart_token: str | None = None, token: str | None = None
) -> dict[str, Any]:
    body = await graphql(client, REMOVE, {"cartToken": cart_token, "lineIds": line_ids}, token=token)
    assert "errors" not in body, body
    return body["data"]["cartLinesRemove"]


async def read_cart(
    client: httpx.AsyncClient, cart_token: str | None = None, token: str | None = None
) -> dict[str, Any] | None:
    body = await graphql(client, CART, {"token": cart_token}, token=token)
    assert "errors" not in body, body
    return body["data"]["cart"]


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


async def order_row(database_url: str, order_id: str) -> Any:
    """The orders row of the order with this global id."""
    pk = int(base64.b64decode(order_id).decode().split(":")[1])
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


async def paid_order(
    client: httpx.AsyncClient, database_url: str, quantity: int = 1
) -> tuple[dict, Any, int]:
    variant_id, pk, _ = await variant_with_stock(database_url, 10)
    result = await checkout(client, await new_cart(client, variant_id, quantity))
    order = await order_row(database_url, result["order"]["id"])
    response = await send_event(client, "checkout.session.completed", session_of(order))
    assert response.status_code == 200, response.text
    return result, await order_row(database_url, result["order"]["id"]), pk


# ---------------------------------------------------------------- following orders live

FOLLOW = """
subscription($id: ID!, $token: String) {
  orderStatusChanged(orderId: $id, orderToken: $token) { from to at order { id number status } }
}
"""
MINE = "subscription { myOrderUpdates { from to order { id status } } }"


async def guest_order(
    client: httpx.AsyncClient, database_url: str, token: str | None = None
) -> dict[str, Any]:
    """A checkout of one unit of a variant with stock to spare (by the signed-in user with `token`)."""
    variant_id, _, _ = await variant_with_stock(database_url, 50)
    return await checkout(
        client,
        await new_cart(client, variant_id, token=token),
        token=token,
        **({"email": None} if token else {}),
    )


async def pay(client: httpx.AsyncClient, database_url: str, order_id: str) -> None:
    """Stripe's signed `checkout.session.completed` for the order, which it marks paid."""
    row = await order_row(database_url, order_id)
    response = await send_event(client, "checkout.session.completed", session_of(row))
    assert response.status_code == 200 and response.json()["outcome"] == "paid", response.text


# ---------------------------------------------------------------- reviews

MOVE = """
mutation($id: ID!, $status: OrderStatus!, $tracking: String) {
  orderUpdateStatus(id: $id, status: $status, trackingNumber: $tracking) { order { status } userErrors { code } }
}
"""


async def deliver(client: httpx.AsyncClient, order_id: str, staff: str) -> None:
    """Staff move a paid order along to DELIVERED, as the shop would."""
    for status in ("PROCESSING", "SHIPPED", "DELIVERED"):
        variables = {"id": order_id, "status": status, "tracking": "TRACK-1"}
        body = await graphql(client, MOVE, variables, token=staff)
        assert body["data"]["orderUpdateStatus"]["order"]["status"] == status, body


async def product_of_variant(database_url: str, variant_pk: int) -> str:
    (row,) = await sql(database_url, "SELECT product_id FROM product_variants WHERE id = :id", id=variant_pk)
    return global_id("Product", row.product_id)


async def received_product(
    client: httpx.AsyncClient, database_url: str, token: str, staff: str, offset: int = 0
) -> str:
    """The signed-in customer buys one unit of a product and it is delivered; the product's id."""
    variant_id, pk, _ = await variant_with_stock(database_url, 50, offset=offset)
    result = await checkout(client, await new_cart(client, variant_id, token=token), token=token, email=None)
    assert result["userErrors"] == [], result
    await pay(client, database_url, result["order"]["id"])
    await deliver(client, result["order"]["id"], staff)
    return await product_of_variant(database_url, pk)
