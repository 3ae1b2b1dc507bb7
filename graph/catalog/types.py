"""Catalog types. Plain fields are filled from repository rows; nested reads go through loaders."""

from __future__ import annotations

import asyncio
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from core.catalog_cache import note_product
from domain import catalog
from domain.attributes import FacetCounts
from domain.catalog import CategoryRow, ProductOrder, ProductQuery, ProductRow, VariantRow
from graph.catalog.attribute_types import (
    Attribute,
    AttributeFacet,
    FacetValueCount,
    PriceBucket,
    SelectedAttribute,
    selected_attributes,
)
from graph.catalog.page_json import ConnectionPlan, product_connection_json
from graph.common.types import Money, Node, PageInfo
from graph.context import Info
from graph.execution import READ_AHEAD
from graph.ids import to_global_id
from graph.pagination import decode_cursor, encode_cursor, page_size
from graph.reviews.types import Rating, ReviewConnection, ReviewSort, review_connection
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
        # The answer shows this variant's stock: a stock change drops it (core.catalog_cache).
        # (Product.inStock and prices live on the product row: their changes drop everything.)
        note_product(row.product_id)
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
    async def attributes(self, info: Info) -> list[SelectedAttribute]:
        return selected_attributes(await info.context.loaders.variant_attributes.load(self.pk))

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
            in_stock=row.in_stock,
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

    @strawberry.field
    async def rating(self, info: Info) -> Rating:
        return Rating.from_row(await info.context.loaders.product_rating.load(self.pk))

    @strawberry.field(description="Shown reviews, newest first unless sorted otherwise.")
    async def reviews(
        self, info: Info, first: int | None = None, after: str | None = None, sort: ReviewSort | None = None
    ) -> ReviewConnection:
        return await review_connection(info, self.pk, sort, first, after)

    @strawberry.field
    async def attributes(self, info: Info) -> list[SelectedAttribute]:
        return selected_attributes(await info.context.loaders.product_attributes.load(self.pk))

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


@strawberry.type(
    description=(
        "Products whose own category this is (a product in a sub-category counts there, not in its parent)."
    )
)
class CategoryFacet:
    category: Category
    count: int


@strawberry.type(
    description="Counts for the products matching the connection's filter and search, ignoring its paging."
)
class ProductFacets:
    attributes: list[AttributeFacet]
    categories: list[CategoryFacet]
    price_buckets: list[PriceBucket]
    in_stock: int
    exact: bool = strawberry.field(
        default=True,
        description=(
            "False when the matches are many (above 2,000; 1,000 for a search): the counts are"
            " those of the first matches found, scaled to the estimated number of matches."
        ),
    )


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]
    page_info: PageInfo
    total_count: int
    counted_facets: strawberry.Private[ProductFacets | None] = None

    @strawberry.field
    def facets(self) -> ProductFacets:
        assert self.counted_facets is not None, "facets are counted when selected"
        return self.counted_facets


async def product_facets(info: Info, counts: FacetCounts) -> ProductFacets:
    """The counts with their attributes and categories, each kind read in one batch."""
    loaders = info.context.loaders
    attribute_ids = list(dict.fromkeys(value.attribute_id for value in counts.values))
    attribute_rows, category_rows = await asyncio.gather(
        loaders.attribute.load_many(attribute_ids),
        loaders.category.load_many([category_id for category_id, _ in counts.categories]),
    )
    attributes = {row.id: Attribute.from_row(row) for row in attribute_rows if row is not None}
    facets: dict[int, AttributeFacet] = {}
    for value in counts.values:
        attribute = attributes.get(value.attribute_id)
        shown = (
            next((item for item in attribute.values if item.pk == value.value_id), None)
            if attribute
            else None
        )
        if attribute is None or shown is None:
            continue
        facet = facets.setdefault(value.attribute_id, AttributeFacet(attribute=attribute, values=[]))
        facet.values.append(FacetValueCount(value=shown, count=value.count))
    currency = info.context.settings.currency
    return ProductFacets(
        attributes=list(facets.values()),
        categories=[
            CategoryFacet(category=Category.from_row(row), count=count)
            for row, (_, count) in zip(category_rows, counts.categories, strict=True)
            if row is not None
        ],
        price_buckets=[
            PriceBucket(
                min=Money(amount=bucket.min, currency=currency),
                max=Money(amount=bucket.max, currency=currency) if bucket.max is not None else None,
                count=bucket.count,
            )
            for bucket in counts.price_buckets
        ],
        in_stock=counts.in_stock,
        exact=counts.exact,
    )


@strawberry.enum
class ProductSort(Enum):
    RELEVANCE = "RELEVANCE"
    NEWEST = "NEWEST"
    NAME = "NAME"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    RATING = strawberry.enum_value(
        "RATING",
        description="Highest average rating first, then most reviews; products without reviews last.",
    )


_CURSOR_TYPES: dict[ProductOrder, tuple[type, ...]] = {
    ProductOrder.RELEVANCE: (int, datetime, int),  # tier, created_at, id
    ProductOrder.NEWEST: (datetime, int),
    ProductOrder.NAME: (str, int),
    ProductOrder.PRICE_ASC: (int, int),
    ProductOrder.PRICE_DESC: (int, int),
    ProductOrder.RATING: (int, int),
}


def page_request(
    query: ProductQuery, sort: ProductSort | None, first: int | None, after: str | None
) -> tuple[ProductOrder, int, tuple[Any, ...] | None, str]:
    """The order, page size, cursor's keys and cursor kind of a page; PublicError when refused."""
    limit = page_size(first)
    order = ProductOrder(sort.value) if sort else ProductOrder.RELEVANCE
    if order is ProductOrder.RELEVANCE and not query.search_words:
        order = ProductOrder.NEWEST
    cursor_kind = f"products:{order.value}"
    after_key = decode_cursor(after, cursor_kind, _CURSOR_TYPES[order]) if after else None
    return order, limit, after_key, cursor_kind


async def product_connection(
    info: Info,
    query: ProductQuery,
    sort: ProductSort | None,
    first: int | None,
    after: str | None,
    json_plan: ConnectionPlan | None = None,
) -> ProductConnection:
    """A page of products for any list of them: the root query and a category's products.

    With a `json_plan` (graph.catalog.page_json) the connection comes back as its JSON text,
    which the executor puts in the answer as it is.
    """
    order, limit, after_key, cursor_kind = page_request(query, sort, first, after)
    if json_plan is not None:
        engine = info.context.catalog_engine
        assert engine is not None
        built = await product_connection_json(engine, json_plan, query, order, limit, after_key, cursor_kind)
        return built  # type: ignore[return-value]

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
            with_facets="facets" in wanted,
        )

    currency = info.context.settings.currency
    # Cursors only when asked for (an edge's cursor or the page info): a page of 20 spent more
    # time encoding them than completing the products' names.
    with_cursors = "pageInfo" in wanted or "cursor" in selected_names(info, ("edges",))
    edges = [
        ProductEdge(
            cursor=encode_cursor(cursor_kind, key) if with_cursors else "",
            node=Product.from_row(row, currency),
        )
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
        counted_facets=await product_facets(info, page.facets) if page.facets is not None else None,
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
