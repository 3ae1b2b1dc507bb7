"""The product row's price summary and availability, kept by triggers; the cache that survives orders.

Triggers on product_variants (migration 0012) keep products.min_price, max_price and in_stock in
the writing transaction, whatever path writes; a write of stock alone notifies only the products
it touched, so the answer cache drops only the answers that show them.
"""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from app import lean_page
from tests.support import RunningServer, StatementCounter, eventually, graphql, sql

SUMMARY_MATCHES = """
SELECT p.id FROM products AS p
LEFT JOIN LATERAL (
    SELECT coalesce(min(price), 0) AS lo, coalesce(max(price), 0) AS hi,
           coalesce(bool_or(stock > reserved), false) AS available
    FROM product_variants WHERE product_id = p.id
) AS s ON true
WHERE (p.min_price, p.max_price, p.in_stock) IS DISTINCT FROM (s.lo, s.hi, s.available)
"""

PAGE = """
query($first: Int!) {
  products(first: $first) {
    edges { node { slug inStock priceRange { min { amount } }
      variants { sku quantityAvailable } } }
  }
}
"""
NAMES = "query($first: Int!) { products(first: $first) { edges { node { slug name inStock } } } }"


def _dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


async def _summary(database_url: str, product_id: int) -> tuple[int, int, bool]:
    rows = await sql(
        database_url, "SELECT min_price, max_price, in_stock FROM products WHERE id = :id", id=product_id
    )
    return tuple(rows[0])  # type: ignore[return-value]


async def test_the_product_row_follows_every_variant_write(database_url: str) -> None:
    assert await sql(database_url, SUMMARY_MATCHES) == [], "the migration filled every product"
    [(product_id,)] = await sql(
        database_url,
        "INSERT INTO products (slug, name) VALUES ('trigger-test', 'Trigger Test') RETURNING id",
    )
    assert await _summary(database_url, product_id) == (0, 0, False)
    await sql(
        database_url,
        "INSERT INTO product_variants (product_id, sku, name, price, stock) VALUES"
        " (:p, 'TT-1', 'One', 500, 1), (:p, 'TT-2', 'Two', 900, 0)",
        p=product_id,
    )
    assert await _summary(database_url, product_id) == (500, 900, True)
    await sql(database_url, "UPDATE product_variants SET reserved = 1 WHERE sku = 'TT-1'")
    assert await _summary(database_url, product_id) == (500, 900, False), "the last unit is held"
    await sql(database_url, "UPDATE product_variants SET stock = 3 WHERE sku = 'TT-2'")
    assert await _summary(database_url, product_id) == (500, 900, True)
    await sql(database_url, "UPDATE product_variants SET price = 1200 WHERE sku = 'TT-1'")
    assert await _summary(database_url, product_id) == (900, 1200, True)
    await sql(database_url, "DELETE FROM product_variants WHERE sku = 'TT-2'")
    assert await _summary(database_url, product_id) == (1200, 1200, False)
    # A variant moved to another product changes both.
    [(other,)] = await sql(
        database_url, "SELECT id FROM products WHERE id <> :p ORDER BY id LIMIT 1", p=product_id
    )
    await sql(
        database_url, "UPDATE product_variants SET product_id = :p, reserved = 0 WHERE sku = 'TT-1'", p=other
    )
    assert await _summary(database_url, product_id) == (0, 0, False)
    assert await sql(database_url, SUMMARY_MATCHES) == []


