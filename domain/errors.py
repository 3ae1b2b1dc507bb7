"""Business failures: one convention for every domain.

A `Problem` is what a caller did wrong or what stands in the way, with a stable code, a message
for people and the field at fault as a path in domain terms (snake_case; the GraphQL layer
presents it in its own casing). Functions that can fail return their problems; a function that
must roll its transaction back raises `Rejected` with them. The codes are `StrEnum`s, one per
domain, and reach clients as `UserError.code` (a plain String in the public contract).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class AccountCode(StrEnum):
    """accountRegister, tokenCreate, tokenRefresh, logout."""

    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_NAME = "INVALID_NAME"
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105 (a code, not a password)
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_TOKEN = "INVALID_TOKEN"  # noqa: S105 (a code, not a token)
    # Self-service (issue 17).
    WRONG_PASSWORD = "WRONG_PASSWORD"  # noqa: S105 (a code, not a password)
    SAME_EMAIL = "SAME_EMAIL"
    ALREADY_VERIFIED = "ALREADY_VERIFIED"
    NOT_FOUND = "NOT_FOUND"
    INVALID_ADDRESS = "INVALID_ADDRESS"
    TOO_MANY_ADDRESSES = "TOO_MANY_ADDRESSES"


class CartCode(StrEnum):
    """cartCreate, cartLinesAdd, cartLinesUpdate, cartLinesRemove."""

    CART_NOT_FOUND = "CART_NOT_FOUND"
    NOT_FOUND = "NOT_FOUND"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    OUT_OF_STOCK = "OUT_OF_STOCK"


class CheckoutCode(StrEnum):
    """checkoutCreate (with PaymentCode and LimitCode)."""

    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_ADDRESS = "INVALID_ADDRESS"
    INVALID_URL = "INVALID_URL"
    CART_NOT_FOUND = "CART_NOT_FOUND"
    CART_EMPTY = "CART_EMPTY"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    ORDER_TOO_LARGE = "ORDER_TOO_LARGE"
    LINE_QUANTITY_LIMIT = "LINE_QUANTITY_LIMIT"
    ORDER_QUANTITY_LIMIT = "ORDER_QUANTITY_LIMIT"
    TOO_MANY_OPEN_ORDERS = "TOO_MANY_OPEN_ORDERS"
    STOCK_SHARE_LIMIT = "STOCK_SHARE_LIMIT"
    # Totals (issue 15): shipping method, VAT number, billing address; codes as in DiscountCode.
    NO_SHIPPING_METHOD = "NO_SHIPPING_METHOD"
    SHIPPING_METHOD_NOT_AVAILABLE = "SHIPPING_METHOD_NOT_AVAILABLE"
    INVALID_VAT_NUMBER = "INVALID_VAT_NUMBER"
    INVALID_BILLING_ADDRESS = "INVALID_BILLING_ADDRESS"

    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    ADDRESS_NOT_FOUND = "ADDRESS_NOT_FOUND"


class DiscountCode(StrEnum):
    """cartDiscountCodeApply, cartDiscountCodeRemove, and checkoutCreate with a code on the cart."""

    CART_NOT_FOUND = "CART_NOT_FOUND"
    DISCOUNT_CODE_NOT_FOUND = "DISCOUNT_CODE_NOT_FOUND"
    DISCOUNT_CODE_INACTIVE = "DISCOUNT_CODE_INACTIVE"
    DISCOUNT_CODE_EXPIRED = "DISCOUNT_CODE_EXPIRED"
    DISCOUNT_CODE_NOT_YET_VALID = "DISCOUNT_CODE_NOT_YET_VALID"
    DISCOUNT_CODE_MINIMUM_NOT_MET = "DISCOUNT_CODE_MINIMUM_NOT_MET"
    DISCOUNT_CODE_NOT_APPLICABLE = "DISCOUNT_CODE_NOT_APPLICABLE"
    DISCOUNT_CODE_USED_UP = "DISCOUNT_CODE_USED_UP"
    DISCOUNT_CODE_LIMIT_PER_CUSTOMER = "DISCOUNT_CODE_LIMIT_PER_CUSTOMER"


class TotalsStaffCode(StrEnum):
    """Staff edits of shipping zones and methods, tax rates and discount codes."""

    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    DUPLICATE = "DUPLICATE"


class OrderCode(StrEnum):
    """orderCancel, orderUpdateStatus, orderRefund."""

    NOT_FOUND = "NOT_FOUND"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    TRACKING_NUMBER_REQUIRED = "TRACKING_NUMBER_REQUIRED"


class PaymentCode(StrEnum):
    """The payment provider's failures, in checkoutCreate, orderCancel and orderRefund."""

    PAYMENT_PROVIDER_UNAVAILABLE = "PAYMENT_PROVIDER_UNAVAILABLE"
    REFUND_FAILED = "REFUND_FAILED"


class JobCode(StrEnum):
    """jobRetry (staff)."""

    NOT_FOUND = "NOT_FOUND"


class ReviewCode(StrEnum):
    """reviewSubmit, reviewHide (staff)."""

    NOT_FOUND = "NOT_FOUND"
    NOT_PURCHASED = "NOT_PURCHASED"
    INVALID_RATING = "INVALID_RATING"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"


class CatalogCode(StrEnum):
    """Staff catalog operations (domain.catalog_admin): products, variants, categories, stock, attributes."""

    NOT_FOUND = "NOT_FOUND"
    INVALID_NAME = "INVALID_NAME"
    INVALID_SLUG = "INVALID_SLUG"
    SLUG_TAKEN = "SLUG_TAKEN"
    INVALID_DESCRIPTION = "INVALID_DESCRIPTION"
    INVALID_IMAGE = "INVALID_IMAGE"
    TOO_MANY_IMAGES = "TOO_MANY_IMAGES"
    CATEGORY_NOT_FOUND = "CATEGORY_NOT_FOUND"
    CATEGORY_CYCLE = "CATEGORY_CYCLE"
    CATEGORY_NOT_EMPTY = "CATEGORY_NOT_EMPTY"
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    INVALID_SKU = "INVALID_SKU"
    SKU_TAKEN = "SKU_TAKEN"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_POSITION = "INVALID_POSITION"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    STOCK_BELOW_RESERVED = "STOCK_BELOW_RESERVED"
    INVALID_REASON = "INVALID_REASON"
    INVALID_NOTE = "INVALID_NOTE"
    ATTRIBUTE_NOT_FOUND = "ATTRIBUTE_NOT_FOUND"
    ATTRIBUTE_VALUE_NOT_FOUND = "ATTRIBUTE_VALUE_NOT_FOUND"
    INVALID_INPUT_TYPE = "INVALID_INPUT_TYPE"
    TOO_MANY_VALUES = "TOO_MANY_VALUES"
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"


class LimitCode(StrEnum):
    """Rate limits, on every mutation that counts attempts."""

    RATE_LIMITED = "RATE_LIMITED"


CODES: tuple[type[StrEnum], ...] = (
    AccountCode,
    CartCode,
    CheckoutCode,
    DiscountCode,
    TotalsStaffCode,
    OrderCode,
    PaymentCode,
    JobCode,
    ReviewCode,
    CatalogCode,
    LimitCode,
)


def all_codes() -> list[str]:
    """Every code a client may see in a userError, each once."""
    return sorted({code.value for codes in CODES for code in codes})


@dataclass(slots=True, frozen=True)
class Problem:
    code: StrEnum
    message: str
    field: tuple[str, ...] | None = None


class Rejected(Exception):
    """Raised inside a transaction to roll it back and report the problems."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(", ".join(problem.code for problem in self.problems))
