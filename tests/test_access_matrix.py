"""Who may touch a user's cart, orders, updates and reviews: the owner, another user, a stranger, staff.

One row per operation, one column per caller. A refusal changes nothing: the owner's cart and
order are the same afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from strawberry.utils.str_converters import to_camel_case

from resolvers.catalog.mutations import CatalogMutation
from tests.accounts import PASSWORD, email_key, signed_up_token
from tests.shop import (
    ADDRESS,
    deliver,
    order_row,
    product_of_variant,
    send_event,
    session_of,
    variant_with_stock,
)
from tests.support import RunningServer, graphql, sql
from tests.ws_client import GraphQLWebSocket

CALLERS = ("owner", "other", "anonymous", "staff")
REFUSED_CART = dict.fromkeys(("other", "anonymous", "staff"), "CART_NOT_FOUND")

MATRIX: dict[str, dict[str, str]] = {
    "cart": {"owner": "cart", "other": "null", "anonymous": "null", "staff": "null"},
    "cartLinesAdd": {"owner": "ok", **REFUSED_CART},
    "cartLinesUpdate": {"owner": "ok", **REFUSED_CART},
    "cartLinesRemove": {"owner": "ok", **REFUSED_CART},
    "checkoutCreate": {"owner": "ok", **REFUSED_CART},
    "orders": {
        "owner": "listed",
        "other": "not listed",
        "anonymous": "UNAUTHENTICATED",
        "staff": "not listed",
    },
    "order": {"owner": "order", "other": "null", "anonymous": "null", "staff": "order"},
    "orderCancel": {
        "owner": "CANCELLED",
        "other": "NOT_FOUND",
        "anonymous": "UNAUTHENTICATED",
        "staff": "CANCELLED",
    },
    "orderUpdateStatus": {
        "owner": "FORBIDDEN",
        "other": "FORBIDDEN",
        "anonymous": "UNAUTHENTICATED",
        "staff": "PROCESSING",
    },
    "orderRefund": {
        "owner": "FORBIDDEN",
        "other": "FORBIDDEN",
        "anonymous": "UNAUTHENTICATED",
        "staff": "REFUNDED",
    },
    "orderStatusChanged": {
        "owner": "event",
        "other": "NOT_FOUND",
        "anonymous": "NOT_FOUND",
        "staff": "event",
    },
    "myOrderUpdates": {
        "owner": "event",
        "other": "no event",
        "anonymous": "UNAUTHENTICATED",
        "staff": "no event",
    },
    # Background jobs that kept failing (issue 16): staff only.
    "failedJobs": {
        "owner": "FORBIDDEN",
        "other": "FORBIDDEN",
        "anonymous": "UNAUTHENTICATED",
        "staff": "listed",
    },
    "jobRetry": {
        "owner": "FORBIDDEN",
        "other": "FORBIDDEN",
        "anonymous": "UNAUTHENTICATED",
        "staff": "NOT_FOUND",
    },
    # Reviews (issue 17): the owner received the product of the order and reviewed it.
    "reviewSubmit": {
        "owner": "ok",
        "other": "NOT_PURCHASED",
        "anonymous": "UNAUTHENTICATED",
        "staff": "NOT_PURCHASED",
    },
    "reviewHide": {
        "owner": "FORBIDDEN",
        "other": "FORBIDDEN",
        "anonymous": "UNAUTHENTICATED",
        "staff": "hidden",
    },
    "reviewEligibility": {
        "owner": "may review",
        "other": "may not",
        "anonymous": "UNAUTHENTICATED",
        "staff": "may not",
    },
    # Discount codes on a cart (issue 15): like the cart's other mutations.
    "cartDiscountCodeApply": {"owner": "ok", **REFUSED_CART},
    "cartDiscountCodeRemove": {"owner": "DISCOUNT_CODE_NOT_FOUND", **REFUSED_CART},
}
# Shipping, tax and discount administration (issue 15): staff only. Creates succeed for staff;
# updates and deletes name no object, so staff get NOT_FOUND.
_FORBIDDEN = {"owner": "FORBIDDEN", "other": "FORBIDDEN", "anonymous": "UNAUTHENTICATED"}
STAFF_TOTALS: dict[str, str] = {
    "shippingZones": "{ shippingZones { id } }",
    "shippingMethodList": "{ shippingMethodList { id } }",
    "taxRates": "{ taxRates { id } }",
    "discountCodes": "{ discountCodes { id } }",
    "shippingZoneCreate": 'mutation { shippingZoneCreate(input: {name: "Mars", countries: ["JP"]}) { userErrors { code } } }',
    "shippingZoneUpdate": 'mutation { shippingZoneUpdate(id: "U2hpcHBpbmdab25lOjk5OTk5OQ==", input: {name: "X"})'
    " { userErrors { code } } }",
    "shippingZoneDelete": 'mutation { shippingZoneDelete(id: "U2hpcHBpbmdab25lOjk5OTk5OQ==") { userErrors { code } } }',
    "shippingMethodCreate": 'mutation { shippingMethodCreate(input: {zoneId: "U2hpcHBpbmdab25lOjE=", name: "Drone",'
    " price: 100}) { userErrors { code } } }",
    "shippingMethodUpdate": 'mutation { shippingMethodUpdate(id: "U2hpcHBpbmdNZXRob2Q6OTk5OTk5", input: {price: 1})'
    " { userErrors { code } } }",
    "shippingMethodDelete": 'mutation { shippingMethodDelete(id: "U2hpcHBpbmdNZXRob2Q6OTk5OTk5") { userErrors { code } } }',
    "taxRateCreate": 'mutation { taxRateCreate(input: {country: "JP", taxClass: "standard", basisPoints: 1000,'
    ' name: "JCT 10%"}) { userErrors { code } } }',
    "taxRateUpdate": 'mutation { taxRateUpdate(id: "VGF4UmF0ZTo5OTk5OTk=", input: {basisPoints: 1}) { userErrors { code } } }',
    "taxRateDelete": 'mutation { taxRateDelete(id: "VGF4UmF0ZTo5OTk5OTk=") { userErrors { code } } }',
    "discountCodeCreate": 'mutation { discountCodeCreate(input: {code: "STAFF1", kind: "fixed", value: 100})'
    " { userErrors { code } } }",
    "discountCodeUpdate": 'mutation { discountCodeUpdate(id: "RGlzY291bnRDb2RlOjk5OTk5OQ==", input: {value: 1})'
    " { userErrors { code } } }",
    "discountCodeDelete": 'mutation { discountCodeDelete(id: "RGlzY291bnRDb2RlOjk5OTk5OQ==") { userErrors { code } } }',
}
for _operation in STAFF_TOTALS:
    MATRIX[_operation] = {
        **_FORBIDDEN,
        "staff": "listed"
        if STAFF_TOTALS[_operation].startswith("{")
        else ("ok" if _operation.endswith("Create") else "NOT_FOUND"),
    }
NEEDS_A_PAID_ORDER = {"orderUpdateStatus", "orderRefund"}
NEEDS_A_REVIEW = {"reviewSubmit", "reviewHide", "reviewEligibility"}
SUCCESSES = {"cart", "ok", "listed", "order", "CANCELLED", "PROCESSING", "REFUNDED", "event"}
SUCCESSES |= {"hidden", "may review"}
# Staff's shipping/tax/discount edits are checked in tests/test_totals.py; here who may call them.


@dataclass
class World:
    """The owner with an order and a new active cart, and the tokens of every caller."""

    client: httpx.AsyncClient
    url: str
    database_url: str
    tokens: dict[str, str | None]
    cart_token: str
    line_id: str
    order_id: str
    product_id: str | None = None
    review_id: str | None = None


CART_FIELDS = "cart { token lines { id quantity } } userErrors { code }"
REVIEW_SUBMIT = """
mutation($p: ID!, $r: Int!) { reviewSubmit(productId: $p, rating: $r, body: "Fine") {
  review { id } userErrors { code } } }
