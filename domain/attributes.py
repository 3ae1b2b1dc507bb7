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

__all__ = [
    "AttributeRow",
    "AttributeValueRow",
    "SelectedRow",
    "all_attributes",
    "attributes_by_ids",
    "selected_of_products",
    "selected_of_variants",
]
