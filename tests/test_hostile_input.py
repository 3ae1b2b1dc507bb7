"""Hostile strings through every string argument of the contract.

Each answer must be a normal answer or a clear error (a userError, or a GraphQL error that is not
INTERNAL_SERVER_ERROR; a 400 where the JSON itself is refused), never leak SQL or a traceback,
leave nothing stored half-way, and leave the server answering.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from app.factory import create_app
from core.settings import Settings
from graph.ids import pk_of, to_global_id
from tests.accounts import PASSWORD, email_key, new_email
from tests.shop import ADDRESS, deliver, global_id, send_event, session_of, variant_with_stock
from tests.support import MANY_OPEN_ORDERS, RunningServer, served, sql
from tests.ws_client import GraphQLWebSocket

HOSTILE = [
    "'; DROP TABLE users; --",
    "' OR '1'='1",
    '" OR 1=1 -- %_\\',
    "x" * 100_000,
    "\U0001d518" * 20_000,  # four UTF-8 bytes each
    "a\x00b",
    "\x00",
    "\udc80",  # lone surrogates: not Unicode text, refused with the JSON
    "x\ud800y",
    "\u202egnp.exe",  # right-to-left override
    "\u200f\u200e",  # right-to-left and left-to-right marks
    "\ufeff\u200b",  # byte-order mark, zero-width space
    "<script>alert(1)</script>",
    "${jndi:ldap://example.com/a}",
    "../../etc/passwd",
    "\r\n\t",
    "\U0001f6d2\U0001f469\u200d\U0001f469\u200d\U0001f467",
    "",
    " ",
]
LEAKS = ("Traceback", "asyncpg", "sqlalchemy", "[SQL", "psycopg", 'File "')


def has_lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(character) <= 0xDFFF for character in text)


class Shop:
    """The application over HTTP, with ways to make the carts and orders a case needs."""

    def __init__(self, client: httpx.AsyncClient, url: str, database_url: str, variant_id: str) -> None:
        self.client = client
        self.url = url
        self.storefront = "http://127.0.0.1:8000"  # the default STOREFRONT_URL, where checkout may return
        self.database_url = database_url
        self.variant_id = variant_id

    async def send(self, query: str, variables: dict[str, Any], token: str | None = None) -> httpx.Response:
        # json.dumps escapes lone surrogates as \udXXX, as a hostile client would send them.
        body = json.dumps({"query": query, "variables": variables}).encode()
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        return await self.client.post("/graphql", content=body, headers=headers)

    async def data(self, query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        body = (await self.send(query, variables, token)).json()
        assert "errors" not in body, body
        (result,) = body["data"].values()
        return result

    async def user(self) -> dict[str, Any]:
        email = new_email()
        payload = await self.data(
            'mutation($e: String!, $p: String!) { register(email: $e, password: $p, name: "Ann")'
            " { accessToken refreshToken userErrors { code } } }",
            {"e": email, "p": PASSWORD},
        )
        assert payload["userErrors"] == []
        return {**payload, "email": email}

    async def staff(self) -> str:
        user = await self.user()
        await sql(
            self.database_url,
            "UPDATE users SET is_staff = true WHERE email_index = :key",
            key=email_key(user["email"]),
        )
        return user["accessToken"]

    async def cart(self) -> dict[str, Any]:
        payload = await self.data(
            "mutation($v: ID!) { cartLinesAdd(lines: [{variantId: $v, quantity: 1}])"
            " { cart { token lines { id } } userErrors { code } } }",
            {"v": self.variant_id},
        )
        return {"token": payload["cart"]["token"], "line": payload["cart"]["lines"][0]["id"]}

    async def order(self) -> dict[str, Any]:
        cart = await self.cart()
        payload = await self.data(
            'mutation($t: String, $a: AddressInput!) { checkoutCreate(cartToken: $t, email: "g@example.com",'
            " shippingAddress: $a) { order { id } orderToken userErrors { code } } }",
            {"t": cart["token"], "a": ADDRESS},
        )
        assert payload["userErrors"] == [], payload
        return {"id": payload["order"]["id"], "token": payload["orderToken"]}

    async def paid_order(self) -> dict[str, Any]:
        order = await self.order()
        (row,) = await sql(
            self.database_url, "SELECT * FROM orders WHERE id = :id", id=pk_of(order["id"], "Order")
        )
        response = await send_event(self.client, "checkout.session.completed", session_of(row))
        assert response.json()["outcome"] == "paid"
        return order


Request = tuple[str, dict[str, Any], str | None]
Case = Callable[[Shop, str], Awaitable[Request]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def register(function: Case) -> Case:
        CASES[name] = function
        return function

    return register


USER = "user { id } accessToken userErrors { code }"
CART = "cart { token } userErrors { code }"
ORDER = "order { id status } userErrors { code }"


def address_case(field: str) -> None:
    @case(f"checkoutCreate.shippingAddress.{field}")
    async def _(shop: Shop, hostile: str) -> Request:
        cart = await shop.cart()
        address = {**ADDRESS, field: hostile}
        query = f'mutation($t: String, $a: AddressInput!) {{ checkoutCreate(cartToken: $t, email: "g@example.com", shippingAddress: $a) {{ {ORDER} }} }}'
        return query, {"t": cart["token"], "a": address}, None


@case("node.id")
async def _node(shop: Shop, hostile: str) -> Request:
    return "query($v: ID!) { node(id: $v) { id } }", {"v": hostile}, None


@case("products.after")
async def _after(shop: Shop, hostile: str) -> Request:
    return "query($v: String) { products(first: 2, after: $v) { edges { cursor } } }", {"v": hostile}, None


@case("products.filter.search")
async def _search(shop: Shop, hostile: str) -> Request:
    return "query($v: String) { products(filter: {search: $v}) { totalCount } }", {"v": hostile}, None


@case("products.filter.categorySlug")
async def _category(shop: Shop, hostile: str) -> Request:
    return "query($v: String) { products(filter: {categorySlug: $v}) { totalCount } }", {"v": hostile}, None


@case("product.slug")
async def _product(shop: Shop, hostile: str) -> Request:
    return "query($v: String!) { product(slug: $v) { id } }", {"v": hostile}, None


@case("cart.token")
async def _cart(shop: Shop, hostile: str) -> Request:
    return "query($v: String) { cart(token: $v) { token } }", {"v": hostile}, None


@case("orders.after")
async def _orders(shop: Shop, hostile: str) -> Request:
    token = (await shop.user())["accessToken"]
    return "query($v: String) { orders(after: $v) { totalCount } }", {"v": hostile}, token


@case("order.id")
async def _order_id(shop: Shop, hostile: str) -> Request:
    return "query($v: ID!) { order(id: $v) { id } }", {"v": hostile}, None


@case("order.orderToken")
async def _order_token(shop: Shop, hostile: str) -> Request:
    order = await shop.order()
    return (
        "query($i: ID!, $v: String) { order(id: $i, orderToken: $v) { id } }",
        {"i": order["id"], "v": hostile},
        None,
    )


@case("register.email")
async def _register_email(shop: Shop, hostile: str) -> Request:
    query = (
        f'mutation($v: String!) {{ register(email: $v, password: "{PASSWORD}", name: "Ann") {{ {USER} }} }}'
    )
    return query, {"v": hostile}, None


@case("register.password")
async def _register_password(shop: Shop, hostile: str) -> Request:
    query = f'mutation($e: String!, $v: String!) {{ register(email: $e, password: $v, name: "Ann") {{ {USER} }} }}'
    return query, {"e": new_email(), "v": hostile}, None


@case("register.name")
async def _register_name(shop: Shop, hostile: str) -> Request:
    query = f'mutation($e: String!, $v: String!) {{ register(email: $e, password: "{PASSWORD}", name: $v) {{ {USER} }} }}'
    return query, {"e": new_email(), "v": hostile}, None


@case("register.cartToken")
async def _register_cart(shop: Shop, hostile: str) -> Request:
    query = (
        f'mutation($e: String!, $v: String) {{ register(email: $e, password: "{PASSWORD}", name: "Ann",'
        f" cartToken: $v) {{ {USER} }} }}"
    )
    return query, {"e": new_email(), "v": hostile}, None


@case("login.email")
async def _login_email(shop: Shop, hostile: str) -> Request:
    return (
        f'mutation($v: String!) {{ login(email: $v, password: "{PASSWORD}") {{ {USER} }} }}',
        {"v": hostile},
        None,
    )


@case("login.password")
async def _login_password(shop: Shop, hostile: str) -> Request:
    user = await shop.user()
    return (
        f"mutation($e: String!, $v: String!) {{ login(email: $e, password: $v) {{ {USER} }} }}",
        {"e": user["email"], "v": hostile},
        None,
    )


@case("login.cartToken")
async def _login_cart(shop: Shop, hostile: str) -> Request:
    user = await shop.user()
    query = f'mutation($e: String!, $v: String) {{ login(email: $e, password: "{PASSWORD}", cartToken: $v) {{ {USER} }} }}'
    return query, {"e": user["email"], "v": hostile}, None


@case("refreshToken.refreshToken")
async def _refresh(shop: Shop, hostile: str) -> Request:
    return f"mutation($v: String!) {{ refreshToken(refreshToken: $v) {{ {USER} }} }}", {"v": hostile}, None


@case("logout.refreshToken")
async def _logout(shop: Shop, hostile: str) -> Request:
    return (
        "mutation($v: String!) { logout(refreshToken: $v) { ok userErrors { code } } }",
        {"v": hostile},
        None,
    )


@case("cartLinesAdd.cartToken")
async def _add_cart(shop: Shop, hostile: str) -> Request:
    query = f"mutation($v: String, $i: ID!) {{ cartLinesAdd(cartToken: $v, lines: [{{variantId: $i, quantity: 1}}]) {{ {CART} }} }}"
    return query, {"v": hostile, "i": shop.variant_id}, None


@case("cartLinesAdd.lines.variantId")
async def _add_variant(shop: Shop, hostile: str) -> Request:
    query = f"mutation($v: ID!) {{ cartLinesAdd(lines: [{{variantId: $v, quantity: 1}}]) {{ {CART} }} }}"
    return query, {"v": hostile}, None


@case("cartLinesUpdate.cartToken")
async def _update_cart(shop: Shop, hostile: str) -> Request:
    cart = await shop.cart()
    query = f"mutation($v: String, $l: ID!) {{ cartLinesUpdate(cartToken: $v, lines: [{{lineId: $l, quantity: 2}}]) {{ {CART} }} }}"
    return query, {"v": hostile, "l": cart["line"]}, None


@case("cartLinesUpdate.lines.lineId")
async def _update_line(shop: Shop, hostile: str) -> Request:
    cart = await shop.cart()
    query = f"mutation($t: String, $v: ID!) {{ cartLinesUpdate(cartToken: $t, lines: [{{lineId: $v, quantity: 2}}]) {{ {CART} }} }}"
    return query, {"t": cart["token"], "v": hostile}, None


@case("cartLinesRemove.cartToken")
async def _remove_cart(shop: Shop, hostile: str) -> Request:
    cart = await shop.cart()
    query = f"mutation($v: String, $l: ID!) {{ cartLinesRemove(cartToken: $v, lineIds: [$l]) {{ {CART} }} }}"
    return query, {"v": hostile, "l": cart["line"]}, None


@case("cartLinesRemove.lineIds")
async def _remove_line(shop: Shop, hostile: str) -> Request:
    cart = await shop.cart()
    query = f"mutation($t: String, $v: ID!) {{ cartLinesRemove(cartToken: $t, lineIds: [$v]) {{ {CART} }} }}"
    return query, {"t": cart["token"], "v": hostile}, None


CHECKOUT = (
    "mutation($t: String, $e: String, $a: AddressInput!, $s: String, $c: String) {"
    " checkoutCreate(cartToken: $t, email: $e, shippingAddress: $a, successUrl: $s, cancelUrl: $c)"
    f" {{ {ORDER} checkoutUrl }} }}"
)


def checkout_case(argument: str, variable: str) -> None:
    @case(f"checkoutCreate.{argument}")
    async def _(shop: Shop, hostile: str) -> Request:
        cart = await shop.cart()
        if variable in ("s", "c"):
            # On the storefront's own origin, so that the text gets past the origin check into the order.
            hostile = f"{shop.storefront}/checkout/done?note={hostile}"
        variables = {"t": cart["token"], "e": "g@example.com", "a": ADDRESS, "s": None, "c": None}
        return CHECKOUT, {**variables, variable: hostile}, None


for _argument, _variable in (("cartToken", "t"), ("email", "e"), ("successUrl", "s"), ("cancelUrl", "c")):
    checkout_case(_argument, _variable)
for _field in ("name", "line1", "line2", "city", "state", "postalCode", "country"):
    address_case(_field)


@case("orderCancel.id")
async def _cancel_id(shop: Shop, hostile: str) -> Request:
    return f'mutation($v: ID!) {{ orderCancel(id: $v, orderToken: "x") {{ {ORDER} }} }}', {"v": hostile}, None


@case("orderCancel.reason")
async def _cancel_reason(shop: Shop, hostile: str) -> Request:
    # Staff cancel a paid order: the refund happens first, so a reason the database refused would
    # leave money refunded and the order still PAID.
    order, staff = await shop.paid_order(), await shop.staff()
    return (
        f"mutation($i: ID!, $v: String) {{ orderCancel(id: $i, reason: $v) {{ {ORDER} }} }}",
        {"i": order["id"], "v": hostile},
        staff,
    )


@case("orderCancel.orderToken")
async def _cancel_token(shop: Shop, hostile: str) -> Request:
    order = await shop.order()
    return (
        f"mutation($i: ID!, $v: String) {{ orderCancel(id: $i, orderToken: $v) {{ {ORDER} }} }}",
        {"i": order["id"], "v": hostile},
        None,
    )


@case("orderUpdateStatus.id")
async def _status_id(shop: Shop, hostile: str) -> Request:
    return (
        f"mutation($v: ID!) {{ orderUpdateStatus(id: $v, status: PROCESSING) {{ {ORDER} }} }}",
        {"v": hostile},
        await shop.staff(),
    )


@case("orderUpdateStatus.reason")
async def _status_reason(shop: Shop, hostile: str) -> Request:
    order, staff = await shop.paid_order(), await shop.staff()
    query = f"mutation($i: ID!, $v: String) {{ orderUpdateStatus(id: $i, status: PROCESSING, reason: $v) {{ {ORDER} }} }}"
    return query, {"i": order["id"], "v": hostile}, staff


@case("orderUpdateStatus.trackingNumber")
async def _status_tracking(shop: Shop, hostile: str) -> Request:
    order, staff = await shop.paid_order(), await shop.staff()
    moved = await shop.data(
        f"mutation($i: ID!) {{ orderUpdateStatus(id: $i, status: PROCESSING) {{ {ORDER} }} }}",
        {"i": order["id"]},
        staff,
    )
    assert moved["order"]["status"] == "PROCESSING"
    query = f"mutation($i: ID!, $v: String) {{ orderUpdateStatus(id: $i, status: SHIPPED, trackingNumber: $v) {{ {ORDER} }} }}"
    return query, {"i": order["id"], "v": hostile}, staff


@case("orderRefund.id")
async def _refund_id(shop: Shop, hostile: str) -> Request:
    return f"mutation($v: ID!) {{ orderRefund(id: $v) {{ {ORDER} }} }}", {"v": hostile}, await shop.staff()


@case("orderRefund.reason")
async def _refund_reason(shop: Shop, hostile: str) -> Request:
    order, staff = await shop.paid_order(), await shop.staff()
    return (
        f"mutation($i: ID!, $v: String) {{ orderRefund(id: $i, reason: $v) {{ {ORDER} }} }}",
        {"i": order["id"], "v": hostile},
        staff,
    )


@case("failedJobs.after")
async def _failed_jobs_after(shop: Shop, hostile: str) -> Request:
    return "query($v: String) { failedJobs(after: $v) { totalCount } }", {"v": hostile}, await shop.staff()


@case("jobRetry.id")
async def _job_retry_id(shop: Shop, hostile: str) -> Request:
    query = "mutation($v: ID!) { jobRetry(id: $v) { queued userErrors { code } } }"
    return query, {"v": hostile}, await shop.staff()


REVIEW = "review { id body title } userErrors { code }"
_reviewers: dict[str, tuple[str, str]] = {}


async def reviewer(shop: Shop) -> tuple[str, str]:
    """A customer's access token and a product delivered to them (one per database)."""
    if shop.database_url not in _reviewers:
        user, staff = await shop.user(), await shop.staff()
        order = await shop.paid_order()
        await deliver(shop.client, order["id"], staff)
        (row,) = await sql(
            shop.database_url,
            "UPDATE orders SET user_id = (SELECT id FROM users WHERE email_index = :e) WHERE id = :o"
            " RETURNING (SELECT v.product_id FROM order_lines l JOIN product_variants v ON v.id = l.variant_id"
            " WHERE l.order_id = :o LIMIT 1)",
            e=email_key(user["email"]),
            o=pk_of(order["id"], "Order"),
        )
        _reviewers[shop.database_url] = (user["accessToken"], global_id("Product", row[0]))
    return _reviewers[shop.database_url]


