"""The local payment sandbox: a stand-in for Stripe Checkout, on only where core.payment_mode allows.

Every page it serves says, first, that payments are simulated.

Its Pay button sends a Stripe-shaped `checkout.session.completed` event, signed with the
webhook secret exactly as Stripe signs, through the same verification and handling as a
real event (webhooks.stripe.receive_event).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from domain import order_reads as orders
from domain.order_reads import OrderRow
from domain.orders import OrderStatus
from webhooks.stripe import receive_event


def sign(payload: str, secret: str, timestamp: int) -> str:
    signature = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def session_event(event_type: str, order: OrderRow, **session_fields: Any) -> dict[str, Any]:
    created = int(time.time())
    return {
        "id": f"evt_sandbox_{secrets.token_hex(12)}",
        "object": "event",
        "type": event_type,
        "created": created,
        "livemode": False,
        "data": {
            "object": {
                "id": order.payment_session_id,
                "object": "checkout.session",
                "mode": "payment",
                "amount_total": order.total,
                "currency": order.currency,
                "customer_email": order.email,
                "client_reference_id": str(order.id),
                "metadata": {"order_id": str(order.id), "order_number": str(order.number)},
                **session_fields,
            }
        },
    }


async def _order(request: Request) -> OrderRow | None:
    session_id = request.path_params["session"]
    if not (session_id.isascii() and session_id.isprintable()):
        return None  # not one of ours, and PostgreSQL cannot even look up some (NUL)
    async with request.app.state.read_engine.connect() as conn:
        return await orders.order_by_payment_session(conn, session_id)


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


def _breakdown(order: OrderRow) -> str:
    """Subtotal, discount, shipping and tax, as the order holds them (domain.totals)."""
    rows = [("Subtotal", order.subtotal)]
    if order.discount:
        rows.append((f"Discount ({', '.join(order.discount_codes)})", -order.discount))
    if order.shipping_method_name is not None:
        rows.append((f"Shipping: {order.shipping_method_name}", order.shipping))
    for line in order.tax_lines:
        included = " (included)" if order.prices_include_tax else ""
        rows.append((f"{line['name']}{included}", int(line["amount"])))
    if order.reverse_charge:
        rows.append((f"VAT reverse charge, VAT number {order.vat_number}", 0))
    cells = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{_money(amount, order.currency)}</td></tr>"
        for name, amount in rows
    )
    return f'<table class="totals">{cells}</table>'


async def checkout_page(request: Request) -> Response:
    order = await _order(request)
    if order is None:
        return HTMLResponse(
            _page("Unknown sandbox session", "<p>There is no such checkout session.</p>"), 404
        )
    async with request.app.state.read_engine.connect() as conn:
        lines = (await orders.lines_of_orders(conn, [order.id])).get(order.id, [])
    rows = "".join(
        f"<tr><td>{html.escape(line.product_name)} ({html.escape(line.variant_name)})</td>"
        f"<td>{line.quantity}</td><td>{_money(line.line_total, order.currency)}</td></tr>"
        for line in lines
    )
    action = f"/sandbox/checkout/{html.escape(order.payment_session_id or '')}"
    payable = order.status == OrderStatus.AWAITING_PAYMENT
    total = _money(order.total, order.currency)
    buttons = (
        f'<form method="post" action="{action}/pay"><button>Pay {total}</button></form>'
        f'<form method="post" action="{action}/cancel"><button>Cancel</button></form>'
        f'<form method="post" action="{action}/expire"><button>Let the session expire</button></form>'
        if payable
        else f"<p>This order is {html.escape(order.status)}.</p>"
    )
    body = (
        "<p><strong>This is a payment sandbox.</strong> No card is charged and no money moves: "
        "Pay sends this server a signed <code>checkout.session.completed</code> event, as Stripe would.</p>"
        f"<h2>Order {order.number}</h2><table>{rows}</table>"
        f"{_breakdown(order)}<p>Total: {_money(order.total, order.currency)}</p>{buttons}"
    )
    return HTMLResponse(_page("Payment sandbox", body))


async def _send(request: Request, event: dict[str, Any]) -> Response:
    state = request.app.state
    payload = orjson.dumps(event).decode()
    return await receive_event(
        state.engine,
        state.webhook_secret,
        payload.encode(),
        sign(payload, state.webhook_secret, int(time.time())),
        state.payments,
    )


async def pay(request: Request) -> Response:
    order = await _order(request)
    if order is None:
        return HTMLResponse(
            _page("Unknown sandbox session", "<p>There is no such checkout session.</p>"), 404
        )
    intent = f"pi_sandbox_{hashlib.sha256(str(order.public_id).encode()).hexdigest()[:24]}"
    answer = await _send(
        request,
        session_event(
            "checkout.session.completed",
            order,
            payment_status="paid",
            status="complete",
            payment_intent=intent,
        ),
    )
    if answer.status_code != 200:
        return HTMLResponse(
            _page("Payment not recorded", "<p>The server could not record it; try again.</p>"), 503
        )
    return RedirectResponse(order.success_url or "/", status_code=303)


async def cancel(request: Request) -> Response:
    order = await _order(request)
    if order is None:
        return HTMLResponse(
            _page("Unknown sandbox session", "<p>There is no such checkout session.</p>"), 404
        )
    # As on Stripe, leaving the page does not end the session; it expires at the end of the reservation.
    return RedirectResponse(order.cancel_url or "/", status_code=303)


async def expire(request: Request) -> Response:
    order = await _order(request)
    if order is None:
        return HTMLResponse(
            _page("Unknown sandbox session", "<p>There is no such checkout session.</p>"), 404
        )
    answer = await _send(request, session_event("checkout.session.expired", order, status="expired"))
    if answer.status_code != 200:
        return HTMLResponse(_page("Not recorded", "<p>The server could not record it; try again.</p>"), 503)
    return RedirectResponse(order.cancel_url or "/", status_code=303)


SIMULATED_BANNER = (
    "<p role='alert' style='background: #b00020; color: white; padding: 0.75em; font-weight: bold'>"
    "Payment sandbox: payments here are simulated. No card is charged and no money moves."
    "</p>"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body style='font-family: sans-serif; max-width: 40em; margin: 2em auto'>{SIMULATED_BANNER}"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )


routes = [
    Route("/sandbox/checkout/{session}", checkout_page, methods=["GET"]),
    Route("/sandbox/checkout/{session}/pay", pay, methods=["POST"]),
    Route("/sandbox/checkout/{session}/cancel", cancel, methods=["POST"]),
    Route("/sandbox/checkout/{session}/expire", expire, methods=["POST"]),
]
