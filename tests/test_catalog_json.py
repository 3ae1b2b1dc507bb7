"""Product pages answered with JSON built by PostgreSQL (graph/catalog/page_json.py) give the same
bytes as the standard path, over a family of selections, arguments, fragments and errors."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest

from app import lean_page
from core.settings import Settings
from tests.support import RunningServer, sql

FIELDS = (
    "id name slug description images { url alt } category { name slug }"
    " priceRange { min { amount currency } max { amount currency } }"
    " variants { id sku name price { amount currency } quantityAvailable }"
)
PAGE = f"{{ products(first: 20) {{ edges {{ node {{ {FIELDS} }} }} }} }}"
EVERYTHING = """
query Page($first: Int, $after: String, $filter: ProductFilter, $sort: ProductSort) {
  __typename
  list: products(first: $first, after: $after, filter: $filter, sort: $sort) {
    count: totalCount
    __typename
    info: pageInfo { endCursor hasNextPage __typename hasPreviousPage startCursor }
    edges {
      __typename
      cursor
      item: node {
        __typename inStock slug
        key: id
        images { alt __typename url }
        category { __typename id slug name }
        priceRange { __typename max { currency amount } min { __typename amount } }
        variants { quantityAvailable __typename price { currency amount __typename } sku id name }
      }
    }
  }
}
"""
FRAGMENTS = """
query { products(first: 7, sort: NAME) { ...Page } }
fragment Page on ProductConnection { totalCount edges { ...Edge node { id } } }
fragment Edge on ProductEdge { cursor node { ...Card ... on Product { variants { sku } } } }
fragment Card on Product { id name images { url } images { alt } variants { id price { amount } } }
"""
# Not built in SQL (an interface's fragment, a directive, facets, ratings): the standard path.
FALLBACKS = [
    "{ products(first: 3) { edges { node { ... on Node { id } name } } } }",
    "query($x: Boolean!) { products(first: 3) { edges { node { name @include(if: $x) slug } } } }",
    "{ products(first: 3) { totalCount facets { inStock } edges { node { name } } } }",
    "{ products(first: 3) { edges { node { name rating { average count } } } } }",
    "{ products(first: 3) { edges { node { category { parent { name } } } } } }",
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"catalog_cache_size": 0})


async def both(
    server: RunningServer,
    client: httpx.AsyncClient,
    query: str,
    statements: Any = None,
    built_in_sql: bool = True,
    lean_answers: bool | None = None,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    status: int = 200,
    **variables: Any,
) -> bytes:
    """The answer's bytes, asserted equal on the JSON path and the standard one (and, with the
    `sql_statements` fixture, whether the first was built in SQL)."""
    body = body if body is not None else {"query": query, "variables": variables}
    settings = server.app.state.settings
    answers = []
    # JSON built in SQL answered by app.lean_page where it can, by strawberry's executor, and the
    # standard path: the same status, headers and bytes.
    for lean, in_sql in ((True, True), (False, True), (False, False)):
        settings.catalog_json_in_sql, settings.catalog_lean_page = in_sql, lean
        if statements is not None:
            statements.reset()
        before = lean_page.answered[0]
        response = await client.post("/graphql", json=body, headers=headers)
        assert response.status_code == status, response.text
        if lean and lean_answers is not None:
            assert (lean_page.answered[0] > before) is lean_answers, query
        answers.append((response.content, _headers(response)))
        if statements is not None and in_sql:
            assert any("node_json" in text for text in statements.statements) is built_in_sql, query
    settings.catalog_json_in_sql = settings.catalog_lean_page = True
    assert answers[0] == answers[1] == answers[2], (query, variables)
    return answers[0][0]


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, value in response.headers.multi_items()
        if name not in ("date", "x-request-id")
    ]


def data(answer: bytes) -> Any:
    document = orjson.loads(answer)
    assert "errors" not in document, document
    return document["data"]


async def test_the_benchmark_page_is_built_in_sql_with_the_same_bytes(
    server: RunningServer, client: httpx.AsyncClient, sql_statements: Any
) -> None:
    answer = await both(server, client, PAGE, lean_answers=True)
    assert len(data(answer)["products"]["edges"]) == 20
    sql_statements.reset()
    await client.post("/graphql", json={"query": PAGE})
    assert sql_statements.count == 1
    assert "node_json" in sql_statements.statements[0]


@pytest.mark.parametrize(
    "variables",
    [
        {"first": 5},
        {"first": 0},
        {"first": 100},
        {"first": 4, "sort": "NAME"},
        {"first": 4, "sort": "PRICE_ASC", "filter": {"minPrice": 1000, "maxPrice": 20000}},
        {"first": 4, "sort": "PRICE_DESC", "filter": {"inStock": True}},
        {"first": 4, "sort": "RATING"},
        {"first": 4, "filter": {"search": "blutooth speakr"}},
        {"first": 4, "filter": {"search": "wireless"}, "sort": "RELEVANCE"},
        {"first": 4, "filter": {"search": "no such thing anywhere"}},
        {"first": 4, "filter": {"categorySlug": "electronics"}},
        {"first": 4, "filter": {"categorySlug": "no-such-category"}},
    ],
)
async def test_arguments_give_the_same_bytes(
    server: RunningServer, client: httpx.AsyncClient, sql_statements: Any, variables: dict[str, Any]
) -> None:
    page = data(await both(server, client, EVERYTHING, sql_statements, lean_answers=True, **variables))[
        "list"
    ]
    if page["info"]["hasNextPage"]:  # and the next page, by its cursor
        after = page["info"]["endCursor"]
        await both(
            server, client, EVERYTHING, sql_statements, lean_answers=True, **{**variables, "after": after}
        )


async def test_fragments_merged_fields_and_fallbacks_give_the_same_bytes(
    server: RunningServer, client: httpx.AsyncClient, sql_statements: Any
) -> None:
    page = data(await both(server, client, FRAGMENTS, sql_statements, lean_answers=True))["products"]
    assert page["edges"][0]["node"]["images"][0].keys() == {"url", "alt"}
    for query in FALLBACKS:
        data(
            await both(server, client, query, sql_statements, built_in_sql=False, lean_answers=False, x=True)
        )
    three = (
        "{ a: products(first: 2) { edges { node { id } } } b: products(first: 3, sort: NAME) { totalCount }"
        " c: products(first: 2) { edges { cursor } pageInfo { endCursor } } }"
    )
    answer = data(await both(server, client, three, sql_statements, lean_answers=False))
    assert len(answer["a"]["edges"]) == 2
    assert answer["c"]["edges"][-1]["cursor"] == answer["c"]["pageInfo"]["endCursor"]


@pytest.mark.parametrize(
    "variables",
    [
        {"first": 101},
        {"first": -1},
        {"first": 3, "after": "not-a-cursor"},
        {"first": 3, "after": base64.urlsafe_b64encode(b'["products:NAME",["a",1]]').decode()},
    ],
)
async def test_errors_give_the_same_bytes(
    server: RunningServer, client: httpx.AsyncClient, variables: dict[str, Any]
) -> None:
    assert orjson.loads(await both(server, client, EVERYTHING, lean_answers=False, **variables))["errors"]


async def test_hostile_text_is_escaped_as_orjson_escapes_it(
    server: RunningServer, client: httpx.AsyncClient, database_url: str
) -> None:
    hostile = '"quote" \\back\\ \t\n\r\x08\x0c \x01\x1f\x7f é ü 漢字 🛒 \u2028\u2029 </script> \''
    images = orjson.dumps([{"url": hostile, "alt": None}, {"url": "/x.png"}, {"url": "/y", "alt": hostile}])
    [(product_id,)] = await sql(
        database_url,
        "UPDATE products SET name = :text, description = :text, images = CAST(:images AS jsonb)"
        " WHERE id = (SELECT id FROM products WHERE is_active ORDER BY created_at DESC, id DESC LIMIT 1)"
        " RETURNING id",
        text=hostile,
        images=images.decode(),
    )
    await sql(
        database_url,
        "UPDATE categories SET name = :text WHERE id = (SELECT category_id FROM products WHERE id = :id)",
        text=hostile,
        id=product_id,
    )
    await sql(
        database_url,
        "UPDATE product_variants SET name = :text WHERE product_id = :id",
        text=hostile,
        id=product_id,
    )
    page = data(await both(server, client, EVERYTHING, lean_answers=True, first=2))["list"]
    assert page["edges"][0]["item"]["key"] == base64.b64encode(f"Product:{product_id}".encode()).decode()
    node = page["edges"][0]["item"]
    assert node["images"][0]["url"] == hostile
    assert node["images"][1]["alt"] is None
    assert node["category"]["name"] == hostile


PRODUCT = f"query($slug: String!) {{ __typename product(slug: $slug) {{ {FIELDS} }} }}"
PRODUCT_SHAPES = [
    PRODUCT,
    "query($slug: String!) { p: product(slug: $slug) { __typename ...Card images { url } } }"
    " fragment Card on Product { key: id inStock images { alt } variants { __typename quantityAvailable } }",
    "query($slug: String!) { product(slug: $slug) { priceRange { max { amount } } category { __typename id } } }",
]


async def test_product_by_slug_is_built_in_sql_with_the_same_bytes(
    server: RunningServer, client: httpx.AsyncClient, sql_statements: Any, database_url: str
) -> None:
    [(slug,)] = await sql(
        database_url, "SELECT slug FROM products WHERE is_active ORDER BY created_at DESC, id DESC LIMIT 1"
    )
    for query in PRODUCT_SHAPES:
        assert data(await both(server, client, query, sql_statements, lean_answers=False, slug=slug))
    answer = data(await both(server, client, PRODUCT, sql_statements, slug=slug))["product"]
    assert answer["slug"] == slug and answer["variants"]
    sql_statements.reset()
    await client.post("/graphql", json={"query": PRODUCT, "variables": {"slug": slug}})
    assert sql_statements.count == 1  # the standard path reads the variants in a second statement
    for missing in ("no-such-product", "nul\x00slug"):
        assert data(await both(server, client, PRODUCT, slug=missing))["product"] is None
    rated = "query($slug: String!) { product(slug: $slug) { name rating { count } } }"
    data(await both(server, client, rated, sql_statements, built_in_sql=False, slug=slug))


ALIASES = "{ products(first: 2) { edges { node { " + " ".join(f"a{i}: name" for i in range(31)) + " } } } }"
TWO = "query A { __typename } query B { products(first: 2) { edges { node { id } } } }"


@pytest.mark.parametrize(
    ("query", "variables", "limit", "lean", "code"),
    [
        (ALIASES, {}, {}, False, "TOO_MANY_ALIASES"),
        (PAGE, {}, {"max_query_cost": 50}, False, "QUERY_TOO_COMPLEX"),
        (PAGE, {}, {"max_query_depth": 3}, False, "QUERY_TOO_DEEP"),
        (PAGE, {}, {"max_query_tokens": 20}, False, "QUERY_TOO_LARGE"),
        (PAGE, {}, {"max_query_fields": 5}, False, "TOO_MANY_FIELDS"),
        (PAGE, {}, {"introspection": False}, True, None),
        (EVERYTHING, {"first": "x"}, {}, False, ""),  # a variable of the wrong type: no code
        (
            EVERYTHING,
            {"first": 2, "filter": {"attributes": [{"attribute": "color", "values": ["red"]}]}},
            {},
            False,
            None,  # the standard path's filter by attributes (matching nothing here)
        ),
        ("{ products(first: 2) { edges { node { nope } } } }", {}, {}, False, ""),
        (
            "{ products(first: 2) { edges { node { id } } } } { __typename }",
            {},
            {},
            False,
            "OPERATION_NAME_REQUIRED",
        ),
        (
            "{ t: __typename products(first: 2) { __typename edges { node { id } } } __typename }",
            {},
            {},
            True,
            None,
        ),
        (
            "{ products(first: 2) @skip(if: false) { edges { node { id } } } }",
            {},
            {},
            False,
            None,
        ),
        ("mutation { __typename }", {}, {}, False, None),
    ],
)
async def test_limits_and_refusals_give_the_same_answers(
    server: RunningServer,
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    limit: dict[str, Any],
    lean: bool,
    code: str | None,
) -> None:
    """Whatever a limit or validation refuses, the lean path leaves to the standard one."""
    settings = server.app.state.settings
    saved = {name: getattr(settings, name) for name in limit}
    for name, value in limit.items():
        setattr(settings, name, value)
    try:
        answer = orjson.loads(await both(server, client, query, lean_answers=lean, **variables))
    finally:
        for name, value in saved.items():
            setattr(settings, name, value)
    codes = [(error.get("extensions") or {}).get("code") for error in answer.get("errors", [])]
    assert codes == ([] if code is None else [code or None]), answer  # "": an error without a code


@pytest.mark.parametrize(
    ("body", "headers", "lean", "status"),
    [
        ({"query": TWO, "operationName": "B"}, None, True, 200),
        ({"query": TWO, "operationName": "A"}, None, False, 200),
        ({"query": TWO}, None, False, 200),  # OPERATION_NAME_REQUIRED
        ({"query": TWO, "operationName": "C"}, None, False, 400),
        ({"query": PAGE, "variables": None, "operationName": None}, None, True, 200),
        ({"query": PAGE, "extensions": {}}, None, False, 200),
        ({"query": PAGE, "variables": []}, None, False, 400),
        ({"query": PAGE}, {"authorization": "Bearer not-a-token"}, True, 200),
        ({"query": PAGE}, {"origin": "https://elsewhere.example"}, True, 200),
        ({"query": PAGE}, {"accept": "multipart/mixed"}, False, 200),
    ],
)
async def test_request_shapes_give_the_same_answers(
    server: RunningServer,
    client: httpx.AsyncClient,
    body: dict[str, Any],
    headers: dict[str, str] | None,
    lean: bool,
    status: int,
) -> None:
    await both(server, client, "", body=body, headers=headers, lean_answers=lean, status=status)


async def test_the_metrics_move_alike(server: RunningServer, client: httpx.AsyncClient) -> None:
    """The operation's name, type and outcome are counted the same way on the lean path."""
    from tests.test_metrics import scrape, value

    settings = server.app.state.settings
    named = "query Page { products(first: 3) { edges { node { id } } } }"
    moved = []
    for lean in (True, False):
        settings.catalog_lean_page = lean
        try:
            before, answered = await scrape(client), lean_page.answered[0]
            for body in ({"query": named}, {"query": named, "operationName": "Page"}, {"query": PAGE}):
                assert (await client.post("/graphql", json=body)).status_code == 200
            after = await scrape(client)
        finally:
            settings.catalog_lean_page = True
        assert (lean_page.answered[0] - answered) == (3 if lean else 0)
        counted = []
        for operation in ("Page", "anonymous"):
            key = {"operation_name": operation, "operation_type": "query"}
            total, timed = (
                "storefront_graphql_requests_total",
                "storefront_graphql_request_duration_seconds_count",
            )
            counted.append(
                value(after, total, outcome="ok", **key) - value(before, total, outcome="ok", **key)
            )
            counted.append(value(after, timed, **key) - value(before, timed, **key))
        moved.append(counted)
    assert moved[0] == moved[1] == [2, 2, 1, 1], moved