"""
ORDER_FIELDS = "order { id status } userErrors { code }"


async def add_line(client: httpx.AsyncClient, variant_id: str, token: str) -> dict[str, Any]:
    body = await graphql(
        client,
        f"mutation($v: ID!) {{ cartLinesAdd(lines: [{{variantId: $v, quantity: 1}}]) {{ {CART_FIELDS} }} }}",
        {"v": variant_id},
        token=token,
    )
    return body["data"]["cartLinesAdd"]["cart"]


async def build_world(
    client: httpx.AsyncClient, url: str, database_url: str, paid: bool, reviewed: bool = False
) -> World:
    variant_id, variant_pk, _ = await variant_with_stock(database_url, 100)
    owner = await signed_up_token(client, "owner@example.com")
    tokens = {
        "owner": owner,
        "other": await signed_up_token(client, "other@example.com"),
        "anonymous": None,
        "staff": await signed_up_token(client, "staff@example.com"),
    }
    await sql(
        database_url,
        "UPDATE users SET is_staff = true WHERE email_index = :key",
        key=email_key("staff@example.com"),
    )
    await add_line(client, variant_id, owner)
    checkout = await graphql(
        client,
        f"mutation($a: AddressInput!) {{ checkoutCreate(shippingAddress: $a) {{ {ORDER_FIELDS} }} }}",
        {"a": ADDRESS},
        token=owner,
    )
    order_id = checkout["data"]["checkoutCreate"]["order"]["id"]
    if paid or reviewed:
        response = await send_event(
            client, "checkout.session.completed", session_of(await order_row(database_url, order_id))
        )
        assert response.json()["outcome"] == "paid"
    product_id = review_id = None
    if reviewed:  # the order delivered, and the owner's review of its product
        staff = tokens["staff"]
        assert staff is not None
        await deliver(client, order_id, staff)
        product_id = await product_of_variant(database_url, variant_pk)
        body = await graphql(client, REVIEW_SUBMIT, {"p": product_id, "r": 4}, token=owner)
        review_id = body["data"]["reviewSubmit"]["review"]["id"]
    cart = await add_line(client, variant_id, owner)  # a new active cart, after the checked-out one
    line_id = cart["lines"][0]["id"]
    return World(client, url, database_url, tokens, cart["token"], line_id, order_id, product_id, review_id)


def first_error_code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors")
    return errors[0].get("extensions", {}).get("code") if errors else None


def mutation_outcome(body: dict[str, Any], success: str) -> str:
    if code := first_error_code(body):
        return code
    (payload,) = body["data"].values()
    return payload["userErrors"][0]["code"] if payload["userErrors"] else success


async def observe(world: World, operation: str, caller: str) -> str:
    token = world.tokens[caller]
    client = world.client
    cart_token, line_id, order_id = world.cart_token, world.line_id, world.order_id

    async def call(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return await graphql(client, query, variables, token=token)

    if operation == "cart":
        body = await call("query($t: String) { cart(token: $t) { token } }", {"t": cart_token})
        return "cart" if body["data"]["cart"] else "null"
    if operation == "cartLinesAdd":
        body = await call(
            "mutation($t: String, $v: ID!) { cartLinesAdd(cartToken: $t, lines: [{variantId: $v, quantity: 1}])"
            f" {{ {CART_FIELDS} }} }}",
            {"t": cart_token, "v": (await variant_with_stock(world.database_url, 100, offset=1))[0]},
        )
        return mutation_outcome(body, "ok")
    if operation == "cartLinesUpdate":
        body = await call(
            "mutation($t: String, $l: ID!) { cartLinesUpdate(cartToken: $t, lines: [{lineId: $l, quantity: 2}])"
            f" {{ {CART_FIELDS} }} }}",
            {"t": cart_token, "l": line_id},
        )
        return mutation_outcome(body, "ok")
    if operation == "cartLinesRemove":
        body = await call(
            f"mutation($t: String, $l: ID!) {{ cartLinesRemove(cartToken: $t, lineIds: [$l]) {{ {CART_FIELDS} }} }}",
            {"t": cart_token, "l": line_id},
        )
        return mutation_outcome(body, "ok")
    if operation == "checkoutCreate":
        body = await call(
            'mutation($t: String, $a: AddressInput!) { checkoutCreate(cartToken: $t, email: "x@example.com",'
            f" shippingAddress: $a) {{ {ORDER_FIELDS} }} }}",
            {"t": cart_token, "a": ADDRESS},
        )
        return mutation_outcome(body, "ok")
    if operation == "orders":
        body = await call("{ orders { edges { node { id } } } }")
        if code := first_error_code(body):
            return code
        listed = [edge["node"]["id"] for edge in body["data"]["orders"]["edges"]]
        return "listed" if order_id in listed else "not listed"
    if operation == "order":
        body = await call("query($i: ID!) { order(id: $i) { id } }", {"i": order_id})
        return "order" if body["data"]["order"] else "null"
    if operation in ("orderCancel", "orderUpdateStatus", "orderRefund"):
        arguments = ", status: PROCESSING" if operation == "orderUpdateStatus" else ""
        body = await call(
            f"mutation($i: ID!) {{ {operation}(id: $i{arguments}) {{ {ORDER_FIELDS} }} }}", {"i": order_id}
        )
        if code := first_error_code(body):
            return code
        payload = body["data"][operation]
        return payload["userErrors"][0]["code"] if payload["userErrors"] else payload["order"]["status"]
    if operation == "failedJobs":
        body = await call("{ failedJobs(first: 5) { totalCount edges { node { id name error } } } }")
        return first_error_code(body) or "listed"
    if operation in STAFF_TOTALS:
        body = await call(STAFF_TOTALS[operation])
        if STAFF_TOTALS[operation].startswith("{"):
            return first_error_code(body) or "listed"
        return mutation_outcome(body, "ok")
    if operation in ("cartDiscountCodeApply", "cartDiscountCodeRemove"):
        body = await call(
            f'mutation($t: String) {{ {operation}(cartToken: $t, code: "WELCOME10") {{ {CART_FIELDS} }} }}',
            {"t": cart_token},
        )
        return mutation_outcome(body, "ok")
    if operation == "jobRetry":
        body = await call(
            "mutation($i: ID!) { jobRetry(id: $i) { queued userErrors { code } } }", {"i": "Sm9iOjk5OTk5"}
        )
        return mutation_outcome(body, "queued")
    if operation == "reviewSubmit":
        return mutation_outcome(await call(REVIEW_SUBMIT, {"p": world.product_id, "r": 2}), "ok")
    if operation == "reviewHide":
        body = await call(
            "mutation($i: ID!) { reviewHide(id: $i) { review { isHidden } userErrors { code } } }",
            {"i": world.review_id},
        )
        return mutation_outcome(body, "hidden")
    if operation == "reviewEligibility":
        body = await call(
            "query($p: ID!) { reviewEligibility(productId: $p) { canReview } }", {"p": world.product_id}
        )
        if code := first_error_code(body):
            return code
        return "may review" if body["data"]["reviewEligibility"]["canReview"] else "may not"
    return await observe_subscription(world, operation, token)


async def observe_subscription(world: World, operation: str, token: str | None) -> str:
    ws = await GraphQLWebSocket.open(world.url, token=token)
    try:
        if operation == "orderStatusChanged":
            await ws.subscribe(
                "subscription($i: ID!) { orderStatusChanged(orderId: $i) { order { id } to } }",
                {"i": world.order_id},
            )
        else:
            await ws.subscribe("subscription { myOrderUpdates { order { id } to } }")
        try:
            answer = await ws.next_payload(timeout=1.0)
        except TimeoutError:
            return "no event"
        if code := first_error_code(answer):
            return code
        (event,) = answer["data"].values()
        assert event["order"]["id"] == world.order_id
        return "event"
    finally:
        await ws.close()


async def owner_state(world: World) -> tuple[Any, ...]:
    """What a refused call must not change: the owner's cart lines and the order."""
    owner = world.tokens["owner"]
    cart = await graphql(world.client, "{ cart { token lines { id quantity } } }", token=owner)
    order = await graphql(
        world.client, "query($i: ID!) { order(id: $i) { status } }", {"i": world.order_id}, token=owner
    )
    review = None
    if world.product_id:  # the product's rating and shown reviews
        review = await graphql(
            world.client,
            "query($p: ID!) { node(id: $p) { ... on Product { rating { average count }"
            " reviews { edges { node { id rating body } } } } } }",
            {"p": world.product_id},
        )
    return cart["data"]["cart"], order["data"]["order"], review


