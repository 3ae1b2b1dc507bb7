"""The two ceilings the benchmark compares against, served by uvicorn with the server's settings.

`hello`: a bare ASGI hello-world. `catalog`: a hand-written Starlette + asyncpg endpoint that
answers workload 1 (a catalog page of 20 products) with one optimal SQL statement and the
same JSON bytes as the GraphQL server.
Run: python -m bench.ceiling {hello,catalog} --port P [--dsn postgresql://...]
"""

from __future__ import annotations

import argparse
import base64
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

CATALOG_SQL = """
SELECT p.id, p.slug, p.name, p.description, p.images::text AS images, c.name AS category_name,
       c.slug AS category_slug, s.min_price, s.max_price, s.variants
FROM products p
LEFT JOIN categories c ON c.id = p.category_id
JOIN LATERAL (
    SELECT coalesce(min(v.price), 0) AS min_price, coalesce(max(v.price), 0) AS max_price,
           coalesce(json_agg(json_build_array(v.id, v.sku, v.name, v.price, greatest(v.stock - v.reserved, 0))
                             ORDER BY v.position, v.id), '[]')::text AS variants
    FROM product_variants v WHERE v.product_id = p.id
) s ON true
WHERE p.is_active
ORDER BY p.created_at DESC, p.id DESC
LIMIT $1
"""


def gid(kind: str, pk: int) -> str:
    return base64.b64encode(f"{kind}:{pk}".encode()).decode()


def catalog_page(rows: list[asyncpg.Record], currency: str) -> bytes:
    def money(amount: int) -> dict[str, Any]:
        return {"amount": amount, "currency": currency}

    edges = []
    for row in rows:
        images = orjson.loads(row["images"])
        edges.append(
            {
                "node": {
                    "id": gid("Product", row["id"]),
                    "name": row["name"],
                    "slug": row["slug"],
                    "description": row["description"],
                    "images": [{"url": image["url"], "alt": image.get("alt")} for image in images],
                    "category": None
                    if row["category_slug"] is None
                    else {"name": row["category_name"], "slug": row["category_slug"]},
                    "priceRange": {"min": money(row["min_price"]), "max": money(row["max_price"])},
                    "variants": [
                        {
                            "id": gid("ProductVariant", pk),
                            "sku": sku,
                            "name": name,
                            "price": money(price),
                            "quantityAvailable": available,
                        }
                        for pk, sku, name, price, available in orjson.loads(row["variants"])
                    ],
                }
            }
        )
    return orjson.dumps({"data": {"products": {"edges": edges}}})


def catalog_app(dsn: str, currency: str = "usd") -> Starlette:
    pool: asyncpg.Pool | None = None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=4, max_size=10)
        yield
        await pool.close()

    async def graphql(request: Request) -> Response:
        body = orjson.loads(await request.body())
        first = int(body.get("variables", {}).get("first", 20))
        assert pool is not None
        rows = await pool.fetch(CATALOG_SQL, first)
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
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"Hello, world!"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("which", choices=["hello", "catalog"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn")
    args = parser.parse_args()
    app: Any = hello_app if args.which == "hello" else catalog_app(args.dsn)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
