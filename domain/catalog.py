"""The catalog as the GraphQL layer reads it: rows, queries and the batched look-ups behind loaders.

Catalog reads have no rules beyond the query itself, so these are the repository's own functions;
naming them here keeps every layer above domain/ away from the repositories (see pyproject.toml).
"""

from __future__ import annotations

from models.catalog_repository import (
    CategoryRow,
    ProductRow,
    VariantRow,
    all_categories,
    categories_by_ids,
    products_by_ids,
    products_by_slugs,
    variants_by_ids,
    variants_by_product_ids,
)
from models.compiled import pooled_reads
from models.product_json import Part, product_json_by_slug
from models.product_page import (
    ProductJsonPage,
    ProductOrder,
    ProductPage,
    ProductQuery,
    product_page,
    product_page_json,
    search_words,
)

__all__ = [
    "CategoryRow",
    "Part",
    "ProductJsonPage",
    "ProductOrder",
    "ProductPage",
    "ProductQuery",
    "ProductRow",
    "VariantRow",
    "all_categories",
    "categories_by_ids",
    "pooled_reads",
    "product_json_by_slug",
    "product_page",
    "product_page_json",
    "products_by_ids",
    "products_by_slugs",
    "search_words",
    "variants_by_ids",
    "variants_by_product_ids",
]