async def test_a_get_gives_the_same_etag_and_caching_headers(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    """core.persisted_queries turns a GET into the endpoint's POST: the lean path answers it, and
    the ETag (of the answer's bytes) and Cache-Control are the same."""
    settings = server.app.state.settings
    answers = []
    for lean in (True, False):
        settings.catalog_lean_page = lean
        try:
            answered = lean_page.answered[0]
            response = await client.get("/graphql", params={"query": PAGE})
        finally:
            settings.catalog_lean_page = True
        assert response.status_code == 200
        assert (lean_page.answered[0] > answered) is lean
        answers.append((response.content, _headers(response)))
    assert answers[0] == answers[1]
    assert dict(answers[0][1])["etag"] and "public" in dict(answers[0][1])["cache-control"]


def test_another_extension_switches_the_lean_path_off(settings: Settings) -> None:
    """The lean path stands in for the schema's extensions as they are: one more, and it steps aside."""
    import strawberry
    from strawberry.extensions import SchemaExtension

    from app.lean_paths import LeanPaths
    from resolvers.schema import Query, schema

    class Another(SchemaExtension):
        pass

    lean = LeanPaths(None, schema, settings)  # type: ignore[arg-type]
    assert lean.usable and lean.page.usable and lean.checkout.usable
    other = strawberry.Schema(query=Query, extensions=[*schema.extensions, Another])
    assert not LeanPaths(None, other, settings).usable  # type: ignore[arg-type]
