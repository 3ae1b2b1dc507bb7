"""Loading the deterministic demo catalog. Idempotent: rows that exist are left alone."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from models.catalog import Category, Product, ProductVariant
from models.seed_data import SeedCatalog

categories = Category.__table__
products = Product.__table__
variants = ProductVariant.__table__


async def catalog_is_empty(conn: AsyncConnection) -> bool:
    return not (await conn.execute(select(func.count()).select_from(products))).scalar_one()


async def load_catalog(conn: AsyncConnection, catalog: SeedCatalog) -> int:
    """Insert what is missing of the catalog; return how many products were added."""
    category_ids: dict[str, int] = {}
    for category in catalog.categories:
        await conn.execute(
            insert(categories)
            .values(
                slug=category.slug,
                name=category.name,
                parent_id=category_ids.get(category.parent_slug) if category.parent_slug else None,
                position=category.position,
            )
            .on_conflict_do_nothing(index_elements=["slug"])
        )
        category_id = (
            await conn.execute(select(categories.c.id).where(categories.c.slug == category.slug))
        ).scalar_one()
        category_ids[category.slug] = category_id

    existing = set((await conn.execute(select(products.c.slug))).scalars())
    new_products = [product for product in catalog.products if product.slug not in existing]
    if not new_products:
        return 0
    await conn.execute(
        insert(products),
        [
            {
                "slug": product.slug,
                "name": product.name,
                "description": product.description,
                "category_id": category_ids[product.category_slug],
                "images": [{"url": image.url, "alt": image.alt} for image in product.images],
                "created_at": product.created_at,
            }
            for product in new_products
        ],
    )
    inserted = await conn.execute(
        select(products.c.slug, products.c.id).where(
            products.c.slug.in_([product.slug for product in new_products])
        )
    )
    product_ids = {row.slug: row.id for row in inserted}
    await conn.execute(
        insert(variants).on_conflict_do_nothing(index_elements=["sku"]),
        [
            {
                "product_id": product_ids[product.slug],
                "sku": variant.sku,
                "name": variant.name,
                "price": variant.price,
                "stock": variant.stock,
                "position": variant.position,
            }
            for product in new_products
            for variant in product.variants
        ],
    )
    return len(new_products)
