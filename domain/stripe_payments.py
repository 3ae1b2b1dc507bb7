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
        params = await self._session_params(request)
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

    async def _session_params(self, request: CheckoutRequest) -> dict[str, Any]:
        """The session as Stripe expects totals: the lines at their prices, tax charged on top of
        them as a line of its own (our tax_rates computed it, domain.totals), shipping as a
        shipping option, and the discount as a one-off amount_off coupon for this order. So the
        session's amount_total is exactly the order's total."""
        params: dict[str, Any] = {
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
        if request.tax > 0:
            params["line_items"].append(
                {
                    "price_data": {
                        "currency": request.currency,
                        "unit_amount": request.tax,
                        "product_data": {"name": request.tax_name},
                    },
                    "quantity": 1,
                }
            )
        if request.shipping_name is not None:
            params["shipping_options"] = [
                {
                    "shipping_rate_data": {
                        "type": "fixed_amount",
                        "fixed_amount": {"amount": request.shipping, "currency": request.currency},
                        "display_name": request.shipping_name,
                    }
                }
            ]
        if request.discount > 0:
            try:
                coupon = await self._client.v1.coupons.create_async(
                    {
                        "amount_off": request.discount,
                        "currency": request.currency,
                        "duration": "once",
                        "max_redemptions": 1,
                        "name": f"Order {request.number} discount",
                    },
                    {"idempotency_key": f"coupon-{request.public_id}"},
                )
            except stripe.StripeError as error:
                logger.warning("Stripe refused or failed to create a coupon: %s", type(error).__name__)
                raise PaymentProviderUnavailable from error
            params["discounts"] = [{"coupon": coupon.id}]
        return params

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
