"""Limits on what one GraphQL document may ask for: size, depth, aliases, cost and introspection."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from graphql import get_introspection_query, parse

from app.factory import create_app
from core.settings import Settings
from graph.limits import DEFAULT_LIMITS
from graph.operation_measure import measure_operations
from resolvers.schema import schema
from tests.support import counted_calls, error_codes, graphql, served

# What a storefront's catalog and search pages ask for (the fields of the benchmark's pages).
CALLS_IN_2_S = 8_000_000  # at 4,000 Python calls per millisecond of CPU

PRODUCT_FIELDS = (
    "id name slug description images { url alt } category { name slug }"
    " priceRange { min { amount currency } max { amount currency } }"
    " variants { id sku name price { amount currency } quantityAvailable }"
)
CATALOG_PAGE = (
    f"query($first: Int!) {{ products(first: $first) {{ edges {{ node {{ {PRODUCT_FIELDS} }} }} }} }}"
)
CATALOG_PAGE_20 = f"{{ products(first: 20) {{ edges {{ node {{ {PRODUCT_FIELDS} }} }} }} }}"
SEARCH_PAGE = (
    "query($first: Int!, $search: String!) { products(first: $first, filter: {search: $search}) {"
    f" totalCount edges {{ node {{ {PRODUCT_FIELDS} }} }} }} }}"
)


def nested_categories(levels: int) -> str:
    """products > edges > node > category > products > ... : `levels` fields deep in all."""
    inner = "name"
    for _ in range(levels // 4):
        inner = f"products(first: 1) {{ edges {{ node {{ category {{ {inner} }} }} }} }}"
    return "{ " + inner + " }"


def fragment_bomb(levels: int) -> str:
    """Fragments that each spread the next one twice: 2**levels fields from a few hundred tokens."""
    parts = ["query { products(first: 1) { edges { node { ...F0 } } } }"]
    parts += [f"fragment F{i} on Product {{ a{i}: name ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    parts.append(f"fragment F{levels} on Product {{ id }}")
    return "\n".join(parts)


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The application with introspection off."""
    app = create_app(settings.model_copy(update={"introspection": False}))
    async with served(app) as running:
        async with httpx.AsyncClient(base_url=running.url) as client:
            yield client


# ---------------------------------------------------------------- what storefronts send stays inside


def test_storefront_pages_cost_well_inside_the_budget() -> None:
    (page_of_20,) = measure_operations(schema._schema, parse(CATALOG_PAGE_20))
    (page_of_100,) = measure_operations(schema._schema, parse(CATALOG_PAGE))  # `first` a variable
    (search,) = measure_operations(schema._schema, parse(SEARCH_PAGE))
    (introspection,) = measure_operations(schema._schema, parse(get_introspection_query(descriptions=True)))
    assert page_of_20.cost == 541 and page_of_20.depth == 6
    assert page_of_100.cost == 2701  # counted at the largest page, 100
    assert max(page_of_100.cost, search.cost, introspection.cost) < DEFAULT_LIMITS.max_cost * 0.6
    assert page_of_100.depth < DEFAULT_LIMITS.max_depth and introspection.depth == 0


async def test_catalog_pages_of_20_and_100_products_are_served(client: httpx.AsyncClient) -> None:
    for query, variables, count in (
        (CATALOG_PAGE_20, {}, 20),
        (CATALOG_PAGE, {"first": 100}, 100),
        (SEARCH_PAGE, {"first": 100, "search": "blutooth speakr"}, None),
    ):
        body = await graphql(client, query, variables)
        assert "errors" not in body, body
        if count is not None:
            assert len(body["data"]["products"]["edges"]) == count


async def test_introspection_is_allowed_by_default(client: httpx.AsyncClient) -> None:
    body = await graphql(client, get_introspection_query(descriptions=True))
    assert "errors" not in body and body["data"]["__schema"]["queryType"]["name"] == "Query"


# ---------------------------------------------------------------- each limit, with its code


async def test_too_deep(client: httpx.AsyncClient) -> None:
    ok = await graphql(client, nested_categories(8))
    assert "errors" not in ok, ok
    body = await graphql(client, nested_categories(12))
    assert error_codes(body) == ["QUERY_TOO_DEEP"] and body.get("data") is None
    assert "13 fields deep" in body["errors"][0]["message"]


async def test_too_many_aliases(client: httpx.AsyncClient) -> None:
    aliased = " ".join(f"a{i}: __typename" for i in range(30))
    assert "errors" not in await graphql(client, "{ " + aliased + " }")
    body = await graphql(client, "{ " + aliased + " extra: __typename }")
    assert error_codes(body) == ["TOO_MANY_ALIASES"] and body.get("data") is None


