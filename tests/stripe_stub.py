"""A stub of Stripe's HTTP API on loopback, for the real `stripe` SDK to talk to, and
Stripe's webhook signing scheme, written here independently of the application's code.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

WEBHOOK_SECRET = "whsec_test_secret_for_the_suite"


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]


@dataclass
class StripeStub:
    requests: list[RecordedRequest] = field(default_factory=list)
    fail_next: int = 0
    refuse_refunds: bool = False
    _answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # Checkout Sessions created, by id, as GET /v1/checkout/sessions/{id} answers them.
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Coupons created, by id (amount_off ones, as checkout's discounts use them).
    coupons: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def sessions_created(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"]

    def complete_session(self, session_id: str, payment_intent: str) -> dict[str, Any]:
        """The shopper paid: the session is complete, whether or not its webhook is delivered."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid", payment_intent=payment_intent)
        return session

    def sessions_retrieved(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "GET" and r.path.startswith("/v1/checkout/sessions/")]

    def refunds_created(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/refunds"]

    async def _handle(self, request: Request) -> Response:
        params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        recorded = RecordedRequest(request.method, request.url.path, dict(request.headers), params)
        self.requests.append(recorded)
        if self.fail_next > 0:
            self.fail_next -= 1
            return JSONResponse({"error": {"type": "api_error", "message": "stub failure"}}, status_code=500)
        key = recorded.headers.get("idempotency-key")
        if key and key in self._answers:
            status, body = self._answers[key]
            return JSONResponse(body, status_code=status, headers={"idempotent-replayed": "true"})
        status, body = self._answer(recorded)
        if key:
            self._answers[key] = (status, body)
        return JSONResponse(body, status_code=status)

    def _answer(self, request: RecordedRequest) -> tuple[int, dict[str, Any]]:
        number = next(self._ids)
        params = request.params
        if request.path == "/v1/checkout/sessions":
            total = 0
            index = 0
            while f"line_items[{index}][quantity]" in params:
                total += int(params[f"line_items[{index}][quantity]"]) * int(
                    params[f"line_items[{index}][price_data][unit_amount]"]
                )
                index += 1
            # As Stripe sums a session: the lines, less the coupon (never below zero), plus shipping.
            coupon = self.coupons.get(params.get("discounts[0][coupon]", ""), {})
            total = max(0, total - int(coupon.get("amount_off", 0)))
            total += int(params.get("shipping_options[0][shipping_rate_data][fixed_amount][amount]", "0"))
            session_id = f"cs_test_stub{number}"
            self.sessions[session_id] = {
                "id": session_id,
                "object": "checkout.session",
                "url": f"https://checkout.stripe.test/c/pay/{session_id}",
                "amount_total": total,
                "currency": params.get("line_items[0][price_data][currency]"),
                "client_reference_id": params.get("client_reference_id"),
                "metadata": {"order_id": params.get("metadata[order_id]")},
                "expires_at": int(params.get("expires_at", "0")),
                "payment_status": "unpaid",
                "status": "open",
                "mode": "payment",
            }
            return 200, dict(self.sessions[session_id])
        if request.path == "/v1/coupons":
            coupon_id = f"coupon_stub{number}"
            self.coupons[coupon_id] = {
                "id": coupon_id,
                "object": "coupon",
                "amount_off": int(params["amount_off"]),
                "currency": params.get("currency"),
                "duration": params.get("duration"),
                "max_redemptions": int(params.get("max_redemptions", "0")) or None,
            }
            return 200, dict(self.coupons[coupon_id])
        if request.method == "GET" and request.path.startswith("/v1/checkout/sessions/"):
            session = self.sessions.get(request.path.rsplit("/", 1)[-1])
            if session is None:
                return 404, {
                    "error": {"type": "invalid_request_error", "message": "No such checkout.session"}
                }
            return 200, session
        if request.path == "/v1/refunds":
            if self.refuse_refunds:
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "charge_already_refunded",
                        "message": "Charge has already been refunded.",
                    }
                }
            return 200, {
                "id": f"re_test_stub{number}",
                "object": "refund",
                "status": "succeeded",
                "payment_intent": params.get("payment_intent"),
            }
        if request.path.endswith("/expire"):
            session_id = request.path.split("/")[-2]
            if session_id in self.sessions and self.sessions[session_id]["status"] == "open":
                self.sessions[session_id]["status"] = "expired"
            return 200, {"id": session_id, "object": "checkout.session", "status": "expired", "url": None}
        return 404, {"error": {"type": "invalid_request_error", "message": "no such route in the stub"}}

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "DELETE"])])


def stripe_signature(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe sends: t=<unix time>,v1=<HMAC-SHA256 of "t.payload">."""
    stamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def event(event_type: str, data_object: dict[str, Any], event_id: str | None = None) -> str:
    return orjson.dumps(
        {
            "id": event_id
            or f"evt_test_{hashlib.sha256(orjson.dumps(data_object)).hexdigest()[:16]}_{time.time_ns()}",
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": int(time.time()),
            "livemode": False,
            "type": event_type,
            "data": {"object": data_object},
        }
    ).decode()
