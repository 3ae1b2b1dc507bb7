"""Attributes as the storefront reads them, and facet counts of a product list.

Reads without rules beyond their queries: the repositories' functions, named here so that the
GraphQL layer stays away from models/ (see domain.catalog).
"""

from __future__ import annotations

from models.attribute_repository import (
    AttributeRow,
    AttributeValueRow,
    SelectedRow,
    all_attributes,
    attributes_by_ids,
    selected_of_products,
    selected_of_variants,
)
from models.product_facets import (
    MAX_ATTRIBUTE_FILTERS,
    MAX_VALUES_PER_FILTER,
    FacetCounts,
    PriceBucketCount,
    ValueCount,
)

__all__ = [
    "MAX_ATTRIBUTE_FILTERS",
    "MAX_VALUES_PER_FILTER",
    "AttributeRow",
    "AttributeValueRow",
    "FacetCounts",
    "PriceBucketCount",
    "SelectedRow",
    "ValueCount",
    "all_attributes",
    "attributes_by_ids",
    "selected_of_products",
    "selected_of_variants",
]
