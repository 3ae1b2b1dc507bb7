"""The catalog's RATING sort at scale: keyset pages read from ix_products_rating, and review writes.

    DATA_DIR=/tmp/big .venv/bin/python main.py seed --products 1000000   # once, about 4 minutes
    .venv/bin/python -m bench.rating_sort --data-dir /tmp/big

Adds (once) one synthetic review to every third product (ratings 1 to 5 spread by id), then
times `product_page(RATING)` as the storefront asks for it (20 products with variants and
category, no total) at the first page, deep in the rated products and in the unrated tail, and
a review write (the upsert and its trigger). Medians of --runs runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from sqlalchemy import text

from core.db import create_engine
from core.embedded import start_embedded_postgres, stop_embedded_postgres
from models.product_page import ProductOrder, ProductQuery, product_page

SETUP = (
    # A reviewer row only the bench reads (its e-mail and name are never decrypted here, so they
    # are stand-ins, and its blind index a fixed marker).
    "INSERT INTO users (email, email_index, password_hash, name)"
    " VALUES ('bench-reviewer', '\\x62656e63682d7265766965776572'::bytea, 'x', 'bench') ON CONFLICT DO NOTHING",
    "INSERT INTO reviews (product_id, user_id, rating, body)"
    " SELECT p.id, u.id, 1 + (p.id * 7 + 1) % 5, 'bench'"
    " FROM products p CROSS JOIN users u"
    " WHERE p.id % 3 = 0 AND u.email_index = '\\x62656e63682d7265766965776572'::bytea ON CONFLICT DO NOTHING",
    "ANALYZE products",
    "ANALYZE reviews",
)


async def timed(runs: int, work) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def main(data_dir: Path, runs: int) -> None:
    url = start_embedded_postgres(data_dir)
    engine = create_engine(url, pool_size=2)
    try:
        async with engine.begin() as conn:
            products = (await conn.execute(text("SELECT count(*) FROM products"))).scalar()
            reviews = (await conn.execute(text("SELECT count(*) FROM reviews"))).scalar()
        if not reviews:
            started = time.perf_counter()
            async with engine.begin() as conn:
                for statement in SETUP[:2]:
                    await conn.execute(text(statement))
            print(f"added reviews with their trigger in {time.perf_counter() - started:.1f} s")
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                for statement in SETUP[2:]:
                    await conn.execute(text(statement))
        async with engine.connect() as conn:
            reviews = (await conn.execute(text("SELECT count(*) FROM reviews"))).scalar()
            rated = (
                await conn.execute(text("SELECT count(*) FROM products WHERE rating_count > 0"))
            ).scalar()
            deep = (
                await conn.execute(
                    text(
                        "SELECT rating_key, id FROM products WHERE is_active ORDER BY rating_key DESC, id DESC"
                        " OFFSET :n LIMIT 1"
                    ),
                    {"n": rated // 2},
                )
            ).one()
            tail = (
                await conn.execute(
                    text(
                        "SELECT rating_key, id FROM products WHERE is_active AND rating_key = 0 ORDER BY id DESC OFFSET 1000 LIMIT 1"
                    )
                )
            ).one()
        print(f"{products:,} products, {rated:,} rated, {reviews:,} reviews")

        async def page(after: tuple[int, int] | None) -> None:
            async with engine.connect() as conn:
                result = await product_page(
                    conn,
                    ProductQuery(),
                    ProductOrder.RATING,
                    20,
                    after,
                    with_total=False,
                    with_variants=True,
                    with_category=True,
                )
                assert len(result.rows) == 20

        for name, after in (
            ("first page", None),
            ("half-way through the rated", tuple(deep)),
            ("unrated tail", tuple(tail)),
        ):
            print(f"RATING page, {name}: {await timed(runs, lambda after=after: page(after)):.2f} ms")

        async def write() -> None:
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO reviews (product_id, user_id, rating, body)"
                        " SELECT :p, id, 1 + (random() * 4)::int, 'bench write' FROM users"
                        " WHERE email_index = '\\x62656e63682d7265766965776572'::bytea"
                        " ON CONFLICT (user_id, product_id) DO UPDATE SET rating = EXCLUDED.rating,"
                        " body = EXCLUDED.body, updated_at = now()"
                    ),
                    {"p": deep[1]},
                )

        print(f"review upsert with its rating trigger (one transaction): {await timed(runs, write):.2f} ms")
    finally:
        await engine.dispose()
        stop_embedded_postgres(data_dir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=50)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.data_dir, arguments.runs))
