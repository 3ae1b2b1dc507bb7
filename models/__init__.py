"""Tables (SQLModel) and the repositories that read and write them.

The SQLModel classes are the one declaration of every table the migrations create, with their
columns, server defaults, keys, indexes and check constraints (tests/test_models_match_migrations.py
compares them with a database migrated to head). What a table class cannot hold lives in the
migrations alone: the pg_trgm extension, and the trigger functions that keep `search_terms` and
announce catalog changes (0001, 0004_catalog_notify), and the one that keeps products' ratings
(0011_reviews).
"""

from models.accounts import AccountToken, CustomerAddress, RefreshToken, User
from models.carts import Cart, CartLine
from models.catalog import Category, Product, ProductVariant, SearchTerm
from models.catalog_admin import (
    Attribute,
    AttributeValue,
    InventoryMovement,
    ProductAttributeValue,
    VariantAttributeValue,
)
from models.catalog_import_runs import CatalogImport
from models.mail import MailMessage
from models.orders import Order, OrderLine, OrderStatusChange, ProcessedPaymentEvent
from models.rate_limits import RateLimitCounter
from models.reviews import Review
from models.totals import (
    CartDiscountCode,
    DiscountCode,
    DiscountCodeUse,
    ShippingMethod,
    ShippingZone,
    TaxRate,
)

__all__ = [
    "AccountToken",
    "Attribute",
    "AttributeValue",
    "Cart",
    "CartDiscountCode",
    "CartLine",
    "CatalogImport",
    "Category",
    "CustomerAddress",
    "DiscountCode",
    "DiscountCodeUse",
    "InventoryMovement",
    "MailMessage",
    "Order",
    "OrderLine",
    "OrderStatusChange",
    "ProcessedPaymentEvent",
    "Product",
    "ProductAttributeValue",
    "ProductVariant",
    "RateLimitCounter",
    "RefreshToken",
    "Review",
    "SearchTerm",
    "ShippingMethod",
    "ShippingZone",
    "TaxRate",
    "User",
    "VariantAttributeValue",
]
