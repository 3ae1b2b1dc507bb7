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
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    ADDRESS_NOT_FOUND = "ADDRESS_NOT_FOUND"


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


class LimitCode(StrEnum):
    """Rate limits, on every mutation that counts attempts."""

    RATE_LIMITED = "RATE_LIMITED"


CODES: tuple[type[StrEnum], ...] = (
    AccountCode,
    CartCode,
    CheckoutCode,
    OrderCode,
    PaymentCode,
    JobCode,
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