@case("reviewSubmit.productId")
async def _review_product(shop: Shop, hostile: str) -> Request:
    token, _ = await reviewer(shop)
    query = f'mutation($v: ID!) {{ reviewSubmit(productId: $v, rating: 4, body: "ok") {{ {REVIEW} }} }}'
    return query, {"v": hostile}, token


@case("reviewSubmit.body")
async def _review_body(shop: Shop, hostile: str) -> Request:
    token, product = await reviewer(shop)
    query = f"mutation($p: ID!, $v: String!) {{ reviewSubmit(productId: $p, rating: 4, body: $v) {{ {REVIEW} }} }}"
    return query, {"p": product, "v": hostile}, token


@case("reviewSubmit.title")
async def _review_title(shop: Shop, hostile: str) -> Request:
    token, product = await reviewer(shop)
    query = f'mutation($p: ID!, $v: String) {{ reviewSubmit(productId: $p, rating: 4, body: "ok", title: $v) {{ {REVIEW} }} }}'
    return query, {"p": product, "v": hostile}, token


@case("reviewHide.id")
async def _review_hide(shop: Shop, hostile: str) -> Request:
    return f"mutation($v: ID!) {{ reviewHide(id: $v) {{ {REVIEW} }} }}", {"v": hostile}, await shop.staff()