async def test_login_attempts_cannot_hide_behind_aliases(client: httpx.AsyncClient) -> None:
    logins = " ".join(
        f'a{i}: login(email: "x@example.com", password: "guess{i}") {{ accessToken }}' for i in range(40)
    )
    body = await graphql(client, "mutation { " + logins + " }")
    assert error_codes(body) == ["TOO_MANY_ALIASES"] and body.get("data") is None


async def test_too_large(client: httpx.AsyncClient) -> None:
    many_tokens = "{ " + "__typename " * 3_000 + "}"
    body = await graphql(client, many_tokens)
    assert error_codes(body) == ["QUERY_TOO_LARGE"] and "tokens" in body["errors"][0]["message"]
    long_text = '{ product(slug: "' + "x" * 60_000 + '") { id } }'
    body = await graphql(client, long_text)
    assert error_codes(body) == ["QUERY_TOO_LARGE"]
    long_comment = "# " + "c" * 60_000 + "\n{ __typename }"
    assert error_codes(await graphql(client, long_comment)) == ["QUERY_TOO_LARGE"]


async def test_too_complex(client: httpx.AsyncClient) -> None:
    nested_pages = (
        "{ products(first: 100) { edges { node { category { products(first: 100) {"
        " edges { node { name } } } } } } } }"
    )
    body = await graphql(client, nested_pages)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"] and body.get("data") is None
    error = body["errors"][0]
    assert error["extensions"]["cost"] > error["extensions"]["budget"] == 5_000
    # The same shape with small pages is fine.
    assert "errors" not in await graphql(client, nested_pages.replace("100", "5"))


async def test_pages_given_as_variables_are_costed_at_their_maximum(client: httpx.AsyncClient) -> None:
    query = (
        "query($n: Int) { products(first: $n) { edges { node { category {"
        " products(first: $n) { edges { node { name } } } } } } } }"
    )
    assert error_codes(await graphql(client, query, {"n": 2})) == ["QUERY_TOO_COMPLEX"]


async def test_a_fragment_bomb_is_measured_quickly(client: httpx.AsyncClient) -> None:
    # Strawberry's own QueryDepthLimiter needs seconds for 20 levels of this, doubling per level.
    # The work is counted, not timed: all of it (client and server share this thread), within what
    # about 2 s of CPU allows (CALLS_IN_2_S; tests/test_validation_cost.py calibrates calls per ms).
    with counted_calls() as calls:
        body = await graphql(client, fragment_bomb(60))
    assert calls[0] < CALLS_IN_2_S, calls[0]
    # Its 2**60 fields are refused before validation (graph/selections.py), so only that limit answers.
    assert set(error_codes(body)) == {"TOO_MANY_FIELDS"} and body.get("data") is None


async def test_unknown_and_cyclic_fragments_are_plain_validation_errors(client: httpx.AsyncClient) -> None:
    for query in (
        "{ ...Missing }",
        "{ products { edges { node { ...A } } } } fragment A on Product { ...A }",
    ):
        body = await graphql(client, query)
        assert body["errors"] and "INTERNAL_SERVER_ERROR" not in error_codes(body), body


async def test_introspection_cannot_recurse_into_the_schema(client: httpx.AsyncClient) -> None:
    query = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    body = await graphql(client, query)
    assert error_codes(body) == ["QUERY_TOO_DEEP"]


async def test_introspection_can_be_switched_off(strict_client: httpx.AsyncClient) -> None:
    body = await graphql(strict_client, get_introspection_query())
    assert set(error_codes(body)) == {"INTROSPECTION_DISABLED"} and body.get("data") is None
    assert error_codes(await graphql(strict_client, '{ __type(name: "Product") { name } }')) == [
        "INTROSPECTION_DISABLED"
    ]
    # __typename is not introspection of the schema; queries go on as usual.
    assert (await graphql(strict_client, "{ __typename }"))["data"] == {"__typename": "Query"}
    assert "errors" not in await graphql(strict_client, CATALOG_PAGE_20)


def test_settings_switch_introspection_off_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTROSPECTION", "false")
    monkeypatch.setenv("MAX_QUERY_COST", "100")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.introspection is False and settings.max_query_cost == 100


async def test_a_crash_before_execution_is_masked_and_logged(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("internal detail 7f3a")

    monkeypatch.setattr("graph.operation_measure.Measurer.operation", broken)
    with caplog.at_level(logging.ERROR, logger="graph.errors"):
        response = await client.post("/graphql", json={"query": "{ categories { slug } }"})
    (error,) = response.json()["errors"]
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": response.headers["x-request-id"],
    }
    assert "7f3a" not in response.text
    assert "internal detail 7f3a" in caplog.text