@pytest.mark.parametrize(
    ("operation", "caller", "expected"),
    [(operation, caller, row[caller]) for operation, row in MATRIX.items() for caller in CALLERS],
    ids=[f"{operation}-{caller}" for operation in MATRIX for caller in CALLERS],
)
async def test_access(
    client: httpx.AsyncClient,
    server: RunningServer,
    database_url: str,
    operation: str,
    caller: str,
    expected: str,
) -> None:
    paid, reviewed = operation in NEEDS_A_PAID_ORDER, operation in NEEDS_A_REVIEW
    world = await build_world(client, server.url, database_url, paid=paid, reviewed=reviewed)
    before = await owner_state(world)
    assert await observe(world, operation, caller) == expected
    if expected not in SUCCESSES:
        assert await owner_state(world) == before


def test_the_matrix_covers_every_operation_on_carts_orders_and_updates() -> None:
    assert set(MATRIX) == {
        "cart",
        "cartLinesAdd",
        "cartLinesUpdate",
        "cartLinesRemove",
        "checkoutCreate",
        "orders",
        "order",
        "orderCancel",
        "orderUpdateStatus",
        "orderRefund",
        "orderStatusChanged",
        "myOrderUpdates",
        "failedJobs",
        "jobRetry",
        "reviewSubmit",
        "reviewHide",
        "reviewEligibility",
        "cartDiscountCodeApply",
        "cartDiscountCodeRemove",
        *STAFF_TOTALS,
    }
    assert all(set(row) == set(CALLERS) for row in MATRIX.values())


