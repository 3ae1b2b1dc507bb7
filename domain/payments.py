"""Payment providers: Stripe Checkout (domain.stripe_payments) or the local sandbox.

Neither is ever called inside a database transaction. Every call that creates something
carries an idempotency key derived from the order, so a retry cannot create it twice.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class PaymentProviderUnavailable(Exception):
    """The provider could not be reached or refused to answer; nothing was created there."""


class RefundRefused(Exception):
    """The provider answered and refused the refund (already refunded, nothing to refund, ...)."""


@dataclass(slots=True, frozen=True)
class CheckoutLine:
    name: str
    unit_amount: int
    quantity: int


@dataclass(slots=True, frozen=True)
class CheckoutRequest:
    order_id: int
    public_id: uuid.UUID
    number: int
    email: str
    currency: str
    lines: tuple[CheckoutLine, ...]
    success_url: str
    cancel_url: str
    expires_at: datetime
    # Besides the lines (domain.order_totals.payment_extras): the order's discount, shipping and the
    # tax charged on top of the prices (0 when they include it); total is what the session must come to.
    discount: int = 0
    shipping: int = 0
    shipping_name: str | None = None
    tax: int = 0
    tax_name: str = "Tax"
    total: int = 0


@dataclass(slots=True, frozen=True)
class PaymentSession:
    id: str
    url: str


class PaymentProvider(Protocol):
    is_sandbox: bool

    async def open_checkout(self, request: CheckoutRequest) -> PaymentSession: ...

    async def refund(self, payment_intent_id: str, order_public_id: uuid.UUID) -> str: ...

    async def expire_checkout(self, session_id: str) -> None: ...

    async def retrieve_checkout(self, session_id: str) -> dict[str, Any]:
        """The Checkout Session as the provider has it now, in Stripe's shape (a missed webhook's
        second look); raises PaymentProviderUnavailable."""
        ...

    async def close(self) -> None: ...


def checkout_idempotency_key(public_id: uuid.UUID) -> str:
    return f"checkout-session-{public_id}"


def refund_idempotency_key(public_id: uuid.UUID) -> str:
    return f"refund-{public_id}"


class SandboxPayments:
    """Stands in for Stripe without a key: sessions are pages of this server."""

    is_sandbox = True

    def __init__(self, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")

    async def open_checkout(self, request: CheckoutRequest) -> PaymentSession:
        # Derived from the order like an idempotency key: a retry gets the same session.
        digest = hashlib.sha256(checkout_idempotency_key(request.public_id).encode()).hexdigest()[:24]
        session_id = f"cs_sandbox_{digest}"
        return PaymentSession(id=session_id, url=f"{self.public_url}/sandbox/checkout/{session_id}")

    async def refund(self, payment_intent_id: str, order_public_id: uuid.UUID) -> str:
        digest = hashlib.sha256(refund_idempotency_key(order_public_id).encode()).hexdigest()[:24]
        return f"re_sandbox_{digest}"

    async def expire_checkout(self, session_id: str) -> None:
        return None

    async def retrieve_checkout(self, session_id: str) -> dict[str, Any]:
        # The sandbox's Pay delivers its event in the same request, so it never misses one: its
        # sessions stay open as far as this lookup knows, and the order's reservation ends them.
        return {"id": session_id, "object": "checkout.session", "status": "open", "payment_status": "unpaid"}

    async def close(self) -> None:
        return None
