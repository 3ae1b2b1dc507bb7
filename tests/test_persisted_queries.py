"""Automatic Persisted Queries over GET, with Cache-Control and ETag on catalog-only answers
(issue 18, point 6; core/persisted_queries.py).

Driven by Apollo Client's own persisted-queries link under Node (tests/js/apq.mjs), and by httpx
speaking the same wire protocol: hash first, PERSISTED_QUERY_NOT_FOUND, the query with its hash,
then the hash alone over GET; a CDN's or browser's revalidation (If-None-Match, 304); no caching
headers on answers that depend on the caller; GET never runs a mutation.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
import orjson

from core.catalog_cache import MEMO_MAX_QUERY, MEMO_QUERIES, reads_only_the_catalog
from core.settings import Settings
from tests.accounts import signed_up_token
from tests.js_client import JS, node
from tests.shop import CART, new_cart, serve, variant_with_stock
from tests.support import eventually, sql

CATALOG = "query Catalog($first: Int!) { products(first: $first) { edges { node { slug variants { quantityAvailable } } } } }"
ADD = "mutation($v: ID!) { cartLinesAdd(lines: [{variantId: $v, quantity: 1}]) { cart { token } userErrors { code } } }"
PUBLIC = "public, max-age=60"
PRIVATE = "private, no-store"


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def persisted(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha(query)}}


async def get(client: httpx.AsyncClient, params: dict[str, Any], **headers: str) -> httpx.Response:
    encoded = {
        key: value if isinstance(value, str) else orjson.dumps(value).decode()
        for key, value in params.items()
    }
    return await client.get("/graphql", params=encoded, headers={"accept": "application/json", **headers})


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


async def test_apollo_clients_persisted_queries_link_hashes_over_get_and_registers_once(
    client: httpx.AsyncClient, database_url: str
) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 5)
    config = {
        "url": f"{str(client.base_url).rstrip('/')}/graphql",
        "operations": [
            {"query": CATALOG, "variables": {"first": 2}},
            {"query": CATALOG, "variables": {"first": 2}},
            {"query": ADD, "variables": {"v": variant_id}, "mutation": True},
        ],
    }
    process = await asyncio.create_subprocess_exec(
        node(), str(JS / "apq.mjs"), orjson.dumps(config).decode(), cwd=JS,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    lines = [orjson.loads(line) for line in stdout.splitlines()]
    fetches = [line["fetch"] for line in lines if "fetch" in line]
    results = [line.get("result") or line for line in lines if "fetch" not in line]

    assert [list(result) for result in results] == [["data", "errors"]] * 3, results
    assert all(result["errors"] is None for result in results)
    assert len(results[0]["data"]["products"]["edges"]) == 2
    assert results[2]["data"]["cartLinesAdd"]["cart"]["token"]
    # 1. the hash alone, over GET: unknown. 2. the query with its hash, over POST. 3. the hash alone,
    # over GET: answered, with caching headers. 4./5. the mutation: hash, then query, both POST.
    assert [(fetch["method"], fetch["status"]) for fetch in fetches] == [
        ("GET", 200), ("POST", 200), ("GET", 200), ("POST", 200), ("POST", 200),
    ]  # fmt: skip
    assert "extensions" in fetches[0]["url"] and "query=" not in fetches[0]["url"]
    assert fetches[0]["cacheControl"] == PRIVATE and fetches[0]["etag"] is None
    assert fetches[2]["cacheControl"] == PUBLIC and fetches[2]["etag"]
    assert (await sql(database_url, "SELECT count(*) FROM carts"))[0][0] >= 1


async def test_the_wire_protocol_not_found_then_registered_then_get_with_etag_and_304(
    client: httpx.AsyncClient, database_url: str
) -> None:
    await variant_with_stock(database_url, 5)
    params = {"operationName": "Catalog", "variables": {"first": 3}, "extensions": persisted(CATALOG)}
    unknown = await get(client, params)
    assert unknown.status_code == 200 and codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"

    registered = await client.post("/graphql", json={**params, "query": CATALOG})
    assert registered.status_code == 200 and "errors" not in registered.json()
    assert "etag" not in registered.headers  # POST answers are left as they are

    answer = await get(client, params)
    assert answer.status_code == 200 and answer.json() == registered.json()
    assert answer.headers["cache-control"] == PUBLIC and "Authorization" in answer.headers["vary"]
    etag = answer.headers["etag"]

    revalidated = await get(client, params, **{"if-none-match": etag})
    assert revalidated.status_code == 304 and revalidated.content == b""
    assert revalidated.headers["etag"] == etag and revalidated.headers["cache-control"] == PUBLIC
    assert (await get(client, params, **{"if-none-match": f'W/{etag}, "other"'})).status_code == 304

    # What the answer says changes (stock), and so does its tag: a stale copy is not revalidated.
    slug = answer.json()["data"]["products"]["edges"][0]["node"]["slug"]
    await sql(
        database_url,
        "UPDATE product_variants SET stock = stock + 7 WHERE product_id = (SELECT id FROM products WHERE slug = :s)",
        s=slug,
    )

    async def retagged() -> httpx.Response | None:
        response = await get(client, params, **{"if-none-match": etag})
        return response if response.status_code == 200 else None

    changed = await eventually(retagged, message="a new answer once the catalog changed")
    assert changed.headers["etag"] != etag and changed.headers["cache-control"] == PUBLIC

    # A plain GET query (no hash) is cacheable alike.
    plain = await get(client, {"query": CATALOG, "variables": {"first": 3}})
    assert plain.status_code == 200 and plain.headers["cache-control"] == PUBLIC


async def test_a_hash_that_does_not_match_its_query_is_refused_and_not_kept(
    client: httpx.AsyncClient,
) -> None:
    other = "{ categories { slug } }"
    wrong = {"query": other, "variables": {"first": 1}, "extensions": persisted(CATALOG)}
    refused = await client.post("/graphql", json=wrong)
    assert refused.status_code == 400 and codes(refused) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert codes(await get(client, {"variables": {"first": 1}, "extensions": persisted(CATALOG)})) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]
    version_two = await get(
        client, {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": sha(other)}}}
    )
    assert version_two.status_code == 400 and codes(version_two) == ["PERSISTED_QUERY_NOT_SUPPORTED"]
    assert (
        await get(client, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "x"}}})
    ).status_code == 400


async def test_get_never_runs_a_mutation(client: httpx.AsyncClient, database_url: str) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 5)
    before = (await sql(database_url, "SELECT count(*) FROM carts"))[0][0]
    plain = await get(client, {"query": ADD, "variables": {"v": variant_id}})
    assert plain.status_code == 405 and codes(plain) == ["METHOD_NOT_ALLOWED"]
    assert plain.headers["allow"] == "GET, POST" and "etag" not in plain.headers
    # A mutation persisted over POST (allowed) still cannot be run by its hash over GET.
    registered = await client.post(
        "/graphql", json={"query": ADD, "variables": {"v": variant_id}, "extensions": persisted(ADD)}
    )
    assert registered.json()["data"]["cartLinesAdd"]["cart"]["token"]
    hashed = await get(client, {"variables": {"v": variant_id}, "extensions": persisted(ADD)})
    assert hashed.status_code == 405
    assert (await sql(database_url, "SELECT count(*) FROM carts"))[0][0] == before + 1  # the POST's only


async def test_answers_that_depend_on_the_caller_carry_no_caching_headers(
    client: httpx.AsyncClient, database_url: str
) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 5)
    token = await new_cart(client, variant_id)
    cart = await get(client, {"query": CART, "variables": {"token": token}})
    assert cart.status_code == 200 and cart.json()["data"]["cart"]["token"] == token
    assert cart.headers["cache-control"] == PRIVATE and "etag" not in cart.headers

    access = await signed_up_token(client)
    me = await get(client, {"query": "{ me { email } }"}, authorization=f"Bearer {access}")
    assert me.json()["data"]["me"]["email"]
    assert me.headers["cache-control"] == PRIVATE and "etag" not in me.headers

    # Even a catalog query: sent with Authorization, its answer is not for shared caches.
    signed = await get(
        client, {"query": CATALOG, "variables": {"first": 1}}, authorization=f"Bearer {access}"
    )
    assert (
        signed.status_code == 200
        and signed.headers["cache-control"] == PRIVATE
        and "etag" not in signed.headers
    )
    # Errors are not cached either.
    broken = await get(client, {"query": "{ products(first: 1) { nope } }"})
    assert broken.headers["cache-control"] == PRIVATE and "etag" not in broken.headers


async def test_the_store_of_persisted_queries_is_bounded(settings: Settings) -> None:
    queries = [f"query Q{i} {{ categories {{ slug }} }}" for i in range(3)]
    async with serve(settings.model_copy(update={"persisted_queries_size": 2})) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as client:
            for query in queries:
                registered = await client.post(
                    "/graphql", json={"query": query, "extensions": persisted(query)}
                )
                assert registered.status_code == 200 and "errors" not in registered.json()
            oldest, *kept = [await get(client, {"extensions": persisted(query)}) for query in queries]
    assert codes(oldest) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert all(response.status_code == 200 and "errors" not in response.json() for response in kept)


async def test_graphiql_still_opens_on_get_for_a_browser(client: httpx.AsyncClient) -> None:
    page = await client.get(
        "/graphql", params={"query": "{ categories { slug } }"}, headers={"accept": "text/html"}
    )
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_the_parse_memo_keeps_only_short_query_texts_and_a_bounded_number() -> None:
    """Whether a query reads only the catalog is remembered per query text (storefronts repeat a
    few), but a long text is parsed each time and never kept, and at most MEMO_QUERIES are."""
    short = "query Short { products(first: 1) { edges { node { id } } } }"
    assert reads_only_the_catalog(short, None) is True
    kept = reads_only_the_catalog.cache_info().currsize  # type: ignore[attr-defined]
    long = "query Long { products(first: 1) { edges { node { id } } } }" + " " * MEMO_MAX_QUERY
    assert reads_only_the_catalog(long, None) is True
    assert reads_only_the_catalog.cache_info().currsize == kept  # type: ignore[attr-defined]
    for n in range(MEMO_QUERIES + 10):
        reads_only_the_catalog(f"query Q{n} {{ categories {{ id }} }}", None)
    assert reads_only_the_catalog.cache_info().currsize == MEMO_QUERIES  # type: ignore[attr-defined]