async def test_racing_for_the_last_units_of_two_variants_leaves_the_product_out_of_stock(
    database_url: str, direct_database_url: str
) -> None:
    """Two checkouts, each taking the last unit of another variant of one product, at once.

    The two sessions are direct: the test finds the second one's server process in
    pg_stat_activity, and a pooler's connection reports no real one."""
    [(product_id,)] = await sql(
        database_url, "INSERT INTO products (slug, name) VALUES ('race-test', 'Race Test') RETURNING id"
    )
    await sql(
        database_url,
        "INSERT INTO product_variants (product_id, sku, name, price, stock) VALUES"
        " (:p, 'RACE-1', 'One', 500, 1), (:p, 'RACE-2', 'Two', 500, 1)",
        p=product_id,
    )
    for _ in range(5):
        await sql(
            database_url, "UPDATE product_variants SET reserved = 0 WHERE product_id = :p", p=product_id
        )
        assert await _summary(database_url, product_id) == (500, 500, True)
        first = await asyncpg.connect(_dsn(direct_database_url))
        second = await asyncpg.connect(_dsn(direct_database_url))
        try:
            a, b = first.transaction(), second.transaction()
            await a.start()
            await b.start()
            await first.execute("UPDATE product_variants SET reserved = 1 WHERE sku = 'RACE-1'")
            blocked = asyncio.ensure_future(
                second.execute("UPDATE product_variants SET reserved = 1 WHERE sku = 'RACE-2'")
            )
            # The second waits for the first's lock on the product (without it, each would see
            # the other's variant still available and leave in_stock true).
            pid = second.get_server_pid()
            await eventually(
                lambda: sql(
                    database_url,
                    "SELECT 1 FROM pg_stat_activity WHERE pid = :pid AND wait_event_type = 'Lock'",
                    pid=pid,  # noqa: B023 - awaited within this iteration
                ),
                message="the second checkout did not wait for the first",
            )
            await a.commit()
            await blocked
            await b.commit()
        finally:
            await first.close()
            await second.close()
        assert await _summary(database_url, product_id) == (500, 500, False)


async def test_stock_writes_notify_their_products_and_other_writes_everything(
    database_url: str, direct_database_url: str
) -> None:
    heard: list[str] = []
    listener = await asyncpg.connect(_dsn(direct_database_url))  # LISTEN needs a session of its own
    try:
        await listener.add_listener("catalog_changed", lambda *args: heard.append(args[3]))
        [(variant, product)] = await sql(
            database_url, "SELECT id, product_id FROM product_variants WHERE stock > 5 ORDER BY id LIMIT 1"
        )
        await sql(
            database_url, "UPDATE product_variants SET reserved = reserved + 1 WHERE id = :v", v=variant
        )
        await eventually(lambda: heard, message="no notification")
        assert heard == [f"stock:{product}"]
        heard.clear()
        await sql(database_url, "UPDATE product_variants SET price = price + 1 WHERE id = :v", v=variant)
        await eventually(lambda: heard, message="no notification")
        assert heard == [""]
    finally:
        await listener.close()


async def test_a_payment_moving_reserved_units_to_sold_notifies_nothing(
    database_url: str, direct_database_url: str
) -> None:
    """stock - reserved is all a catalog answer shows of stock (migration 0016): a payment's write
    (both down by as many) drops no cached answer; a write that changes it names its product."""
    heard: list[str] = []
    listener = await asyncpg.connect(_dsn(direct_database_url))
    try:
        await listener.add_listener("catalog_changed", lambda *args: heard.append(args[3]))
        [(variant, product)] = await sql(
            database_url, "SELECT id, product_id FROM product_variants WHERE stock > 5 ORDER BY id LIMIT 1"
        )
        [(other, other_product)] = await sql(
            database_url,
            "SELECT id, product_id FROM product_variants WHERE stock > 5 AND product_id <> :p ORDER BY id LIMIT 1",
            p=product,
        )
        await sql(
            database_url, "UPDATE product_variants SET reserved = reserved + 2 WHERE id = :v", v=variant
        )
        await eventually(lambda: heard, message="no notification")
        assert heard == [f"stock:{product}"]
        heard.clear()
        # The payment (as inventory.commit writes it), then one statement moving both variants,
        # only the second's availability changing. Notifications arrive in commit order.
        await sql(
            database_url,
            "UPDATE product_variants SET stock = stock - 2, reserved = reserved - 2 WHERE id = :v",
            v=variant,
        )
        await sql(
            database_url,
            "UPDATE product_variants SET stock = stock - CASE WHEN id = :o THEN 1 ELSE 0 END"
            " WHERE id IN (:v, :o)",
            v=variant,
            o=other,
        )
        await eventually(lambda: heard, message="no notification")
        assert heard == [f"stock:{other_product}"]
    finally:
        await listener.close()


