"""What an order's status change sends to the database (domain.orders.change_status, the one
state machine): the order's update and its history entry are one statement, and a payment event
locks the order and reads its lines in one."""

from __future__ import annotations

import httpx

from tests.shop import checkout, new_cart, order_row, send_event, session_of, variant_with_stock
from tests.support import StatementCounter, sql


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
