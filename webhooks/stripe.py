"""POST /webhooks/stripe: verify an event's signature with the Stripe SDK, then apply it."""

from __future__ import annotations

import logging
import time

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse

from core import metrics
from domain.payment_events import apply_payment_event, event_identity
from domain.payments import PaymentProvider, PaymentProviderUnavailable

logger = logging.getLogger(__name__)

SIGNATURE_TOLERANCE = 300


async def receive_event(
    engine: AsyncEngine,
    secret: str | None,
    body: bytes,
    signature: str | None,
    payments: PaymentProvider | None = None,
) -> JSONResponse:
    """Everything the route does once it has the raw body; the sandbox sends its events through here too."""
    import stripe  # about 30 MB: loaded with the first event rather than in every process

    try:
        payload = body.decode("utf-8")
        stripe.WebhookSignature.verify_header(payload, signature, secret, SIGNATURE_TOLERANCE)
        # The SDK refuses timestamps older than the tolerance; one as far in the future is no better.
        stamp = _timestamp(signature)
        if stamp is None or stamp > time.time() + SIGNATURE_TOLERANCE:
            raise ValueError("timestamp in the future")
        event = orjson.loads(payload)
        identity = event_identity(event)
        if identity is None:
            raise ValueError("not an event")
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
        metrics.webhook_event("unverified", "refused")
        return JSONResponse({"error": "invalid signature or payload"}, status_code=400)
    try:
        outcome = await apply_payment_event(engine, event, payments)
    except (SQLAlchemyError, OSError, PaymentProviderUnavailable) as error:
        # Nothing was applied (one transaction), or a late payment's refund is still due;
        # Stripe retries on a 5xx.
        logger.error("could not apply payment event %s: %s", identity[0], type(error).__name__)
        metrics.webhook_event(event.get("type"), "unavailable")
        return JSONResponse({"error": "temporarily unavailable"}, status_code=503)
    metrics.webhook_event(event.get("type"), str(outcome))
    return JSONResponse({"received": True, "outcome": outcome})


def _timestamp(signature: str | None) -> int | None:
    """The `t=` of a Stripe-Signature header (already verified, so well formed)."""
    for part in (signature or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            return int(value)
    return None


async def stripe_webhook(request: Request) -> JSONResponse:
    body = await request.body()  # at most core.http_guard's MAX_BODY_BYTES, as for every route
    state = request.app.state
    return await receive_event(
        state.engine,
        state.webhook_secret,
        body,
        request.headers.get("stripe-signature"),
        state.payments,
    )