# ---------------------------------------------------------------- staff catalog operations (issue 14)

STAFF_ONLY = {"owner": "FORBIDDEN", "other": "FORBIDDEN", "anonymous": "UNAUTHENTICATED"}
NOWHERE = "UHJvZHVjdDo5OTk5OTk5"  # Product:9999999
CATALOG_OPERATIONS: dict[str, tuple[str, dict[str, Any], str]] = {
    # operation: (document, variables, what staff get)
    "productCreate": (
        'mutation { productCreate(input: {name: "Matrix Lamp"}) { product { id } userErrors { code } } }',
        {},
        "ok",
    ),
    "productUpdate": (
        'mutation($i: ID!) { productUpdate(id: $i, input: {name: "X"}) { product { id } userErrors { code } } }',
        {"i": NOWHERE},
        "NOT_FOUND",
    ),
    "productDelete": (
        "mutation($i: ID!) { productDelete(id: $i) { product { id } userErrors { code } } }",
        {"i": NOWHERE},
        "NOT_FOUND",
    ),
    "productVariantCreate": (
        'mutation($i: ID!) { productVariantCreate(input: {product: $i, sku: "M-1", name: "M", price: 1})'
        " { productVariant { id } userErrors { code } } }",
        {"i": NOWHERE},
        "PRODUCT_NOT_FOUND",
    ),
    "productVariantUpdate": (
        "mutation($i: ID!) { productVariantUpdate(id: $i, input: {price: 1}) { productVariant { id } userErrors { code } } }",
        {"i": NOWHERE},
        "NOT_FOUND",
    ),
    "productVariantDelete": (
        "mutation($i: ID!) { productVariantDelete(id: $i) { productVariant { id } userErrors { code } } }",
        {"i": NOWHERE},
        "NOT_FOUND",
    ),
    "productVariantRestore": (
        "mutation($i: ID!) { productVariantRestore(id: $i) { productVariant { id } userErrors { code } } }",
        {"i": NOWHERE},
        "NOT_FOUND",
    ),
    "stockAdjust": (
        "mutation($i: ID!) { stockAdjust(variantId: $i, delta: 5, reason: RESTOCK) { stock userErrors { code } } }",
        {"i": NOWHERE},
        "NOT_FOUND",
    ),
    "categoryCreate": (
        'mutation { categoryCreate(input: {name: "Matrix Things"}) { category { id } userErrors { code } } }',
        {},
        "ok",
    ),
    "categoryUpdate": (
        'mutation($i: ID!) { categoryUpdate(id: $i, input: {name: "X"}) { category { id } userErrors { code } } }',
        {"i": NOWHERE},
        "NOT_FOUND",
    ),
    "categoryMove": (
        "mutation($i: ID!) { categoryMove(id: $i, parent: null) { category { id } userErrors { code } } }",
        {"i": NOWHERE},
        "NOT_FOUND",
    ),
    "categoryDelete": (
        "mutation($i: ID!) { categoryDelete(id: $i) { category { id } userErrors { code } } }",
        {"i": NOWHERE},
        "NOT_FOUND",
    ),
    "attributeCreate": (
        'mutation { attributeCreate(input: {name: "Matrix Finish"}) { attribute { id } userErrors { code } } }',
        {},
        "ok",
    ),
    "attributeValueCreate": (
        'mutation($i: ID!) { attributeValueCreate(attribute: $i, input: {name: "Matte"})'
        " { attributeValue { slug } userErrors { code } } }",
        {"i": NOWHERE},
        "ATTRIBUTE_NOT_FOUND",
    ),
    "productAttributesSet": (
        'mutation($i: ID!) { productAttributesSet(product: $i, attributes: [{attribute: "brand", values: []}])'
        " { product { id } userErrors { code } } }",
        {"i": NOWHERE},
        "NOT_FOUND",
    ),
    "productVariantAttributesSet": (
        'mutation($i: ID!) { productVariantAttributesSet(variant: $i, attributes: [{attribute: "size", values: []}])'
        " { productVariant { id } userErrors { code } } }",
        {"i": NOWHERE},
        "NOT_FOUND",
    ),
}
CATALOG_TABLES = (
    "products",
    "product_variants",
    "categories",
    "attributes",
    "attribute_values",
    "inventory_movements",
)


