"""Tables (SQLModel) and the repositories that read and write them."""

from models.accounts import RefreshToken, User
from models.carts import Cart, CartLine
from models.catalog import Category, Product, ProductVariant
from models.mail import MailMessage
from models.rate_limits import RateLimitCounter

__all__ = [
    "Cart",
    "CartLine",
    "Category",
    "MailMessage",
    "Product",
    "ProductVariant",
    "RateLimitCounter",
    "RefreshToken",
    "User",
]