@case("reviewEligibility.productId")
async def _review_eligibility(shop: Shop, hostile: str) -> Request:
    token, _ = await reviewer(shop)
    query = "query($v: ID!) { reviewEligibility(productId: $v) { canReview review { id } } }"
    return query, {"v": hostile}, token


# ---------------------------------------------------------------- the staff catalog (issue 14)

PRODUCT = "product { id } userErrors { code }"
VARIANT = "productVariant { id } userErrors { code }"
CATEGORY = "category { id } userErrors { code }"


async def catalog_ids(shop: Shop) -> dict[str, str]:
    """A staff token and ids of a product, a variant, a category and an attribute (made once per shop)."""
    known = getattr(shop, "catalog_ids", None)
    if known is None:
        staff = await shop.staff()
        (row,) = await sql(
            shop.database_url,
            "SELECT v.product_id, p.category_id FROM product_variants v JOIN products p ON p.id = v.product_id"
            " WHERE v.id = :v",
            v=pk_of(shop.variant_id, "ProductVariant"),
        )
        made = await shop.data(
            'mutation { attributeCreate(input: {name: "Hostile Finish", values: [{name: "Matte"}]})'
            " { attribute { id } userErrors { code } } }",
            {},
            staff,
        )
        known = {
            "staff": staff,
            "product": to_global_id("Product", row.product_id),
            "variant": shop.variant_id,
            "category": to_global_id("Category", row.category_id),
            "attribute": made["attribute"]["id"],
        }
        shop.catalog_ids = known  # type: ignore[attr-defined]
    return known