async def catalog_state(database_url: str) -> list[Any]:
    counts = " UNION ALL ".join(
        f"SELECT '{table}', count(*) FROM {table}"  # noqa: S608 (our table names)
        for table in CATALOG_TABLES
    )
    return [tuple(row) for row in await sql(database_url, counts)]


@pytest.mark.parametrize(
    ("operation", "caller"),
    [(operation, caller) for operation in CATALOG_OPERATIONS for caller in CALLERS],
    ids=[f"{operation}-{caller}" for operation in CATALOG_OPERATIONS for caller in CALLERS],
)
async def test_catalog_operations_are_staff_only(
    client: httpx.AsyncClient, database_url: str, operation: str, caller: str
) -> None:
    document, variables, for_staff = CATALOG_OPERATIONS[operation]
    email = f"{caller}@example.com"
    token = None if caller == "anonymous" else await signed_up_token(client, email)
    if caller == "staff":
        await sql(
            database_url, "UPDATE users SET is_staff = true WHERE email_index = :key", key=email_key(email)
        )
    before = await catalog_state(database_url)
    outcome = mutation_outcome(await graphql(client, document, variables, token=token), "ok")
    assert outcome == (for_staff if caller == "staff" else STAFF_ONLY[caller])
    if outcome != "ok":
        assert await catalog_state(database_url) == before


