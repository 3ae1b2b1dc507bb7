"""Catalog types. Plain fields are filled from repository rows; nested reads go through loaders."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from domain import catalog
from domain.catalog import CategoryRow, ProductOrder, ProductQuery, ProductRow, VariantRow
from graph.common.types import Money, Node, PageInfo
from graph.context import Info
from graph.execution import READ_AHEAD
from graph.ids import to_global_id
from graph.pagination import decode_cursor, encode_cursor, page_size
from graph.selection import selected_names


@strawberry.type
class PriceRange:
    min: Money
    max: Money


@strawberry.type
class ProductImage:
    url: str
    alt: str | None


@strawberry.type
class ProductVariant(Node):
    id: strawberry.ID
    sku: str
    name: str
    price: Money
    quantity_available: int = strawberry.field(
        description="Units that can be bought now: stock less live checkout reservations."
    )
    pk: strawberry.Private[int]
    product_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: VariantRow, currency: str) -> ProductVariant:
        return cls(
            id=strawberry.ID(to_global_id("ProductVariant", row.id)),
            sku=row.sku,
            name=row.name,
            price=Money(amount=row.price, currency=currency),
            quantity_available=max(row.quantity_available, 0),
            pk=row.id,
            product_id=row.product_id,
        )

    @strawberry.field
    async def product(self, info: Info) -> Product:
        row = await info.context.loaders.product.load(self.product_id)
        if row is None:
            raise LookupError(f"variant {self.pk} has no visible product")
        return Product.from_row(row, info.context.settings.currency)


@strawberry.type
class Product(Node):
    id: strawberry.ID
    slug: str
    name: str
    description: str
    images: list[ProductImage]
    price_range: PriceRange
    in_stock: bool
    pk: strawberry.Private[int]
    category_id: strawberry.Private[int | None]
    # Filled by a list of products that read them ahead for the whole page.
    preloaded_variants: strawberry.Private[list[ProductVariant] | None] = None
    preloaded_category: strawberry.Private[Category | None] = None

    @classmethod
    def from_row(cls, row: ProductRow, currency: str) -> Product:
        return cls(
            id=strawberry.ID(to_global_id("Product", row.id)),
            slug=row.slug,
            name=row.name,
            description=row.description,
            images=[ProductImage(url=image["url"], alt=image.get("alt")) for image in row.images],
            price_range=PriceRange(
                min=Money(amount=row.min_price, currency=currency),
                max=Money(amount=row.max_price, currency=currency),
            ),
            in_stock=row.quantity_available > 0,
            pk=row.id,
            category_id=row.category_id,
        )

    # A value read ahead is taken as it is (by graph.execution, without calling the resolver);
    # otherwise the resolvers hand back the loader's awaitable.
    @strawberry.field(metadata={READ_AHEAD: "preloaded_category"})
    def category(self, info: Info) -> Category | None:
        if self.preloaded_category is not None or self.category_id is None:
            return self.preloaded_category
        return self._load_category(info)  # type: ignore[return-value]

    @strawberry.field(metadata={READ_AHEAD: "preloaded_variants"})
    def variants(self, info: Info) -> list[ProductVariant]:
        if self.preloaded_variants is not None:
            return self.preloaded_variants
        return self._load_variants(info)  # type: ignore[return-value]

    async def _load_category(self, info: Info) -> Category | None:
        assert self.category_id is not None
        row = await info.context.loaders.category.load(self.category_id)
        return Category.from_row(row) if row else None

    async def _load_variants(self, info: Info) -> list[ProductVariant]:
        rows = await info.context.loaders.variants_of_product.load(self.pk)
        currency = info.context.settings.currency
        return [ProductVariant.from_row(row, currency) for row in rows]


@strawberry.type
class ProductEdge:
    cursor: str
    node: Product


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]
    page_info: PageInfo
    total_count: int


@strawberry.enum
class ProductSort(Enum):
    RELEVANCE = "RELEVANCE"
    NEWEST = "NEWEST"
    NAME = "NAME"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"


_CURSOR_TYPES: dict[ProductOrder, tuple[type, ...]] = {
    ProductOrder.RELEVANCE: (float, int),
    ProductOrder.NEWEST: (datetime, int),
    ProductOrder.NAME: (str, int),
    ProductOrder.PRICE_ASC: (int, int),
    ProductOrder.PRICE_DESC: (int, int),
}


async def product_connection(
    info: Info, query: ProductQuery, sort: ProductSort | None, first: int | None, after: str | None
) -> ProductConnection:
    """A page of products for any list of them: the root query and a category's products."""
    limit = page_size(first)
    order = ProductOrder(sort.value) if sort else ProductOrder.RELEVANCE
    if order is ProductOrder.RELEVANCE and not query.search_words:
        order = ProductOrder.NEWEST
    cursor_kind = f"products:{order.value}"
    after_key = decode_cursor(after, cursor_kind, _CURSOR_TYPES[order]) if after else None

    wanted = selected_names(info)
    node_fields = selected_names(info, ("edges", "node"))
    async with info.context.catalog_engine.connect() as conn:  # type: ignore[union-attr]
        page = await catalog.product_page(
            conn,
            query,
            order,
            limit,
            after_key,
            with_total="totalCount" in wanted,
            with_variants="variants" in node_fields,
            with_category="category" in node_fields,
        )

    currency = info.context.settings.currency
    edges = [
        ProductEdge(cursor=encode_cursor(cursor_kind, key), node=Product.from_row(row, currency))
        for row, key in zip(page.rows, page.sort_keys, strict=True)
    ]
    if page.variants is not None:
        for edge, variant_rows in zip(edges, page.variants, strict=True):
            edge.node.preloaded_variants = [ProductVariant.from_row(row, currency) for row in variant_rows]
    if page.categories is not None:
        for edge, category_row in zip(edges, page.categories, strict=True):
            edge.node.preloaded_category = Category.from_row(category_row) if category_row else None
    return ProductConnection(
        edges=edges,
        page_info=PageInfo.of(
            [edge.cursor for edge in edges],
            has_next_page=page.has_next_page,
            after_given=after_key is not None,
        ),
        total_count=page.total_count or 0,
    )


@strawberry.type
class Category(Node):
    id: strawberry.ID
    name: str
    slug: str
    pk: strawberry.Private[int]
    parent_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: CategoryRow) -> Category:
        return cls(
            id=strawberry.ID(to_global_id("Category", row.id)),
            name=row.name,
            slug=row.slug,
            pk=row.id,
            parent_id=row.parent_id,
        )

    @strawberry.field
    async def parent(self, info: Info) -> Category | None:
        if self.parent_id is None:
            return None
        row = await info.context.loaders.category.load(self.parent_id)
        return Category.from_row(row) if row else None

    @strawberry.field(description="Products of this category and its sub-categories, newest first.")
    async def products(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> ProductConnection:
        return await product_connection(info, ProductQuery(category_slug=self.slug), None, first, after)