def catalog_case(
    path: str, document: str, variables: Callable[[dict[str, str], str], dict[str, Any]]
) -> None:
    @case(path)
    async def _(shop: Shop, hostile: str) -> Request:
        ids = await catalog_ids(shop)
        return document, variables(ids, hostile), None if path.startswith("products.") else ids["staff"]


_PRODUCT_INPUT = f"mutation($i: ProductCreateInput!) {{ productCreate(input: $i) {{ {PRODUCT} }} }}"
_PRODUCT_UPDATE = (
    f"mutation($p: ID!, $i: ProductUpdateInput!) {{ productUpdate(id: $p, input: $i) {{ {PRODUCT} }} }}"
)
_VARIANT_INPUT = (
    f"mutation($i: ProductVariantCreateInput!) {{ productVariantCreate(input: $i) {{ {VARIANT} }} }}"
)
_VARIANT_UPDATE = f"mutation($p: ID!, $i: ProductVariantUpdateInput!) {{ productVariantUpdate(id: $p, input: $i) {{ {VARIANT} }} }}"
_ATTRIBUTE_INPUT = "mutation($i: AttributeCreateInput!) { attributeCreate(input: $i) { attribute { id } userErrors { code } } }"
_VALUE_INPUT = (
    "mutation($a: ID!, $i: AttributeValueInput!) { attributeValueCreate(attribute: $a, input: $i)"
    " { attributeValue { slug } userErrors { code } } }"
)
_CATEGORY_INPUT = f"mutation($i: CategoryCreateInput!) {{ categoryCreate(input: $i) {{ {CATEGORY} }} }}"
_CATEGORY_UPDATE = (
    f"mutation($p: ID!, $i: CategoryUpdateInput!) {{ categoryUpdate(id: $p, input: $i) {{ {CATEGORY} }} }}"
)
_PRODUCT_SET = f"mutation($p: ID!, $a: [AttributeValuesInput!]!) {{ productAttributesSet(product: $p, attributes: $a) {{ {PRODUCT} }} }}"
_VARIANT_SET = (
    "mutation($p: ID!, $a: [AttributeValuesInput!]!) { productVariantAttributesSet(variant: $p, attributes: $a)"
    f" {{ {VARIANT} }} }}"
)
_FILTER = (
    "query($a: [AttributeFilter!]) { products(filter: {attributes: $a}) { totalCount facets { inStock } } }"
)