def test_the_catalog_matrix_covers_every_staff_catalog_mutation() -> None:
    defined = {to_camel_case(name) for name in vars(CatalogMutation) if not name.startswith("_")}
    assert defined == set(CATALOG_OPERATIONS)


# ---------------------------------------------------------------- customer self-service (issue 17)
#
# "ok" acts on the caller's OWN account (never the owner's: checked afterwards for every caller
# but the owner); the operations that name a resource (an address, a session) find none of
# another customer's; the e-mailed-token operations need the token, which only the owner's
# mailbox holds (the callers here present a made-up one).

OWN = dict.fromkeys(CALLERS, "ok") | {"anonymous": "UNAUTHENTICATED"}
OWNERS_ONLY = {"owner": "ok", "other": "NOT_FOUND", "anonymous": "UNAUTHENTICATED", "staff": "NOT_FOUND"}
ACCOUNT_MATRIX: dict[str, dict[str, str]] = {
    "me.addresses": OWN,
    "me.sessions": OWN,
    "myDataExport": OWN,
    "accountUpdate": OWN,
    "accountPasswordChange": OWN,
    "accountEmailChangeRequest": OWN,
    "accountEmailVerificationRequest": OWN,
    "accountAddressCreate": OWN,
    "accountSessionsRevokeAll": OWN,
    "accountDelete": OWN,
    "accountAddressUpdate": OWNERS_ONLY,
    "accountAddressDelete": OWNERS_ONLY,
    "accountAddressSetDefault": OWNERS_ONLY,
    "accountSessionRevoke": OWNERS_ONLY,
    # Signed out or in, the same: only the e-mailed token counts.
    "accountPasswordResetRequest": dict.fromkeys(CALLERS, "ok"),
    "accountPasswordReset": dict.fromkeys(CALLERS, "INVALID_TOKEN"),
    "accountEmailVerify": dict.fromkeys(CALLERS, "INVALID_TOKEN"),
    "accountEmailChangeConfirm": dict.fromkeys(CALLERS, "INVALID_TOKEN"),
}
ACCOUNT_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "myDataExport": ("{ myDataExport }", {}),
    "accountUpdate": ('mutation { accountUpdate(name: "Mallory") { user { id } userErrors { code } } }', {}),
    "accountPasswordChange": (
        "mutation($p: String!) { accountPasswordChange(currentPassword: $p,"
        ' newPassword: "another long password") { user { id } userErrors { code } } }',
        {"p": PASSWORD},
    ),
    "accountEmailChangeRequest": (
        'mutation($p: String!) { accountEmailChangeRequest(newEmail: "new@example.com", password: $p)'
        " { ok userErrors { code } } }",
        {"p": PASSWORD},
    ),
    "accountEmailVerificationRequest": (
        "mutation { accountEmailVerificationRequest { ok userErrors { code } } }",
        {},
    ),
    "accountAddressCreate": (
        "mutation($a: AddressInput!) { accountAddressCreate(input: $a) { address { id } userErrors { code } } }",
        {"a": ADDRESS},
    ),
    "accountSessionsRevokeAll": ("mutation { accountSessionsRevokeAll { ok userErrors { code } } }", {}),
    "accountDelete": (
        "mutation($p: String!) { accountDelete(password: $p) { ok userErrors { code } } }",
        {"p": PASSWORD},
    ),
    "accountAddressUpdate": (
        "mutation($i: ID!, $a: AddressInput!) { accountAddressUpdate(id: $i, input: $a)"
        " { address { id } userErrors { code } } }",
        {"a": {**ADDRESS, "line1": "Somewhere else 1"}},
    ),
    "accountAddressDelete": (
        "mutation($i: ID!) { accountAddressDelete(id: $i) { address { id } userErrors { code } } }",
        {},
    ),
    "accountAddressSetDefault": (
        "mutation($i: ID!) { accountAddressSetDefault(id: $i, type: BILLING) { address { id } userErrors { code } } }",
        {},
    ),
    "accountSessionRevoke": (
        "mutation($i: ID!) { accountSessionRevoke(id: $i) { ok userErrors { code } } }",
        {},
    ),
    "accountPasswordResetRequest": (
        'mutation { accountPasswordResetRequest(email: "owner@example.com") { ok userErrors { code } } }',
        {},
    ),
    "accountPasswordReset": (
        'mutation { accountPasswordReset(token: "made-up", newPassword: "another long password")'
        " { accessToken userErrors { code } } }",
        {},
    ),
    "accountEmailVerify": (
        'mutation { accountEmailVerify(token: "made-up") { user { id } userErrors { code } } }',
        {},
    ),
    "accountEmailChangeConfirm": (
        'mutation { accountEmailChangeConfirm(token: "made-up") { user { id } userErrors { code } } }',
        {},
    ),
}
OWNER_STATE = """{ me { email name emailVerified addresses { id isDefaultShipping isDefaultBilling address { line1 } }
  sessions { id } } }"""


