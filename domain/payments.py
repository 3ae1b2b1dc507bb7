"""Payment providers: Stripe Checkout through the official SDK, or the local sandbox.

Neither is ever called inside a database transaction. Every call that creates something
carries an idempotency key derived from the order, so a retry cannot create it twice.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import stripe

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


@dataclass(slots=True, frozen=True)
class PaymentSession:
    id: str
    url: str


class PaymentProvider(Protocol):
    is_sandbox: bool

    async def open_checkout(self, request: CheckoutRequest) -> PaymentSession: ...

    async def refund(self, payment_intent_id: str, order_public_id: uuid.UUID) -> str: ...

    async def expire_checkout(self, session_id: str) -> None: ...

    async def close(self) -> None: ...


def checkout_idempotency_key(public_id: uuid.UUID) -> str:
    return f"checkout-session-{public_id}"


def refund_idempotency_key(public_id: uuid.UUID) -> str:
    return f"refund-{public_id}"


class StripePayments:
    is_sandbox = False

    def __init__(self, secret_key: str, api_base: str | None = None, *, timeout: float = 20) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=2,
        )

    async def open_checkout(self, request: CheckoutRequest) -> PaymentSession:
        params = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": request.currency,
                        "unit_amount": line.unit_amount,
                        "product_data": {"name": line.name},
                    },
                    "quantity": line.quantity,
                }
                for line in request.lines
            ],
            "customer_email": request.email,
            "client_reference_id": str(request.order_id),
            "metadata": {"order_id": str(request.order_id), "order_number": str(request.number)},
            "payment_intent_data": {"metadata": {"order_id": str(request.order_id)}},
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": int(request.expires_at.timestamp()),
        }
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": checkout_idempotency_key(request.public_id)},
            )
        except stripe.StripeError as error:
            logger.warning("Stripe refused or failed to open a checkout session: %s", type(error).__name__)
            raise PaymentProviderUnavailable from error
        if not session.url:
            raise PaymentProviderUnavailable("Stripe returned a session without a URL")
        return PaymentSession(id=session.id, url=session.url)

    async def refund(self, payment_intent_id: str, order_public_id: uuid.UUID) -> str:
        try:
            refund = await self._client.v1.refunds.create_async(
                {"payment_intent": payment_intent_id},
                {"idempotency_key": refund_idempotency_key(order_public_id)},
            )
        except (stripe.InvalidRequestError, stripe.CardError) as error:
            raise RefundRefused(getattr(error, "user_message", None) or "the refund was refused") from error
        except stripe.StripeError as error:
            logger.warning("Stripe refund failed: %s", type(error).__name__)
            raise PaymentProviderUnavailable from error
        return refund.id

    async def expire_checkout(self, session_id: str) -> None:
        try:
            await self._client.v1.checkout.sessions.expire_async(session_id)
        except stripe.StripeError as error:
            # Best effort: the session may be complete or expired already.
            logger.info("could not expire checkout session: %s", type(error).__name__)

    async def close(self) -> None:
        await self._http.close_async()


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

    async def close(self) -> None:
        return None
