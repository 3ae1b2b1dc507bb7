"""Root catalog queries: products, product, categories and node."""

from __future__ import annotations

import strawberry

from domain import catalog
from domain.attributes import MAX_ATTRIBUTE_FILTERS, MAX_VALUES_PER_FILTER
from domain.catalog import ProductQuery, search_words
from graph.catalog.attribute_types import AttributeFilter
from graph.catalog.page_json import connection_plan, product_json, product_plan
from graph.catalog.types import (
    Category,
    Product,
    ProductConnection,
    ProductSort,
    ProductVariant,
    product_connection,
)
from graph.common.types import Node
from graph.context import Info
from graph.errors import PublicError
from graph.ids import from_global_id
from graph.reviews.types import Review


@strawberry.input
class ProductFilter:
    search: str | None = strawberry.field(
        default=None, description="Full-text search over name and description, tolerant of typos."
    )
    category_slug: str | None = None
    min_price: int | None = strawberry.field(
        default=None, description="Lowest variant price at least this, in minor units."
    )
    max_price: int | None = strawberry.field(
        default=None, description="Lowest variant price at most this, in minor units."
    )
    in_stock: bool | None = None
    attributes: list[AttributeFilter] | None = strawberry.field(
        default=None,
        description="Every filter must match (AND across attributes, OR within one attribute's values).",
    )

    def to_query(self) -> ProductQuery:
        return ProductQuery(
            search_words=search_words(self.search or ""),
            category_slug=self.category_slug,
            min_price=self.min_price,
            max_price=self.max_price,
            in_stock=self.in_stock,
            attributes=attribute_filters(self.attributes or []),
        )


def attribute_filters(filters: list[AttributeFilter]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The filters as the domain takes them, each attribute once; over the caps: BAD_USER_INPUT."""
    merged: dict[str, list[str]] = {}
    for item in filters:
        merged.setdefault(item.attribute, []).extend(item.values)
    if len(merged) > MAX_ATTRIBUTE_FILTERS or any(
        len(values) > MAX_VALUES_PER_FILTER for values in merged.values()
    ):
        raise PublicError(
            f"Filter by at most {MAX_ATTRIBUTE_FILTERS} attributes,"
            f" each with at most {MAX_VALUES_PER_FILTER} values.",
            code="TOO_MANY_ITEMS",
        )
    # PostgreSQL text cannot hold NUL: such a slug names nothing, so it matches nothing.
    return tuple(
        (
            attribute if "\x00" not in attribute else "",
            tuple(dict.fromkeys(value for value in values if "\x00" not in value)),
        )
        for attribute, values in merged.items()
    )


@strawberry.type
class CatalogQuery:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        decoded = from_global_id(id)
        if decoded is None:
            return None
        type_name, pk = decoded
        loaders = info.context.loaders
        currency = info.context.settings.currency
        if type_name == "Product":
            product = await loaders.product.load(pk)
            return Product.from_row(product, currency) if product else None
        if type_name == "ProductVariant":
            variant = await loaders.variant.load(pk)
            return ProductVariant.from_row(variant, currency) if variant else None
        if type_name == "Category":
            category = await loaders.category.load(pk)
            return Category.from_row(category) if category else None
        if type_name == "Review":  # shown reviews only; a hidden one does not exist to the public
            review = await loaders.review.load(pk)
            return Review.from_row(review) if review else None
        return None

    @strawberry.field
    async def products(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ProductFilter | None = None,
        sort: ProductSort | None = None,
    ) -> ProductConnection:
        query = filter.to_query() if filter else ProductQuery()
        return await product_connection(info, query, sort, first, after, json_plan=connection_plan(info))

    @strawberry.field
    async def product(self, info: Info, slug: str) -> Product | None:
        template = product_plan(info)
        if template is not None:  # the product's JSON built by PostgreSQL, put in the answer as it is
            return await product_json(info, slug, template)  # type: ignore[return-value]
        row = await info.context.loaders.product_by_slug.load(slug)
        return Product.from_row(row, info.context.settings.currency) if row else None

    @strawberry.field
    async def categories(self, info: Info) -> list[Category]:
        async with info.context.catalog_engine.connect() as conn:  # type: ignore[union-attr]
            rows = await catalog.all_categories(conn)
        return [Category.from_row(row) for row in rows]