for _field in ("name", "slug", "description", "category"):
    catalog_case(
        f"productCreate.input.{_field}",
        _PRODUCT_INPUT,
        lambda ids, v, f=_field: {"i": {"name": "Hostile Lamp", f: v}},
    )
    catalog_case(
        f"productUpdate.input.{_field}",
        _PRODUCT_UPDATE,
        lambda ids, v, f=_field: {"p": ids["product"], "i": {f: v}},
    )
for _field in ("url", "alt"):
    catalog_case(
        f"productCreate.input.images.{_field}",
        _PRODUCT_INPUT,
        lambda ids, v, f=_field: {
            "i": {"name": "Hostile Lamp", "images": [{"url": "https://img.example/a.jpg", f: v}]}
        },
    )
    catalog_case(
        f"productUpdate.input.images.{_field}",
        _PRODUCT_UPDATE,
        lambda ids, v, f=_field: {
            "p": ids["product"],
            "i": {"images": [{"url": "https://img.example/a.jpg", f: v}]},
        },
    )
catalog_case("productUpdate.id", _PRODUCT_UPDATE, lambda ids, v: {"p": v, "i": {"name": "X"}})
catalog_case(
    "productDelete.id",
    f"mutation($p: ID!) {{ productDelete(id: $p) {{ {PRODUCT} }} }}",
    lambda ids, v: {"p": v},
)
for _field in ("name", "sku", "product"):
    catalog_case(
        f"productVariantCreate.input.{_field}",
        _VARIANT_INPUT,
        lambda ids, v, f=_field: {
            "i": {"product": ids["product"], "sku": "HOSTILE-1", "name": "X", "price": 100, f: v}
        },
    )
for _field in ("name", "sku"):
    catalog_case(
        f"productVariantUpdate.input.{_field}",
        _VARIANT_UPDATE,
        lambda ids, v, f=_field: {"p": ids["variant"], "i": {f: v}},
    )
catalog_case("productVariantUpdate.id", _VARIANT_UPDATE, lambda ids, v: {"p": v, "i": {"price": 100}})
for _operation in ("productVariantDelete", "productVariantRestore"):
    catalog_case(
        f"{_operation}.id",
        f"mutation($p: ID!) {{ {_operation}(id: $p) {{ {VARIANT} }} }}",
        lambda ids, v: {"p": v},
    )
_STOCK = (
    "mutation($p: ID!, $n: String) { stockAdjust(variantId: $p, delta: 1, reason: RESTOCK, note: $n)"
    " { stock userErrors { code } } }"
)
catalog_case("stockAdjust.variantId", _STOCK, lambda ids, v: {"p": v, "n": None})
catalog_case("stockAdjust.note", _STOCK, lambda ids, v: {"p": ids["variant"], "n": v})
for _field in ("name", "slug", "parent"):
    catalog_case(
        f"categoryCreate.input.{_field}",
        _CATEGORY_INPUT,
        lambda ids, v, f=_field: {"i": {"name": "Hostile Things", f: v}},
    )
for _field in ("name", "slug"):
    catalog_case(
        f"categoryUpdate.input.{_field}",
        _CATEGORY_UPDATE,
        lambda ids, v, f=_field: {"p": ids["category"], "i": {f: v}},
    )
catalog_case("categoryUpdate.id", _CATEGORY_UPDATE, lambda ids, v: {"p": v, "i": {"name": "X"}})
_MOVE = f"mutation($p: ID!, $q: ID) {{ categoryMove(id: $p, parent: $q) {{ {CATEGORY} }} }}"
catalog_case("categoryMove.id", _MOVE, lambda ids, v: {"p": v, "q": None})
catalog_case("categoryMove.parent", _MOVE, lambda ids, v: {"p": ids["category"], "q": v})
_CATEGORY_DELETE = f"mutation($p: ID!) {{ categoryDelete(id: $p) {{ {CATEGORY} }} }}"
catalog_case("categoryDelete.id", _CATEGORY_DELETE, lambda ids, v: {"p": v})
for _field in ("name", "slug"):
    catalog_case(
        f"attributeCreate.input.{_field}",
        _ATTRIBUTE_INPUT,
        lambda ids, v, f=_field: {"i": {"name": "Hostile Size", f: v}},
    )
    catalog_case(
        f"attributeCreate.input.values.{_field}",
        _ATTRIBUTE_INPUT,
        lambda ids, v, f=_field: {"i": {"name": "Hostile Shape", "values": [{"name": "Round", f: v}]}},
    )
    catalog_case(
        f"attributeValueCreate.input.{_field}",
        _VALUE_INPUT,
        lambda ids, v, f=_field: {"a": ids["attribute"], "i": {"name": "Gloss", f: v}},
    )
catalog_case("attributeValueCreate.attribute", _VALUE_INPUT, lambda ids, v: {"a": v, "i": {"name": "Gloss"}})
for _operation, _document, _key in (
    ("productAttributesSet", _PRODUCT_SET, "product"),
    ("productVariantAttributesSet", _VARIANT_SET, "variant"),
):
    _argument = "product" if _key == "product" else "variant"
    catalog_case(
        f"{_operation}.{_argument}",
        _document,
        lambda ids, v: {"p": v, "a": [{"attribute": "hostile-finish", "values": ["matte"]}]},
    )
    catalog_case(
        f"{_operation}.attributes.attribute",
        _document,
        lambda ids, v, k=_key: {"p": ids[k], "a": [{"attribute": v, "values": ["matte"]}]},
    )
    catalog_case(
        f"{_operation}.attributes.values",
        _document,
        lambda ids, v, k=_key: {"p": ids[k], "a": [{"attribute": "hostile-finish", "values": [v]}]},
    )
