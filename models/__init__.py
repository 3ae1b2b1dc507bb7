"""Tables (SQLModel) and the repositories that read and write them."""

from models.catalog import Category, Product, ProductVariant

__all__ = ["Category", "Product", "ProductVariant"]
