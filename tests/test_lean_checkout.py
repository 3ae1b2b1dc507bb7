"""app/lean_checkout.py: checkoutCreate answered without strawberry's view answers exactly as the
standard path does (bytes of the JSON, status, headers, what the database holds), and leaves to
the standard path every request it does not answer that way."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from app import lean_checkout
from app.factory import create_app
from core.settings import Settings
from tests.accounts import PASSWORD, REGISTER, new_email
from tests.shop import ADDRESS, CHECKOUT, new_cart, variant_with_stock
from tests.support import NO_RATE_LIMITS, served, sql

PLAIN = """
mutation Place($cartToken: String, $email: String, $address: AddressInput, $successUrl: String) {
  __typename
  placed: checkoutCreate(cartToken: $cartToken, email: $email, shippingAddress: $address,
                         successUrl: $successUrl) {
    __typename
    order { __typename id number email }
    checkoutUrl
    token: orderToken
    userErrors { field message code __typename }
  }
}
"""
# Changes between two runs of the same scenario: compared by kind, not value.
_VARYING = {"id", "number", "checkoutUrl", "token", "orderToken", "at"}
_SKIPPED_HEADERS = {"date", "x-request-id", "content-length"}

# (client, variant id, the client's own X-Forwarded-For): the requests made, in order
Scenario = Callable[[httpx.AsyncClient, str, dict[str, str]], Awaitable[list[httpx.Response]]]


def _normalised(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {name: _normalised(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    if key in _VARYING and value is not None:
        return f"<{type(value).__name__}>"
    if key == "email" and isinstance(value, str):  # new_email(): a number of its own each time
        return re.sub(r"\d+", "N", value)
    if key == "requestId":
        return "<id>"
    if key == "message" and isinstance(value, str):
        return re.sub(r"request id \S+", "request id ID", re.sub(r"\d+ seconds", "N seconds", value))
    return value


def _answer(response: httpx.Response) -> tuple[int, str, list[tuple[str, str]]]:
    headers = sorted(
        (name, value) for name, value in response.headers.items() if name not in _SKIPPED_HEADERS
    )
    headers = [(name, "N" if name == "retry-after" else value) for name, value in headers]
    return response.status_code, json.dumps(_normalised(response.json())), headers


@contextlib.asynccontextmanager
async def two_servers(settings: Settings, **changes: Any) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """The application with the lean path on, and with it off, on the same database."""
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for lean in (True, False):
            app = create_app(
                settings.model_copy(update={**NO_RATE_LIMITS, **changes, "checkout_lean_path": lean})
            )
            running = await stack.enter_async_context(served(app, forwarded_allow_ips="127.0.0.1"))
            clients.append(
                await stack.enter_async_context(httpx.AsyncClient(base_url=running.url, timeout=30))
            )
        yield tuple(clients)


async def post(
    client: httpx.AsyncClient,
    variables: dict[str, Any],
    headers: dict[str, str] | None = None,
    query: str = PLAIN,
) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


async def compare(
    settings: Settings, database_url: str, scenario: Scenario, *, stock: int = 5, **changes: Any
) -> list[tuple[int, str, list[tuple[str, str]]]]:
    """The scenario's answers with the lean path (which must answer every one of them) and without."""
    answers = []
    async with two_servers(settings, **changes) as (lean, standard):
        for client, address in ((lean, "192.0.2.10"), (standard, "192.0.2.11")):
            variant_id, _, _ = await variant_with_stock(database_url, stock)
            before = lean_checkout.answered[0]
            responses = await scenario(client, variant_id, {"X-Forwarded-For": address})
            taken = lean_checkout.answered[0] - before
            assert taken == (len(responses) if client is lean else 0), (address, taken)
            answers.append([_answer(response) for response in responses])
    assert answers[0] == answers[1]
    return answers[0]