catalog_case(
    "products.filter.attributes.attribute", _FILTER, lambda ids, v: {"a": [{"attribute": v, "values": ["x"]}]}
)
catalog_case(
    "products.filter.attributes.values",
    _FILTER,
    lambda ids, v: {"a": [{"attribute": "colour", "values": [v]}]},
)
# ---------------------------------------------------------------- totals (issue 15)

TOTALS_CHECKOUT = (
    "mutation($t: String, $a: AddressInput!, $m: ID, $v: String, $b: AddressInput) {"
    ' checkoutCreate(cartToken: $t, email: "g@example.com", shippingAddress: $a, shippingMethodId: $m,'
    f" vatNumber: $v, billingAddress: $b) {{ {ORDER} }} }}"
)


def totals_checkout_case(name: str, variables: Callable[[str], dict[str, Any]]) -> None:
    @case(f"checkoutCreate.{name}")
    async def _(shop: Shop, hostile: str) -> Request:
        cart = await shop.cart()
        return TOTALS_CHECKOUT, {"t": cart["token"], "a": ADDRESS, **variables(hostile)}, None


totals_checkout_case("shippingMethodId", lambda hostile: {"m": hostile})
totals_checkout_case("vatNumber", lambda hostile: {"v": hostile})
for _field in ("name", "line1", "line2", "city", "state", "postalCode", "country"):
    totals_checkout_case(f"billingAddress.{_field}", lambda hostile, f=_field: {"b": {**ADDRESS, f: hostile}})


def code_case(mutation: str, argument: str) -> None:
    @case(f"{mutation}.{argument}")
    async def _(shop: Shop, hostile: str) -> Request:
        cart = await shop.cart()
        variables = {"t": cart["token"], "c": "WELCOME10", {"cartToken": "t", "code": "c"}[argument]: hostile}
        return (
            f"mutation($t: String, $c: String!) {{ {mutation}(cartToken: $t, code: $c) {{ {CART} }} }}",
            variables,
            None,
        )


for _mutation in ("cartDiscountCodeApply", "cartDiscountCodeRemove"):
    for _argument in ("cartToken", "code"):
        code_case(_mutation, _argument)

# Staff edits: (object, input type, table, a valid input, its String/ID fields, list-typed ones).
STAFF_OBJECTS = {
    "shippingZone": ("ShippingZoneInput", "shipping_zones", {"name": "Z", "countries": ["DE"]},
                     ("name", "countries", "regions", "postcodePrefixes"), ("countries", "regions", "postcodePrefixes")),
    "shippingMethod": ("ShippingMethodInput", "shipping_methods", {"name": "M", "zoneId": "U2hpcHBpbmdab25lOjE="},
                       ("zoneId", "name", "kind", "deliveryEstimate"), ()),
    "taxRate": ("TaxRateInput", "tax_rates", {"country": "JP", "taxClass": "standard", "basisPoints": 1000, "name": "J"},
                ("country", "region", "taxClass", "name"), ()),
    "discountCode": ("DiscountCodeInput", "discount_codes", {"code": "H", "kind": "fixed"},
                     ("code", "kind", "categoryIds", "productIds"), ("categoryIds", "productIds")),
}  # fmt: skip
_TYPE_NAMES = {"shippingZone": "ShippingZone", "shippingMethod": "ShippingMethod", "taxRate": "TaxRate",
               "discountCode": "DiscountCode"}  # fmt: skip


def staff_case(thing: str, action: str, field: str | None) -> None:
    input_type, table, base, _, lists = STAFF_OBJECTS[thing]

    @case(f"{thing}{action}.{'input.' + field if field else 'id'}")
    async def _(shop: Shop, hostile: str) -> Request:
        staff = await shop.staff()
        (row,) = await sql(shop.database_url, f"SELECT min(id) AS id FROM {table}")  # noqa: S608 (ours)
        real_id = base64.b64encode(f"{_TYPE_NAMES[thing]}:{row.id}".encode()).decode()
        value: Any = [hostile] if field in lists else hostile
        if action == "Delete":
            query = f"mutation($i: ID!) {{ {thing}Delete(id: $i) {{ deletedId userErrors {{ code }} }} }}"
            return query, {"i": hostile}, staff
        fields = "userErrors { code }"
        if action == "Create":
            query = f"mutation($v: {input_type}!) {{ {thing}Create(input: $v) {{ {fields} }} }}"
            return query, {"v": {**base, field: value}}, staff
        query = f"mutation($i: ID!, $v: {input_type}!) {{ {thing}Update(id: $i, input: $v) {{ {fields} }} }}"
        if field is None:
            return query, {"i": hostile, "v": {}}, staff
        return query, {"i": real_id, "v": {field: value}}, staff


for _thing, (_, _, _, _fields, _) in STAFF_OBJECTS.items():
    for _field in _fields:
        staff_case(_thing, "Create", _field)
        staff_case(_thing, "Update", _field)
    staff_case(_thing, "Update", None)
    staff_case(_thing, "Delete", None)


# ---------------------------------------------------------------- self-service (issue 17)

ERRORS_ONLY = "userErrors { code }"
ADDRESS_INPUT = {
    "name": "Ann",
    "line1": "1 Main St",
    "city": "Springfield",
    "postalCode": "12345",
    "country": "US",
}


def simple_account_case(name: str, query: str, signed_in: bool = True, **fixed: Any) -> None:
    """A case whose hostile value goes in $v (the other variables fixed), as a new customer or signed out."""

    @case(name)
    async def _(shop: Shop, hostile: str) -> Request:
        token = (await shop.user())["accessToken"] if signed_in else None
        return query, {**fixed, "v": hostile}, token


