"""What an order's status change sends to the database (domain.orders.change_status, the one
state machine): the order's update and its history entry are one statement, and a payment event
locks the order and reads its lines in one."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import orjson

from domain.orders import change_status
from jobs.worker import asyncpg_dsn
from models.order_repository import STATUS_CHANNEL
from models.orders import OrderStatus
from tests.shop import checkout, new_cart, order_row, send_event, session_of, variant_with_stock
from tests.support import StatementCounter, own_engine, sql


async def test_a_payment_updates_the_order_and_appends_its_history_in_one_statement(
    client: httpx.AsyncClient, database_url: str, sql_statements: StatementCounter
) -> None:
    variant_id, pk, _ = await variant_with_stock(database_url, 5)
    placed = await checkout(client, await new_cart(client, variant_id, 2))
    order = await order_row(database_url, placed["order"]["id"])
    sql_statements.reset()
    response = await send_event(client, "checkout.session.completed", session_of(order))
    assert response.status_code == 200 and response.json()["outcome"] == "paid", response.text

    statements = sql_statements.statements
    # The event locks the order and reads its lines (whose stock the change moves) in one statement.
    (locked,) = [s for s in statements if "FOR UPDATE OF orders" in s]
    assert "order_lines" in locked
    assert not any(s.lstrip().startswith("SELECT order_lines.") for s in statements), statements
    (moved,) = [s for s in statements if "UPDATE orders" in s]
    assert "INSERT INTO order_status_history" in moved
    # ... and publishes it (models.order_repository._with_change): no pg_notify statement of its own.
    assert "pg_notify" in moved
    assert not any(s.lstrip().startswith("SELECT pg_notify") for s in statements), statements
    assert not any(s.lstrip().startswith("INSERT INTO order_status_history") for s in statements), statements
    # What the one statement wrote: the order paid (its stock sold), and the entry of that move.
    paid = await order_row(database_url, placed["order"]["id"])
    assert (paid.status, paid.stock_state, paid.payment_intent_id) == (
        "PAID",
        "committed",
        f"pi_test_{order.id}",
    )
    entries = await sql(
        database_url,
        "SELECT from_status, to_status, reason, actor FROM order_status_history WHERE order_id = :id ORDER BY id",
        id=order.id,
    )
    assert [tuple(entry) for entry in entries] == [
        (None, "AWAITING_PAYMENT", "checkout created", "guest"),
        ("AWAITING_PAYMENT", "PAID", "payment received", "stripe"),
    ]
    assert (await sql(database_url, "SELECT stock, reserved FROM product_variants WHERE id = :pk", pk=pk))[
        0
    ] == (
        3,
        0,
    )


async def test_the_change_statement_publishes_the_change_when_it_commits_and_never_when_it_rolls_back(
    client: httpx.AsyncClient, database_url: str, direct_database_url: str
) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 5)
    placed = await checkout(client, await new_cart(client, variant_id))
    order = await order_row(database_url, placed["order"]["id"])
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(asyncpg_dsn(direct_database_url))
    engine = own_engine(database_url)
    try:
        await listener.add_listener(STATUS_CHANNEL, lambda *args: heard.put_nowait(args[3]))
        async with engine.connect() as conn:
            await conn.begin()
            await change_status(conn, order.id, OrderStatus.CANCELLED, actor="staff:1", reason="undone")
            await conn.rollback()
        async with engine.begin() as conn:
            # The payload's time is written in the session's zone: the same instant whatever it is.
            await conn.exec_driver_sql("SET LOCAL TIME ZONE 'Asia/Kolkata'")
            cancelled = await change_status(
                conn, order.id, OrderStatus.CANCELLED, actor="staff:1", reason="kept"
            )
        assert cancelled.change is not None
        payload: dict[str, Any] = orjson.loads(await asyncio.wait_for(heard.get(), timeout=10))
        # What domain.order_events reads, as the change's own row holds it.
        assert datetime.fromisoformat(payload.pop("at")) == cancelled.change.at
        assert payload == {
            "order_id": order.id,
            "user_id": None,
            "change_id": cancelled.change.id,
            "from": "AWAITING_PAYMENT",
            "to": "CANCELLED",
        }
        await asyncio.sleep(0.2)
        assert heard.empty(), "the rolled-back change was published too"
    finally:
        await listener.close()
        await engine.dispose()
