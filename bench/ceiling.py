"""The two ceilings the benchmark compares against, served by uvicorn with the server's settings
(uvloop, httptools, one worker, access log off).

`catalog`: a hand-written Starlette + asyncpg endpoint answering workload 1 (a catalog page of
20 products with images, category, price range and variants) with one SQL statement, producing
the same JSON bytes as the GraphQL server. `hello`: a bare ASGI hello-world.

Run: python -m bench.ceiling {catalog,hello} --port P [--dsn postgresql://...] [--currency usd]
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.workloads import global_id

PAGE_SIZE = 20
# The server's page: active products, newest first (ties by id), each with its category and its
# variants in position order; price range over all variants; quantity available not below 0.
CATALOG_SQL = """
SELECT p.id, p.slug, p.name, p.description, p.images::text AS images,
       c.name AS category_name, c.slug AS category_slug, v.min_price, v.max_price, v.variants
FROM products p
LEFT JOIN categories c ON c.id = p.category_id
CROSS JOIN LATERAL (
    SELECT coalesce(min(price), 0) AS min_price, coalesce(max(price), 0) AS max_price,
           coalesce(json_agg(json_build_array(id, sku, name, price, greatest(stock - reserved, 0))
                             ORDER BY position, id), '[]')::text AS variants
    FROM product_variants WHERE product_id = p.id
) v
WHERE p.is_active
ORDER BY p.created_at DESC, p.id DESC
LIMIT $1
"""


def catalog_page(rows: list[asyncpg.Record], currency: str) -> bytes:
    def money(amount: int) -> dict[str, Any]:
        return {"amount": amount, "currency": currency}

    edges = [
        {
            "node": {
                "id": global_id("Product", row["id"]),
                "name": row["name"],
                "slug": row["slug"],
                "description": row["description"],
                "images": [
                    {"url": image["url"], "alt": image.get("alt")} for image in orjson.loads(row["images"])
                ],
                "category": None
                if row["category_slug"] is None
                else {"name": row["category_name"], "slug": row["category_slug"]},
                "priceRange": {"min": money(row["min_price"]), "max": money(row["max_price"])},
                "variants": [
                    {
                        "id": global_id("ProductVariant", pk),
                        "sku": sku,
                        "name": name,
                        "price": money(price),
                        "quantityAvailable": available,
                    }
                    for pk, sku, name, price, available in orjson.loads(row["variants"])
                ],
            }
        }
        for row in rows
    ]
    return orjson.dumps({"data": {"products": {"edges": edges}}})


async def _keep_session(connection: asyncpg.Connection) -> None:
    return None


def catalog_app(dsn: str, currency: str) -> Starlette:
    pools: list[asyncpg.Pool] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # No reset on release: asyncpg's default runs four statements (advisory unlock, CLOSE ALL,
        # UNLISTEN, RESET ALL) after every query, and this endpoint leaves no session state behind.
        pools.append(await asyncpg.create_pool(dsn, min_size=10, max_size=10, reset=_keep_session))
        yield
        await pools[0].close()

    async def graphql(request: Request) -> Response:
        if not isinstance(orjson.loads(await request.body()), dict):
            return Response(status_code=400)
        rows = await pools[0].fetch(CATALOG_SQL, PAGE_SIZE)
        return Response(catalog_page(rows, currency), media_type="application/json")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)


async def hello_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"13")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"Hello, world!"})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling")
    parser.add_argument("which", choices=["catalog", "hello"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", default="")
    parser.add_argument("--currency", default="usd")
    args = parser.parse_args()
    app: Any = hello_app if args.which == "hello" else catalog_app(args.dsn, args.currency)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        workers=1,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        log_config=None,
    )


if __name__ == "__main__":
    main()
