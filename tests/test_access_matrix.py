"""Who may touch a user's cart, orders and order updates: the owner, another user, a stranger, staff.

One row per operation, one column per caller. A refusal changes nothing: the owner's cart and
order are the same afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.accounts import PASSWORD, email_key, signed_up_token
from tests.shop import ADDRESS, order_row, send_event, session_of, variant_with_stock
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
}
NEEDS_A_PAID_ORDER = {"orderUpdateStatus", "orderRefund"}
SUCCESSES = {"cart", "ok", "listed", "order", "CANCELLED", "PROCESSING", "REFUNDED", "event"}


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


CART_FIELDS = "cart { token lines { id quantity } } userErrors { code }"
ORDER_FIELDS = "order { id status } userErrors { code }"


async def add_line(client: httpx.AsyncClient, variant_id: str, token: str) -> dict[str, Any]:
    body = await graphql(
        client,
        f"mutation($v: ID!) {{ cartLinesAdd(lines: [{{variantId: $v, quantity: 1}}]) {{ {CART_FIELDS} }} }}",
        {"v": variant_id},
        token=token,
    )
    return body["data"]["cartLinesAdd"]["cart"]


async def build_world(client: httpx.AsyncClient, url: str, database_url: str, paid: bool) -> World:
    variant_id, _, _ = await variant_with_stock(database_url, 100)
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
    if paid:
        response = await send_event(
            client, "checkout.session.completed", session_of(await order_row(database_url, order_id))
        )
        assert response.json()["outcome"] == "paid"
    cart = await add_line(client, variant_id, owner)  # a new active cart, after the checked-out one
    return World(client, url, database_url, tokens, cart["token"], cart["lines"][0]["id"], order_id)


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
    if operation == "jobRetry":
        body = await call(
            "mutation($i: ID!) { jobRetry(id: $i) { queued userErrors { code } } }", {"i": "Sm9iOjk5OTk5"}
        )
        return mutation_outcome(body, "queued")
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
    return cart["data"]["cart"], order["data"]["order"]


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
    world = await build_world(client, server.url, database_url, paid=operation in NEEDS_A_PAID_ORDER)
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
    }
    assert all(set(row) == set(CALLERS) for row in MATRIX.values())


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
