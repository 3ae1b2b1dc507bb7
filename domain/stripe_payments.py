"""Stripe Checkout through the official SDK.

Imported only when STRIPE_SECRET_KEY is set: the SDK adds about 30 MB to a server process.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import stripe

from domain.payments import (
    CheckoutRequest,
    PaymentProviderUnavailable,
    PaymentSession,
    RefundRefused,
    checkout_idempotency_key,
    refund_idempotency_key,
)

logger = logging.getLogger(__name__)


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

    async def retrieve_checkout(self, session_id: str) -> dict[str, Any]:
        try:
            session = await self._client.v1.checkout.sessions.retrieve_async(session_id)
        except stripe.StripeError as error:
            logger.warning("could not retrieve a checkout session: %s", type(error).__name__)
            raise PaymentProviderUnavailable from error
        return session.to_dict()

    async def close(self) -> None:
        await self._http.close_async()