async def test_an_order_is_answered_as_the_standard_path_answers_it(
    settings: Settings, database_url: str
) -> None:
    async def scenario(
        client: httpx.AsyncClient, variant_id: str, sender: dict[str, str]
    ) -> list[httpx.Response]:
        cart = await new_cart(client, variant_id, 2)
        variables = {"cartToken": cart, "email": "ada@example.com", "address": ADDRESS}
        return [
            await post(client, variables, sender),
            await post(client, variables, sender),
        ]  # the same order

    (status, first, headers), (_, second, _) = await compare(settings, database_url, scenario)
    placed = json.loads(first)["data"]
    assert status == 200 and placed["__typename"] == "Mutation"
    assert placed["placed"]["order"] == {
        "__typename": "Order",
        "id": "<str>",
        "number": "<int>",
        "email": "ada@example.com",
    }
    assert placed["placed"]["userErrors"] == [] and placed["placed"]["token"] == "<str>"
    assert ("content-type", "application/json") in headers
    assert second == first
    orders = await sql(
        database_url,
        "SELECT count(DISTINCT o.id) AS n, sum(l.quantity) AS units FROM orders o JOIN order_lines l ON l.order_id = o.id",
    )
    assert (orders[0].n, orders[0].units) == (2, 4)  # one order of 2 units per server


async def test_refusals_are_answered_as_the_standard_path_answers_them(
    settings: Settings, database_url: str
) -> None:
    async def scenario(
        client: httpx.AsyncClient, variant_id: str, sender: dict[str, str]
    ) -> list[httpx.Response]:
        cart = await new_cart(client, variant_id, 1)
        await sql(
            database_url,
            "UPDATE product_variants SET stock = 0 WHERE id ="
            " (SELECT l.variant_id FROM cart_lines l JOIN carts c ON c.id = l.cart_id WHERE c.token = :t)",
            t=cart,
        )
        sold_out = await post(
            client, {"cartToken": cart, "email": "ada@example.com", "address": ADDRESS}, sender
        )
        invalid = await post(
            client,
            {
                "cartToken": cart,
                "email": "not an address",
                "address": {**ADDRESS, "country": "XX"},
                "successUrl": "https://elsewhere.example/thanks",
            },
            sender,
        )
        no_cart = await post(
            client, {"cartToken": "no-such-cart", "email": "ada@example.com", "address": ADDRESS}, sender
        )
        no_address = await post(client, {"cartToken": cart, "email": "ada@example.com"}, sender)
        return [sold_out, invalid, no_cart, no_address]

    answers = await compare(settings, database_url, scenario)
    codes = [
        [error["code"] for error in json.loads(body)["data"]["placed"]["userErrors"]]
        for _, body, _ in answers
    ]
    assert codes[0] == ["OUT_OF_STOCK"] and codes[2] == ["CART_NOT_FOUND"] and codes[3] == ["INVALID_ADDRESS"]
    assert {"INVALID_EMAIL", "INVALID_ADDRESS", "INVALID_URL"} <= set(codes[1])
    assert await sql(database_url, "SELECT count(*) AS n FROM orders") == [(0,)]


async def test_a_rate_limited_checkout_has_the_same_answer_and_retry_after(
    settings: Settings, database_url: str
) -> None:
    async def scenario(
        client: httpx.AsyncClient, variant_id: str, sender: dict[str, str]
    ) -> list[httpx.Response]:
        variables = {"email": "ada@example.com", "address": ADDRESS}  # no cart: counted all the same
        return [await post(client, variables, sender), await post(client, variables, sender)]

    answers = await compare(settings, database_url, scenario, rate_limit_checkout="1/86400")
    (_, first, _), (_, refused, headers) = answers
    assert [e["code"] for e in json.loads(first)["data"]["placed"]["userErrors"]] == ["CART_NOT_FOUND"]
    assert [e["code"] for e in json.loads(refused)["data"]["placed"]["userErrors"]] == ["RATE_LIMITED"]
    assert ("retry-after", "N") in headers


async def test_a_signed_in_customer_checks_out_on_the_lean_path(
    settings: Settings, database_url: str
) -> None:
    async def scenario(
        client: httpx.AsyncClient, variant_id: str, sender: dict[str, str]
    ) -> list[httpx.Response]:
        email = new_email()
        registered = await client.post(
            "/graphql",
            json={"query": REGISTER, "variables": {"email": email, "password": PASSWORD, "name": "Ada"}},
        )
        token = registered.json()["data"]["register"]["accessToken"]
        await new_cart(client, variant_id, token=token)
        return [await post(client, {"address": ADDRESS}, {**sender, "Authorization": f"Bearer {token}"})]

    ((status, body, _),) = await compare(settings, database_url, scenario)
    placed = json.loads(body)["data"]["placed"]
    assert status == 200 and placed["userErrors"] == [] and placed["order"]["email"].endswith("@example.com")