async def account_world(
    client: httpx.AsyncClient, database_url: str
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Every caller's token (the owner's from a second login too) and the owner's address and session ids."""
    tokens: dict[str, str | None] = {
        "owner": await signed_up_token(client, "owner@example.com"),
        "other": await signed_up_token(client, "other@example.com"),
        "anonymous": None,
        "staff": await signed_up_token(client, "staff@example.com"),
    }
    await sql(
        database_url,
        "UPDATE users SET is_staff = true WHERE email_index = :key",
        key=email_key("staff@example.com"),
    )
    await graphql(
        client,
        "mutation($a: AddressInput!) { accountAddressCreate(input: $a) { address { id } } }",
        {"a": ADDRESS},
        token=tokens["owner"],
    )
    await graphql(
        client,
        'mutation { login(email: "owner@example.com", password: "' + PASSWORD + '") { accessToken } }',
    )
    state = await graphql(client, OWNER_STATE, token=tokens["owner"])
    me_ = state["data"]["me"]
    other_session = next(s["id"] for s in me_["sessions"] if s["id"])  # any of the owner's sessions
    return tokens, {"address": me_["addresses"][0]["id"], "session": other_session}


async def observe_account(
    client: httpx.AsyncClient, operation: str, caller: str, token: str | None, ids: dict[str, str]
) -> str:
    if operation == "myDataExport":
        body = await graphql(client, "{ myDataExport }", token=token)
        if code := first_error_code(body):
            return code
        # Each caller gets their own data, never the owner's.
        return "ok" if body["data"]["myDataExport"]["user"]["email"] == f"{caller}@example.com" else "LEAKED"
    if operation.startswith("me."):
        field = operation.split(".")[1]
        body = await graphql(client, f"{{ me {{ {field} {{ id }} }} }}", token=token)
        if code := first_error_code(body):
            return code
        return "ok" if body["data"]["me"] is not None else "UNAUTHENTICATED"  # me is null signed out
    query, variables = ACCOUNT_CALLS[operation]
    if "$i" in query:
        variables = {**variables, "i": ids["session" if "Session" in operation else "address"]}
    body = await graphql(client, query, variables, token=token)
    return mutation_outcome(body, "ok")


