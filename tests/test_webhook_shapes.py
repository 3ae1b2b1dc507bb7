"""Signed but oddly shaped Stripe events (issue 12, items 8 and 9): every shape answers 2xx
(ignored, recorded) or 400, never 5xx; ids and types are length-checked and logged escaped; a
timestamp beyond the tolerance in the future is refused."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.factory import create_app
from core.settings import Settings
from tests.shop import checkout, new_cart, order_row, session_of, variant_with_stock
from tests.stripe_stub import WEBHOOK_SECRET, stripe_signature
from tests.support import serve_in_thread, sql

TYPES = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "charge.refunded",
    "payment_intent.payment_failed",
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=12,
)


def post_signed(url: str, body: str, signature: str | None = None) -> httpx.Response:
    return httpx.post(
        f"{url}/webhooks/stripe",
        content=body.encode("utf-8", "surrogatepass"),
        headers={"Stripe-Signature": signature or stripe_signature(body, WEBHOOK_SECRET)},
        timeout=30,
    )


async def recorded(database_url: str) -> set[str]:
    rows = await sql(database_url, "SELECT event_id FROM processed_payment_events")
    return {row.event_id for row in rows}


@st.composite
def sessions(draw: st.DrawFn, order_pk: int) -> Any:
    """A data.object: anything, or a session whose fields may each be of any shape."""
    if draw(st.booleans()):
        return draw(JSON)
    fields = {
        "id": st.text(max_size=30) | JSON,
        "metadata": st.fixed_dictionaries(
            {"order_id": st.sampled_from([str(order_pk), "0", "9" * 30]) | JSON}
        )
        | JSON,
        "client_reference_id": st.just(str(order_pk)) | JSON,
        "payment_status": st.sampled_from(["paid", "unpaid", "no_payment_required"]) | JSON,
        "amount_total": JSON,
        "currency": st.sampled_from(["usd", "eur"]) | JSON,
        "payment_intent": st.text(max_size=30) | JSON,
        "refunded": JSON,
        "amount_refunded": JSON,
        "amount": JSON,
    }
    chosen = draw(st.sets(st.sampled_from(sorted(fields))))
    return {name: draw(fields[name]) for name in chosen}


@st.composite
def events(draw: st.DrawFn, order_pk: int) -> dict[str, Any]:
    event_id = draw(
        st.text(min_size=1, max_size=40).map(lambda text: f"evt_{text}") | st.text(max_size=300) | JSON
    )
    event_type = draw(st.sampled_from(TYPES) | st.text(max_size=120) | JSON)
    data = draw(st.fixed_dictionaries({"object": sessions(order_pk)}) | JSON)
    event = {"id": event_id, "type": event_type, "data": data}
    return {key: value for key, value in event.items() if draw(st.integers(0, 9)) > 0}


def test_every_signed_event_shape_answers_2xx_or_400(settings: Settings, database_url: str) -> None:
    with serve_in_thread(create_app(settings)) as url:

        async def an_order() -> int:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                variant, _, _ = await variant_with_stock(database_url, 10)
                created = await checkout(client, await new_cart(client, variant))
                return (await order_row(database_url, created["order"]["id"])).id

        order_pk = asyncio.run(an_order())
        accepted: set[str] = set()

        # About 4 % of the generated events are well formed enough to be applied, so that 200 of
        # them held none about once in a hundred runs: one such event always runs besides them.
        @settings_for_events
        @given(event=events(order_pk))
        @example(event={"id": "evt_well_formed", "type": "checkout.session.expired", "data": {"object": {}}})
        def check(event: dict[str, Any]) -> None:
            body = orjson.dumps(event).decode()
            response = post_signed(url, body)
            assert response.status_code in (200, 400), (response.status_code, response.text, body[:300])
            assert "Traceback" not in response.text
            if response.status_code == 200:
                accepted.add(event["id"])

        check()
    assert accepted, "no generated event was well formed enough to be applied"
    assert accepted <= asyncio.run(recorded(database_url))


settings_for_events = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize(
    "data",
    [
        "a string",
        {"object": ["a", "list"]},
        {"object": {"metadata": "a string", "payment_status": "paid"}},
        {"object": {"metadata": {"order_id": "9" * 5000}, "payment_status": "paid"}},
        {"object": {"metadata": {"order_id": 7}, "payment_intent": {"id": "pi_1"}, "payment_status": "paid"}},
    ],
)
async def test_the_shapes_that_answered_500_are_recorded_and_ignored(
    client: httpx.AsyncClient, database_url: str, data: Any
) -> None:
    body = orjson.dumps({"id": f"evt_shape_{time.time_ns()}", "type": TYPES[0], "data": data}).decode()
    response = await client.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": stripe_signature(body, WEBHOOK_SECRET)}
    )
    assert response.status_code == 200 and response.json()["outcome"] in ("unknown_order", "awaiting_payment")
    assert orjson.loads(body)["id"] in await recorded(database_url)


@pytest.mark.parametrize(
    "event_id", ["evt_\x00nul", "evt_" + "x" * 900_000, "evt_line\nbreak", 12345, ["evt_1"]]
)
async def test_bad_ids_are_refused_and_never_logged_raw(
    client: httpx.AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture, event_id: Any
) -> None:
    body = orjson.dumps({"id": event_id, "type": TYPES[0], "data": {"object": {}}}).decode()
    with caplog.at_level(logging.DEBUG):
        response = await client.post(
            "/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": stripe_signature(body, WEBHOOK_SECRET)},
        )
    assert response.status_code == 400
    assert await recorded(database_url) == set()
    if isinstance(event_id, str):
        assert event_id not in caplog.text and "x" * 1000 not in caplog.text


async def test_a_type_too_long_is_refused(client: httpx.AsyncClient, database_url: str) -> None:
    body = orjson.dumps({"id": "evt_long_type", "type": "t" * 300, "data": {}}).decode()
    response = await client.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": stripe_signature(body, WEBHOOK_SECRET)}
    )
    assert response.status_code == 400 and await recorded(database_url) == set()


async def test_a_timestamp_beyond_the_tolerance_in_the_future_is_refused(
    client: httpx.AsyncClient, database_url: str
) -> None:
    variant, _, _ = await variant_with_stock(database_url, 10)
    created = await checkout(client, await new_cart(client, variant))
    order = await order_row(database_url, created["order"]["id"])
    future = int(time.time()) + 3_600
    body = orjson.dumps(
        {"id": "evt_from_the_future", "type": TYPES[0], "data": {"object": session_of(order)}}
    ).decode()
    response = await client.post(
        "/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": stripe_signature(body, WEBHOOK_SECRET, timestamp=future)},
    )
    assert response.status_code == 400
    assert (await order_row(database_url, created["order"]["id"])).status == "AWAITING_PAYMENT"
    assert await recorded(database_url) == set()
    # Within the tolerance (clocks differ a little), the same event is applied.
    response = await client.post(
        "/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": stripe_signature(body, WEBHOOK_SECRET, timestamp=int(time.time()) + 60)},
    )
    assert response.status_code == 200 and response.json()["outcome"] == "paid"
    assert (await order_row(database_url, created["order"]["id"])).status == "PAID"