async def test_a_checkout_that_fails_unexpectedly_is_answered_as_the_standard_path_answers_it(
    settings: Settings, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Once the checkout has run, the lean path answers (never the standard path, which would run
    it again): an error it did not expect is logged and masked as the standard path does it."""

    async def scenario(
        client: httpx.AsyncClient, variant_id: str, sender: dict[str, str]
    ) -> list[httpx.Response]:
        cart = await new_cart(client, variant_id)
        await sql(database_url, "ALTER TABLE order_lines RENAME TO order_lines_away")
        try:
            return [
                await post(
                    client, {"cartToken": cart, "email": "ada@example.com", "address": ADDRESS}, sender
                )
            ]
        finally:
            await sql(database_url, "ALTER TABLE order_lines_away RENAME TO order_lines")

    with caplog.at_level("ERROR", logger="graph.errors"):
        ((status, body, _),) = await compare(settings, database_url, scenario)
    answer = json.loads(body)
    assert status == 200 and answer["data"] is None
    (error,) = answer["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "<id>"}
    assert error["path"] == ["placed"] and error["locations"]
    assert len([r for r in caplog.records if "unexpected error in placed" in r.getMessage()]) == 2
    assert await sql(database_url, "SELECT count(*) AS n FROM orders") == [(0,)]


@pytest.mark.parametrize(
    ("name", "query", "variables"),
    [
        ("a field the lean path does not build", CHECKOUT, None),
        (
            "a fragment",
            "mutation($c: String) { checkoutCreate(cartToken: $c) { ...on CheckoutPayload { checkoutUrl } userErrors { code } } }",
            None,
        ),
        (
            "a directive",
            "mutation($c: String) { checkoutCreate(cartToken: $c) { checkoutUrl @include(if: true) userErrors { code } } }",
            None,
        ),
        (
            "a second root field",
            "mutation($c: String) { a: checkoutCreate(cartToken: $c) { checkoutUrl } b: checkoutCreate(cartToken: $c) { checkoutUrl } }",
            None,
        ),
        ("a variable that does not coerce", PLAIN, {"address": "12 Analytical Row"}),
        (
            "a repeated response key",
            "mutation { checkoutCreate { userErrors { code } userErrors { message } } }",
            {},
        ),
    ],
)
async def test_what_the_lean_path_does_not_answer_goes_to_the_standard_path(
    settings: Settings, database_url: str, name: str, query: str, variables: dict[str, Any] | None
) -> None:
    async with two_servers(settings) as (lean, standard):
        answers = []
        for client in (lean, standard):
            variant_id, _, _ = await variant_with_stock(database_url, 5)
            cart = await new_cart(client, variant_id)
            given = (
                variables
                if variables is not None
                else {"c": cart, "cartToken": cart, "email": "a@example.com", "address": ADDRESS}
            )
            before = lean_checkout.answered[0]
            response = await post(client, given, query=query)
            assert lean_checkout.answered[0] == before, name
            answers.append(_answer(response))
        assert answers[0] == answers[1], name


def test_the_lean_path_knows_the_schema_it_answers_for(settings: Settings) -> None:
    """Every field it answers is a plain attribute of the schema's types today, and checkoutCreate
    has exactly the arguments it passes on: a change there switches it off (and this fails)."""
    from app.lean_paths import LeanPaths
    from resolvers.schema import schema

    checkout = LeanPaths(None, schema, settings).checkout  # type: ignore[arg-type]
    assert checkout.usable
    assert checkout.fields["Order"] == {
        "id": ("id", None),
        "number": ("number", None),
        "email": ("email", None),
    }
    assert checkout.fields["CheckoutPayload"]["userErrors"] == ("user_errors", "UserError")
