"""domain.catalog_admin, the one write path for catalog edits, against a real database.

And the database's own guard: no path (raw SQL included) can break the stock and price invariants
or make a category its own ancestor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine
from domain import catalog_admin as admin
from domain.errors import Rejected
from tests.support import sql


@pytest.fixture
async def engine(database_url: str, behind_pooler: bool) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=2, behind_pooler=behind_pooler)
    yield engine
    await engine.dispose()


async def rejected(engine: AsyncEngine, call) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(Rejected) as raised:
        async with engine.begin() as conn:
            await call(conn)
    return [problem.code for problem in raised.value.problems]


async def test_products_variants_stock_and_the_ledger(engine: AsyncEngine, database_url: str) -> None:
    async with engine.begin() as conn:
        category = await admin.create_category(conn, name="Lamps")
        product = await admin.create_product(
            conn,
            name="Brass Desk Lamp",
            description="A lamp",
            category_id=category.id,
            images=[{"url": "https://img.example/lamp.jpg", "alt": "The lamp"}],
        )
        variant = await admin.create_variant(
            conn, product_id=product.id, sku="LAMP-1", name="Brass", price=4900, stock=5
        )
        second = await admin.create_variant(
            conn, product_id=product.id, sku="LAMP-2", name="Black", price=4500
        )
    assert product.slug == "brass-desk-lamp" and product.is_active
    assert (variant.stock, variant.position, second.position) == (5, 0, 1)
    ledger = await sql(database_url, "SELECT delta, quantity_after, reason FROM inventory_movements")
    assert [tuple(row) for row in ledger] == [(5, 5, "initial")]

    await sql(database_url, "UPDATE product_variants SET reserved = 3 WHERE id = :id", id=variant.id)
    assert await rejected(
        engine, lambda conn: admin.adjust_stock(conn, variant.id, quantity=2, reason="correction")
    ) == ["STOCK_BELOW_RESERVED"]
    assert await rejected(
        engine, lambda conn: admin.adjust_stock(conn, variant.id, delta=-3, reason="damaged")
    ) == ["STOCK_BELOW_RESERVED"]
    async with engine.begin() as conn:
        adjusted = await admin.adjust_stock(conn, variant.id, delta=-2, reason="damaged", note="dropped")
        unchanged = await admin.adjust_stock(conn, variant.id, quantity=3, reason="correction")
    assert (adjusted.variant.stock, adjusted.movement.delta, adjusted.movement.quantity_after) == (3, -2, 3)
    assert unchanged.movement is None
    assert await rejected(
        engine, lambda conn: admin.adjust_stock(conn, variant.id, delta=1, reason="stolen")
    ) == ["INVALID_REASON"]
    assert await rejected(
        engine,
        lambda conn: admin.create_variant(conn, product_id=product.id, sku="LAMP-1", name="X", price=1),
    ) == ["SKU_TAKEN"]
    assert await rejected(
        engine, lambda conn: admin.create_product(conn, name="Brass Desk Lamp", images=[{"url": "ftp://x"}])
    ) == ["INVALID_IMAGE"]
    assert await rejected(engine, lambda conn: admin.create_product(conn, name="Brass Desk Lamp")) == [
        "SLUG_TAKEN"
    ]
    assert await rejected(engine, lambda conn: admin.update_variant(conn, variant.id, price=-1)) == [
        "INVALID_PRICE"
    ]

    async with engine.begin() as conn:
        deleted = await admin.set_product_active(conn, product.id, False)
        gone = await admin.delete_variant(conn, second.id)
    assert not deleted.is_active and deleted.deleted_at is not None and gone.deleted_at is not None
    async with engine.begin() as conn:
        back = await admin.set_product_active(conn, product.id, True)
    assert back.is_active and back.deleted_at is None


async def test_categories_never_form_a_cycle(engine: AsyncEngine, database_url: str) -> None:
    async with engine.begin() as conn:
        top = await admin.create_category(conn, name="Top Things")
        middle = await admin.create_category(conn, name="Middle Things", parent_id=top.id)
        bottom = await admin.create_category(conn, name="Bottom Things", parent_id=middle.id)
    assert await rejected(engine, lambda conn: admin.move_category(conn, top.id, parent_id=bottom.id)) == [
        "CATEGORY_CYCLE"
    ]
    assert await rejected(engine, lambda conn: admin.move_category(conn, top.id, parent_id=top.id)) == [
        "CATEGORY_CYCLE"
    ]
    assert await rejected(engine, lambda conn: admin.create_category(conn, name="Top Things")) == [
        "SLUG_TAKEN"
    ]
    async with engine.begin() as conn:
        moved = await admin.move_category(conn, bottom.id, parent_id=None, position=3)
    assert (moved.parent_id, moved.position) == (None, 3)
    # The database refuses a cycle whatever path writes it.
    with pytest.raises(DBAPIError, match=r"ck_category_no_cycle|own ancestor"):
        await sql(database_url, "UPDATE categories SET parent_id = :b WHERE id = :t", b=middle.id, t=top.id)


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("UPDATE product_variants SET stock = -1, reserved = 0", "ck_variant"),
        ("UPDATE product_variants SET reserved = stock + 1", "ck_variant_reserved_within_stock"),
        ("UPDATE product_variants SET price = -1", "ck_variant_price_not_negative"),
        (
            "INSERT INTO inventory_movements (variant_id, delta, quantity_after, reason)"
            " SELECT id, 1, 1, 'whatever' FROM product_variants",
            "ck_inventory_reason_known",
        ),
    ],
)
async def test_no_path_breaks_the_stock_and_price_invariants(
    database_url: str, statement: str, constraint: str
) -> None:
    with pytest.raises(DBAPIError, match=constraint):
        await sql(
            database_url,
            statement + " WHERE id = (SELECT min(id) FROM product_variants)" * ("UPDATE" in statement),
        )


async def test_concurrent_edits_race_to_one_outcome(database_url: str, behind_pooler: bool) -> None:
    engine = create_engine(database_url, pool_size=12, behind_pooler=behind_pooler)
    try:
        async with engine.begin() as conn:
            product = await admin.create_product(conn, name="Racing Kettle")
            variant = await admin.create_variant(
                conn, product_id=product.id, sku="RACE-1", name="Steel", price=10, stock=5
            )

        async def attempt(work) -> str:  # type: ignore[no-untyped-def]
            try:
                async with engine.begin() as conn:
                    await work(conn)
            except Rejected as rejected:
                return rejected.problems[0].code
            return "ok"

        taken = await asyncio.gather(
            *(attempt(lambda conn: admin.create_product(conn, name="Twin Lamp")) for _ in range(4))
        )
        assert sorted(taken) == ["SLUG_TAKEN", "SLUG_TAKEN", "SLUG_TAKEN", "ok"]
        sold = await asyncio.gather(
            *(
                attempt(lambda conn: admin.adjust_stock(conn, variant.id, delta=-1, reason="damaged"))
                for _ in range(8)
            )
        )
        assert sorted(sold) == ["INVALID_QUANTITY"] * 3 + ["ok"] * 5
    finally:
        await engine.dispose()
    ((stock, movements),) = await sql(
        database_url,
        "SELECT stock, (SELECT count(*) FROM inventory_movements WHERE variant_id = :id) FROM product_variants WHERE id = :id",
        id=variant.id,
    )
    assert (stock, movements) == (0, 6)  # the initial 5, then five units damaged