simple_account_case(
    "accountUpdate.name", f"mutation($v: String) {{ accountUpdate(name: $v) {{ {ERRORS_ONLY} }} }}"
)
simple_account_case(
    "accountEmailChangeRequest.newEmail",
    f'mutation($v: String!) {{ accountEmailChangeRequest(newEmail: $v, password: "{PASSWORD}") {{ {ERRORS_ONLY} }} }}',
)
simple_account_case(
    "accountEmailChangeRequest.password",
    f'mutation($v: String!) {{ accountEmailChangeRequest(newEmail: "n@example.com", password: $v) {{ {ERRORS_ONLY} }} }}',
)
simple_account_case(
    "accountEmailChangeConfirm.token",
    f"mutation($v: String!) {{ accountEmailChangeConfirm(token: $v) {{ {ERRORS_ONLY} }} }}",
    signed_in=False,
)
simple_account_case(
    "accountPasswordChange.currentPassword",
    f'mutation($v: String!) {{ accountPasswordChange(currentPassword: $v, newPassword: "another long one") {{ {ERRORS_ONLY} }} }}',
)
simple_account_case(
    "accountPasswordChange.newPassword",
    f'mutation($v: String!) {{ accountPasswordChange(currentPassword: "{PASSWORD}", newPassword: $v) {{ {ERRORS_ONLY} }} }}',
)
simple_account_case(
    "accountPasswordResetRequest.email",
    f"mutation($v: String!) {{ accountPasswordResetRequest(email: $v) {{ {ERRORS_ONLY} }} }}",
    signed_in=False,
)
simple_account_case(
    "accountPasswordReset.token",
    f'mutation($v: String!) {{ accountPasswordReset(token: $v, newPassword: "another long one") {{ {ERRORS_ONLY} }} }}',
    signed_in=False,
)
simple_account_case(
    "accountPasswordReset.newPassword",
    f'mutation($v: String!) {{ accountPasswordReset(token: "made-up", newPassword: $v) {{ {ERRORS_ONLY} }} }}',
    signed_in=False,
)
simple_account_case(
    "accountEmailVerify.token",
    f"mutation($v: String!) {{ accountEmailVerify(token: $v) {{ {ERRORS_ONLY} }} }}",
    signed_in=False,
)
simple_account_case(
    "accountDelete.password", f"mutation($v: String!) {{ accountDelete(password: $v) {{ {ERRORS_ONLY} }} }}"
)
simple_account_case(
    "accountSessionRevoke.id", f"mutation($v: ID!) {{ accountSessionRevoke(id: $v) {{ {ERRORS_ONLY} }} }}"
)
for _operation, _extra in (
    ("accountAddressDelete", ""),
    ("accountAddressSetDefault", ", type: SHIPPING"),
):
    simple_account_case(
        f"{_operation}.id", f"mutation($v: ID!) {{ {_operation}(id: $v{_extra}) {{ {ERRORS_ONLY} }} }}"
    )
simple_account_case(
    "accountAddressUpdate.id",
    f"mutation($v: ID!, $a: AddressInput!) {{ accountAddressUpdate(id: $v, input: $a) {{ {ERRORS_ONLY} }} }}",
    a=ADDRESS_INPUT,
)


def saved_address_case(operation: str, field: str) -> None:
    @case(f"{operation}.input.{field}")
    async def _(shop: Shop, hostile: str) -> Request:
        token = (await shop.user())["accessToken"]
        created = await shop.data(
            "mutation($a: AddressInput!) { accountAddressCreate(input: $a) { address { id } userErrors { code } } }",
            {"a": ADDRESS_INPUT},
            token,
        )
        address = {**ADDRESS_INPUT, field: hostile}
        if operation == "accountAddressCreate":
            query = f"mutation($a: AddressInput!) {{ accountAddressCreate(input: $a) {{ {ERRORS_ONLY} }} }}"
            return query, {"a": address}, token
        query = f"mutation($i: ID!, $a: AddressInput!) {{ accountAddressUpdate(id: $i, input: $a) {{ {ERRORS_ONLY} }} }}"
        return query, {"i": created["address"]["id"], "a": address}, token


for _operation in ("accountAddressCreate", "accountAddressUpdate"):
    for _field in ("name", "line1", "line2", "city", "state", "postalCode", "country"):
        saved_address_case(_operation, _field)


@case("checkoutCreate.shippingAddressId")
async def _checkout_saved_address(shop: Shop, hostile: str) -> Request:
    token = (await shop.user())["accessToken"]
    cart = await shop.data(
        "mutation($v: ID!) { cartLinesAdd(lines: [{variantId: $v, quantity: 1}]) { cart { token } userErrors { code } } }",
        {"v": shop.variant_id},
        token,
    )
    query = f"mutation($t: String, $v: ID) {{ checkoutCreate(cartToken: $t, shippingAddressId: $v) {{ {ORDER} }} }}"
    return query, {"t": cart["cart"]["token"], "v": hostile}, token


SUBSCRIPTION_CASES = ("orderStatusChanged.orderId", "orderStatusChanged.orderToken")


@dataclass
class Answer:
    status: int
    text: str
    body: dict[str, Any] | None


def assert_clear(answer: Answer, hostile: str, where: str) -> None:
    context = f"{where} with {hostile[:40]!r}: {answer.text[:300]}"
    for leak in LEAKS:
        assert leak not in answer.text, context
    if has_lone_surrogate(hostile):
        assert answer.status == 400 and "Unable to parse request body as JSON" in answer.text, context
        return
    assert answer.status == 200 and answer.body is not None, context
    codes = [error.get("extensions", {}).get("code") for error in answer.body.get("errors", [])]
    assert "INTERNAL_SERVER_ERROR" not in codes, context
    assert answer.body.get("data") is not None or codes, context