@pytest.mark.parametrize(
    ("operation", "caller", "expected"),
    [(operation, caller, row[caller]) for operation, row in ACCOUNT_MATRIX.items() for caller in CALLERS],
    ids=[f"{operation}-{caller}" for operation in ACCOUNT_MATRIX for caller in CALLERS],
)
async def test_account_access(
    client: httpx.AsyncClient, database_url: str, operation: str, caller: str, expected: str
) -> None:
    tokens, ids = await account_world(client, database_url)
    before = await graphql(client, OWNER_STATE, token=tokens["owner"])
    assert await observe_account(client, operation, caller, tokens[caller], ids) == expected
    if caller != "owner":
        assert await graphql(client, OWNER_STATE, token=tokens["owner"]) == before


def test_the_account_matrix_covers_every_self_service_operation() -> None:
    from strawberry.utils.str_converters import to_camel_case

    from resolvers.accounts.self_service import AccountSelfServiceMutation

    fields = AccountSelfServiceMutation.__strawberry_definition__.fields
    mutations = {field.graphql_name or to_camel_case(field.python_name) for field in fields}
    assert mutations | {"myDataExport", "me.addresses", "me.sessions"} == set(ACCOUNT_MATRIX)
    assert all(set(row) == set(CALLERS) for row in ACCOUNT_MATRIX.values())
