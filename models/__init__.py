"""Tables (SQLModel) and the repositories that read and write them.

The SQLModel classes are the one declaration of every table the migrations create, with their
columns, server defaults, keys, indexes and check constraints (tests/test_models_match_migrations.py
compares them with a database migrated to head). What a table class cannot hold lives in the
migrations alone: the pg_trgm extension, and the trigger functions that keep `search_terms` and
announce catalog changes (0001, 0004_catalog_notify).
"""

from models.accounts import AccountToken, CustomerAddress, RefreshToken, User
from models.carts import Cart, CartLine
from models.catalog import Category, Product, ProductVariant, SearchTerm
from models.mail import MailMessage
from models.orders import Order, OrderLine, OrderStatusChange, ProcessedPaymentEvent
from models.rate_limits import RateLimitCounter

__all__ = [
    "AccountToken",
    "Cart",
    "CartLine",
    "Category",
    "CustomerAddress",
    "MailMessage",
    "Order",
    "OrderLine",
    "OrderStatusChange",
    "ProcessedPaymentEvent",
    "Product",
    "ProductVariant",
    "RateLimitCounter",
    "RefreshToken",
    "SearchTerm",
    "User",
]