async def assert_nothing_half_way(database_url: str) -> None:
    checks = {
        "an order awaits payment without a payment session": (
            "SELECT count(*) FROM orders WHERE status = 'AWAITING_PAYMENT' AND payment_session_id IS NULL"
        ),
        "a refund is recorded on an order that is not refunded or cancelled": (
            "SELECT count(*) FROM orders WHERE refund_id IS NOT NULL AND status NOT IN ('REFUNDED', 'CANCELLED')"
        ),
        "an order's status is not its latest history entry": (
            "SELECT count(*) FROM orders o WHERE o.status IS DISTINCT FROM (SELECT h.to_status FROM"
            " order_status_history h WHERE h.order_id = o.id ORDER BY h.id DESC LIMIT 1)"
        ),
        "reserved stock differs from the live reservations": (
            "SELECT count(*) FROM product_variants v WHERE v.reserved <> COALESCE((SELECT sum(l.quantity)"
            " FROM order_lines l JOIN orders o ON o.id = l.order_id"
            " WHERE l.variant_id = v.id AND o.stock_state = 'reserved'), 0)"
        ),
        "a checked-out cart has no order": (
            "SELECT count(*) FROM carts c WHERE c.status = 'checked_out'"
            " AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.cart_id = c.id)"
        ),
    }
    for problem, statement in checks.items():
        (row,) = await sql(database_url, statement)
        assert row[0] == 0, problem


@pytest.fixture
async def shop(settings: Settings, database_url: str) -> AsyncIterator[Shop]:
    app = create_app(settings.model_copy(update=MANY_OPEN_ORDERS))
    async with served(app) as running:
        variant_id, _, _ = await variant_with_stock(database_url, 5_000)
        async with httpx.AsyncClient(base_url=running.url, timeout=60) as client:
            yield Shop(client, running.url, database_url, variant_id)


@pytest.mark.parametrize("argument", sorted(CASES))
async def test_hostile_strings_in_every_argument(shop: Shop, argument: str) -> None:
    for hostile in HOSTILE:
        query, variables, token = await CASES[argument](shop, hostile)
        response = await shop.send(query, variables, token)
        body = response.json() if response.headers.get("content-type") == "application/json" else None
        assert_clear(Answer(response.status_code, response.text, body), hostile, argument)
    await assert_nothing_half_way(shop.database_url)
    assert (await shop.client.get("/healthz")).status_code == 200
    assert (await shop.data("{ products(first: 1) { totalCount } }", {}))["totalCount"] > 0


@pytest.mark.parametrize("argument", SUBSCRIPTION_CASES)
async def test_hostile_strings_in_subscription_arguments(shop: Shop, argument: str) -> None:
    order = await shop.order()
    query = "subscription($i: ID!, $t: String) { orderStatusChanged(orderId: $i, orderToken: $t) { to } }"
    for hostile in HOSTILE:
        variables = (
            {"i": hostile, "t": order["token"]}
            if argument.endswith("orderId")
            else {"i": order["id"], "t": hostile}
        )
        ws = await GraphQLWebSocket.open(shop.url)
        try:
            # Sent as a hostile client would: lone surrogates escaped in the JSON text.
            await ws.connection.send(
                json.dumps(
                    {"type": "subscribe", "id": "1", "payload": {"query": query, "variables": variables}}
                )
            )
            try:
                answer = await ws.next_payload()
            except ConnectionClosed as closed:
                assert has_lone_surrogate(hostile) and closed.rcvd is not None and closed.rcvd.code == 4400
                continue
        finally:
            await ws.close()
        text = json.dumps(answer)
        assert not any(leak in text for leak in LEAKS), text
        codes = [error.get("extensions", {}).get("code") for error in answer.get("errors", [])]
        assert codes == ["NOT_FOUND"] or "errors" not in answer, (hostile[:40], answer)
    assert (await shop.client.get("/healthz")).status_code == 200


def test_every_string_argument_of_the_contract_is_covered() -> None:
    from graphql import GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLScalarType

    from resolvers.schema import schema

    def string_paths(name: str, type_: Any) -> list[str]:
        while isinstance(type_, GraphQLNonNull | GraphQLList):
            type_ = type_.of_type
        if isinstance(type_, GraphQLInputObjectType):
            return [
                path
                for field, inner in type_.fields.items()
                for path in string_paths(f"{name}.{field}", inner.type)
            ]
        if isinstance(type_, GraphQLScalarType) and type_.name in ("String", "ID"):
            return [name]
        return []

    expected = set()
    graphql_schema = schema._schema
    for root in (graphql_schema.query_type, graphql_schema.mutation_type, graphql_schema.subscription_type):
        assert root is not None
        for field_name, field in root.fields.items():
            for argument_name, argument in field.args.items():
                expected.update(string_paths(f"{field_name}.{argument_name}", argument.type))
    assert expected == set(CASES) | set(SUBSCRIPTION_CASES)


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_an_unexpected_error_in_a_subscription_is_masked_and_logged(
    server: RunningServer, protocol: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("internal detail 9c1e")

    monkeypatch.setattr("resolvers.orders.subscriptions.load_order", broken)
    ws = await GraphQLWebSocket.open(server.url, protocol=protocol)
    try:
        with caplog.at_level(logging.ERROR, logger="graph.errors"):
            await ws.subscribe('subscription { orderStatusChanged(orderId: "T3JkZXI6MQ==") { to } }')
            answer = await ws.next_payload()
    finally:
        await ws.close()
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR" and "9c1e" not in error["message"]
    assert "internal detail 9c1e" in caplog.text
