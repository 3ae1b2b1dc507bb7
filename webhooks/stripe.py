"""POST /webhooks/stripe: verify an event's signature with the Stripe SDK, then apply it."""

from __future__ import annotations

import logging

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse

from core.http_guard import MAX_BODY_BYTES
from domain.payment_events import apply_payment_event
from domain.payments import PaymentProvider, PaymentProviderUnavailable

logger = logging.getLogger(__name__)

MAX_EVENT_BYTES = MAX_BODY_BYTES
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
        event = orjson.loads(payload)
        if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
            raise ValueError("not an event")
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
        return JSONResponse({"error": "invalid signature or payload"}, status_code=400)
    try:
        outcome = await apply_payment_event(engine, event, payments)
    except (SQLAlchemyError, OSError, PaymentProviderUnavailable) as error:
        # Nothing was applied (one transaction), or a late payment's refund is still due;
        # Stripe retries on a 5xx.
        logger.error("could not apply payment event %s: %s", event.get("id"), type(error).__name__)
        return JSONResponse({"error": "temporarily unavailable"}, status_code=503)
    return JSONResponse({"received": True, "outcome": outcome})


async def stripe_webhook(request: Request) -> JSONResponse:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_EVENT_BYTES):
        return JSONResponse({"error": "payload too large"}, status_code=413)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_EVENT_BYTES:
            return JSONResponse({"error": "payload too large"}, status_code=413)
    state = request.app.state
    return await receive_event(
        state.engine,
        state.webhook_secret,
        bytes(body),
        request.headers.get("stripe-signature"),
        state.payments,
    )
