"""Tables (SQLModel) and the repositories that read and write them."""

from models.accounts import RefreshToken, User
from models.carts import Cart, CartLine
from models.catalog import Category, Product, ProductVariant

__all__ = ["Cart", "CartLine", "Category", "Product", "ProductVariant", "RefreshToken", "User"]