async def test_orders_moving_stock_keep_the_other_answers_cached(
    client: httpx.AsyncClient, sql_statements: StatementCounter, database_url: str, server: RunningServer
) -> None:
    cache = server.app.state.catalog_cache
    await eventually(lambda: cache.enabled, message="the catalog cache is off")
    answered = lean_page.answered[0]
    page = await graphql(client, PAGE, {"first": 3})
    names = await graphql(client, NAMES, {"first": 50})
    assert lean_page.answered[0] == answered + 2, "both pages were answered by app.lean_page"
    shown = [edge["node"] for edge in page["data"]["products"]["edges"]]
    # Stock of a product on neither answer changes: both stay cached.
    [(outside,)] = await sql(
        database_url,
        "SELECT v.sku FROM product_variants v JOIN products p ON p.id = v.product_id"
        " WHERE p.slug <> ALL(:slugs) AND v.stock - v.reserved > 3 ORDER BY v.id LIMIT 1",
        slugs=[node["slug"] for node in shown],
    )
    drops = cache.drops
    await sql(database_url, "UPDATE product_variants SET reserved = reserved + 1 WHERE sku = :s", s=outside)
    await eventually(lambda: cache.drops > drops, message="the stock change was not heard")
    sql_statements.reset()
    assert await graphql(client, PAGE, {"first": 3}) == page
    assert await graphql(client, NAMES, {"first": 50}) == names
    assert sql_statements.count == 0, "both answers came from the cache"

    # Stock of a shown variant changes without flipping its product: the page with stock is
    # answered afresh, the page of names (no stock shown) still from the cache.
    variant = next(v for node in shown for v in node["variants"] if v["quantityAvailable"] > 3)
    drops = cache.drops
    await sql(
        database_url, "UPDATE product_variants SET reserved = reserved + 2 WHERE sku = :s", s=variant["sku"]
    )
    await eventually(lambda: cache.drops > drops, message="the stock change was not heard")
    fresh = await graphql(client, PAGE, {"first": 3})
    fresh_variant = next(
        v
        for edge in fresh["data"]["products"]["edges"]
        for v in edge["node"]["variants"]
        if v["sku"] == variant["sku"]
    )
    assert fresh_variant["quantityAvailable"] == variant["quantityAvailable"] - 2
    assert lean_page.answered[0] == answered + 3
    sql_statements.reset()
    assert await graphql(client, NAMES, {"first": 50}) == names
    assert sql_statements.count == 0

    # A product selling out flips in_stock on its row: every answer is dropped.
    slug = names["data"]["products"]["edges"][0]["node"]["slug"]
    await sql(
        database_url,
        "UPDATE product_variants SET reserved = stock WHERE product_id = (SELECT id FROM products WHERE slug = :s)",
        s=slug,
    )

    async def sold_out() -> bool:
        body = await graphql(client, NAMES, {"first": 50})
        return body["data"]["products"]["edges"][0]["node"]["inStock"] is False

    await eventually(sold_out, message="the sold-out product still shows in stock")


async def test_shoppers_asking_for_an_answer_being_computed_wait_for_it(
    client: httpx.AsyncClient,
    sql_statements: StatementCounter,
    server: RunningServer,
    direct_database_url: str,
) -> None:
    """After a drop, the shoppers on a popular page do not all read it at once: requests for an
    answer being computed wait for it and are answered from the cache."""
    cache = server.app.state.catalog_cache
    await eventually(lambda: cache.enabled, message="the catalog cache is off")
    cache.invalidate()
    sql_statements.reset()
    alone = await graphql(client, PAGE, {"first": 5})
    one_computation = sql_statements.count
    assert one_computation > 0
    cache.invalidate()
    sql_statements.reset()
    # The products table locked, so that the first computation is still running when all arrive.
    locker = await asyncpg.connect(_dsn(direct_database_url))
    try:
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        misses = cache.misses
        asked = asyncio.gather(*(graphql(client, PAGE, {"first": 5}) for _ in range(8)))
        await eventually(lambda: cache.misses >= misses + 8, message="not every request arrived")
        await transaction.rollback()
        answers = await asked
    finally:
        await locker.close()
    assert all(answer == alone for answer in answers)
    assert sql_statements.count == one_computation, "the answer was computed more than once"
