"""Background jobs and customer e-mail (issue 16), against a real SMTP server (aiosmtpd), the real
application over HTTP, the real stripe SDK against the loopback stub, and real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from app.factory import create_app
from core.settings import Settings
from domain.notifications import Mailer, send_order_email
from domain.orders import OrderStatus, change_status
from jobs.worker import running_worker
from mail.render import MessageKind
from tests.accounts import staff_token
from tests.shop import (
    ADDRESS,
    checkout,
    global_id,
    new_cart,
    order_row,
    paid_order,
    send_event,
    serve,
    session_of,
    variant_with_stock,
)
from tests.smtp_server import Inbox, message_id, smtp_server
from tests.stripe_stub import StripeStub
from tests.support import ROOT, RunningServer, StatementCounter, graphql, own_engine, sql, start_server

DEADLINE = 60.0


async def eventually(check: Callable[[], Awaitable[Any] | Any], what: str, timeout: float = DEADLINE) -> Any:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def started(settings: Settings) -> tuple[RunningServer, Any, Any]:
    """The application served until the test sets `server.should_exit` and awaits `task`."""
    app = create_app(settings)
    server, task, url = await start_server(app)
    return RunningServer(app, url), server, task


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


def mail_settings(settings: Settings, port: int, **more: Any) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_tls": "none",
            "smtp_timeout": 2.0,
            "job_retry_delay": 0.1,
            "job_heartbeat_timeout": 1.0,
            "shop_name": "Test Shop",
            **more,
        }
    )


@pytest.fixture
async def mail_shop(
    stripe_settings: Settings, smtp: tuple[Inbox, int]
) -> AsyncIterator[tuple[httpx.AsyncClient, Inbox, Settings]]:
    settings = mail_settings(stripe_settings, smtp[1])
    async with serve(settings) as running, httpx.AsyncClient(base_url=running.url, timeout=60) as client:
        yield client, smtp[0], settings


async def test_one_confirmation_and_one_payment_mail_though_the_webhook_comes_three_times(
    mail_shop: tuple[httpx.AsyncClient, Inbox, Settings], database_url: str
) -> None:
    client, inbox, _ = mail_shop
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    result = await checkout(client, await new_cart(client, variant_id, 2))
    order = await order_row(database_url, result["order"]["id"])
    event_id = "evt_three_times"
    answers = [
        await send_event(client, "checkout.session.completed", session_of(order), event_id=event_id)
        for _ in range(3)
    ]
    assert [answer.json()["outcome"] for answer in answers] == ["paid", "duplicate", "duplicate"]
    await eventually(lambda: len(inbox.messages) >= 2, "the confirmation and payment e-mails")
    # A later, different delivery of the same payment changes nothing either.
    again = await send_event(client, "checkout.session.completed", session_of(order))
    assert again.json()["outcome"] == "already_applied"
    await _settled(database_url)
    kinds = sorted(message_id(m).split(".")[0] for m in inbox.messages)
    assert kinds == ["<order-confirmation", "<payment-received"], kinds
    confirmation = next(m for m in inbox.messages if message_id(m).startswith("<order-confirmation."))
    assert confirmation["To"] == "ada@example.com"
    assert f"#{order.number}" in confirmation["Subject"]
    text = confirmation.get_body(("plain",)).get_content()
    html_part = confirmation.get_body(("html",)).get_content()
    assert ADDRESS["line1"] in text and ADDRESS["line1"] in html_part
    total = f"{order.total // 100}.{order.total % 100:02d} USD"
    assert total in text and total in html_part
    assert str(order.public_id) in message_id(confirmation)


async def _settled(database_url: str) -> None:
    """Every job has run (none waiting or running)."""

    async def idle() -> bool:
        rows = await sql(
            database_url, "SELECT count(*) AS n FROM pgqueuer WHERE status IN ('queued', 'picked')"
        )
        return rows[0].n == 0

    await eventually(idle, "the job queue to drain")


async def test_no_mail_when_the_change_rolls_back(
    mail_shop: tuple[httpx.AsyncClient, Inbox, Settings], database_url: str
) -> None:
    client, inbox, _ = mail_shop
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    rolled_back = await order_row(
        database_url, (await checkout(client, await new_cart(client, variant_id)))["order"]["id"]
    )
    await eventually(lambda: len(inbox.ids("order-confirmation")) == 1, "the first confirmation")
    engine = own_engine(database_url)
    try:
        with pytest.raises(RuntimeError, match="rolled back"):
            async with engine.begin() as conn:
                change = await change_status(conn, rolled_back.id, OrderStatus.PAID, actor="test")
                assert change.changed
                queued = await conn.exec_driver_sql(
                    "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'send_order_email'"
                )
                assert queued.scalar() >= 1  # the job was written in this very transaction...
                raise RuntimeError("rolled back")
    finally:
        await engine.dispose()
    # ...and went with it. A later, committed payment is mailed; the rolled-back one never is.
    result, _, _ = await paid_order(client, database_url)
    await eventually(lambda: len(inbox.ids("payment-received")) == 1, "the committed payment's e-mail")
    await _settled(database_url)
    assert all(str(rolled_back.public_id) not in mid for mid in inbox.ids("payment-received"))
    assert (await order_row(database_url, result["order"]["id"])).status == "PAID"
    assert (await order_row(database_url, global_id("Order", rolled_back.id))).status == "AWAITING_PAYMENT"


async def test_a_refusing_smtp_server_gets_the_message_again_later(
    mail_shop: tuple[httpx.AsyncClient, Inbox, Settings], database_url: str
) -> None:
    client, inbox, _ = mail_shop
    inbox.refuse_next = 1
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    result = await checkout(client, await new_cart(client, variant_id))
    await eventually(lambda: inbox.ids("order-confirmation"), "the confirmation after a refusal")
    await _settled(database_url)
    assert inbox.attempts == 2 and len(inbox.messages) == 1
    order = await order_row(database_url, result["order"]["id"])
    rows = await sql(
        database_url,
        "SELECT status, attempts, last_error FROM mail_messages WHERE order_id = :id",
        id=order.id,
    )
    assert [(row.status, row.attempts) for row in rows] == [("sent", 2)]
    assert "451" in rows[0].last_error


async def test_shipping_mails_the_tracking_number_escaped_in_html(
    mail_shop: tuple[httpx.AsyncClient, Inbox, Settings], database_url: str
) -> None:
    client, inbox, _ = mail_shop
    hostile = "<b>1Z999</b>&"
    result, _, _ = await paid_order(client, database_url)
    staff = await staff_token(client, database_url)
    for status, tracking in (("PROCESSING", None), ("SHIPPED", hostile)):
        body = await graphql(
            client,
            "mutation($id: ID!, $s: OrderStatus!, $t: String) { orderUpdateStatus(id: $id, status: $s, trackingNumber: $t)"
            " { order { status } userErrors { code } } }",
            {"id": result["order"]["id"], "s": status, "t": tracking},
            token=staff,
        )
        assert body["data"]["orderUpdateStatus"]["userErrors"] == [], body
    shipped = await eventually(
        lambda: [m for m in inbox.messages if message_id(m).startswith("<order-shipped.")],
        "the shipped e-mail",
    )
    assert hostile in shipped[0].get_body(("plain",)).get_content()
    html_part = shipped[0].get_body(("html",)).get_content()
    assert "&lt;b&gt;1Z999&lt;/b&gt;&amp;" in html_part and hostile not in html_part


async def test_two_workers_never_send_the_same_message(
    stripe_settings: Settings, smtp: tuple[Inbox, int], database_url: str
) -> None:
    inbox, port = smtp
    settings = mail_settings(stripe_settings, port)
    running, server, task = await started(settings)  # a worker in the server...
    payments = running.app.state.payments
    try:
        async with (
            running_worker(settings, database_url, payments),  # ...and two more
            running_worker(settings, database_url, payments),
            httpx.AsyncClient(base_url=running.url, timeout=60) as client,
        ):
            paid = await asyncio.gather(*(paid_order(client, database_url) for _ in range(6)))
            await eventually(lambda: len(inbox.messages) >= 12, "two e-mails per order")
            await _settled(database_url)
    finally:
        server.should_exit = True
        await task
    ids = inbox.ids()
    assert len(ids) == len(set(ids)) == 12, sorted(ids)
    assert {row[1].id for row in paid} == {
        row.order_id for row in await sql(database_url, "SELECT DISTINCT order_id FROM mail_messages")
    }


async def test_a_worker_killed_mid_job_loses_nothing(
    stripe_settings: Settings, smtp: tuple[Inbox, int], database_url: str
) -> None:
    inbox, port = smtp
    # The server runs no worker; a `main.py worker` process takes the job, and dies sending it.
    settings = mail_settings(stripe_settings, port, run_worker="off")
    running, server, task = await started(settings)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_LISTEN_URL": settings.database_listen_url or database_url,
        "DATA_DIR": str(settings.data_dir),
        "STRIPE_SECRET_KEY": "sk_test_stub_key",
        "STRIPE_API_BASE": settings.stripe_api_base or "",
        "STRIPE_WEBHOOK_SECRET": settings.stripe_webhook_secret or "",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_TLS": "none",
        "SMTP_TIMEOUT": "2",
        "JOB_RETRY_DELAY": "0.1",
        "JOB_HEARTBEAT_TIMEOUT": "1",
    }
    inbox.hold.set()
    worker = subprocess.Popen([sys.executable, "main.py", "worker"], cwd=ROOT, env=env)  # noqa: ASYNC220
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=60) as client:
            variant_id, _, _ = await variant_with_stock(database_url, 10)
            result = await checkout(client, await new_cart(client, variant_id))
            await eventually(inbox.held.is_set, "the worker to start sending")
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            inbox.hold.clear()
            assert inbox.messages == []
            # The job is still there, picked by a worker that no longer answers...
            rows = await sql(
                database_url, "SELECT status FROM pgqueuer WHERE entrypoint = 'send_order_email'"
            )
            assert [row.status for row in rows] == ["picked"]
            # ...and a worker that comes back runs it.
            async with running_worker(settings, database_url, running.app.state.payments):
                await eventually(lambda: inbox.ids("order-confirmation"), "the confirmation", timeout=90)
                await _settled(database_url)
        order = await order_row(database_url, result["order"]["id"])
        assert inbox.ids("order-confirmation") == [f"<order-confirmation.{order.public_id}@127.0.0.1>"]
    finally:
        if worker.poll() is None:
            worker.kill()
        server.should_exit = True
        await task


async def test_a_missed_webhook_is_found_by_asking_stripe(
    stripe_settings: Settings, stripe_stub: tuple[StripeStub, str], database_url: str
) -> None:
    stub, _ = stripe_stub
    settings = stripe_settings.model_copy(update={"payment_check_after": 0, "payment_check_interval": 1})
    running, server, task = await started(settings)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=60) as client:
            variant_id, _, _ = await variant_with_stock(database_url, 10)
            result = await checkout(client, await new_cart(client, variant_id))
            order = await order_row(database_url, result["order"]["id"])
            # The shopper pays; Stripe's webhook never arrives.
            stub.complete_session(order.payment_session_id, f"pi_test_{order.id}")

            async def paid() -> bool:
                return (await order_row(database_url, result["order"]["id"])).status == "PAID"

            await eventually(paid, "the order to become PAID without its webhook")
            assert stub.sessions_retrieved()
            # Through the webhook's own handler: its dedup record, the state machine's history.
            events = await sql(database_url, "SELECT event_id, outcome FROM processed_payment_events")
            assert [(e.event_id, e.outcome) for e in events] == [
                (f"recovered_{order.payment_session_id}_completed", "paid")
            ]
            row = await order_row(database_url, result["order"]["id"])
            assert row.payment_intent_id == f"pi_test_{order.id}" and row.stock_state == "committed"
            # The webhook that finally comes changes nothing.
            late = await send_event(client, "checkout.session.completed", session_of(order))
            assert late.json()["outcome"] == "already_applied"
    finally:
        server.should_exit = True
        await task


async def test_sandbox_mail_is_captured_and_shown_in_the_mailbox(
    client: httpx.AsyncClient, database_url: str
) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    result = await checkout(client, await new_cart(client, variant_id))
    order = await order_row(database_url, result["order"]["id"])
    # The sandbox's Pay button, as a shopper presses it.
    paid = await client.post(f"/sandbox/checkout/{order.payment_session_id}/pay")
    assert paid.status_code == 303

    async def captured() -> list[Any]:
        rows = await sql(database_url, "SELECT id, kind, status FROM mail_messages ORDER BY id")
        return rows if [row.status for row in rows] == ["captured", "captured"] else []

    rows = await eventually(captured, "two captured e-mails")
    rows = sorted(rows, key=lambda row: row.kind)
    assert [(row.kind, row.status) for row in rows] == [
        ("order_confirmation", "captured"),
        ("payment_received", "captured"),
    ]
    page = await client.get("/mailbox")
    assert page.status_code == 200 and "were NOT sent" in page.text
    assert (
        f"Order #{order.number} received" in page.text
        and f"Payment received for order #{order.number}" in page.text
    )
    message = await client.get(f"/mailbox/{rows[0].id}")
    assert message.status_code == 200 and ADDRESS["line1"] in message.text
    html_part = await client.get(f"/mailbox/{rows[0].id}/html")
    assert "sandbox" in html_part.headers["content-security-policy"]
    assert (await client.get("/mailbox/999999")).status_code == 404


@pytest.mark.direct_database(reason="behind a pooler every statement is a transaction of its own")
async def test_a_captured_order_mail_is_read_and_captured_without_begin_or_commit(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    """The order with its lines is read in one statement, and the message claimed and marked
    captured in another (each its own transaction): no BEGIN/COMMIT round trips around them."""
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    result = await checkout(client, await new_cart(client, variant_id))
    order = await order_row(database_url, result["order"]["id"])
    engine = own_engine(database_url)
    counter = StatementCounter()

    def log_driver_queries(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(counter.driver_query)

    event.listen(engine.sync_engine, "connect", log_driver_queries)
    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    try:
        outcome = await send_order_email(
            engine, Mailer(settings=settings, transport=None), order.id, MessageKind.ORDER_CONFIRMATION
        )
    finally:
        await engine.dispose()
    # The application's worker may have captured it first: then this attempt finds it done.
    assert outcome in ("captured", "already_sent")
    assert counter.transaction_control == [], counter.transaction_control
    assert any("mail_messages" in statement for statement in counter.statements), counter.statements
    # The order and its lines are one read (models.order_repository.order_with_lines).
    reads = {statement for statement in counter.statements if "mail_messages" not in statement}
    assert len(reads) == 1 and "order_lines" in reads.pop(), counter.statements
    rows = await sql(database_url, "SELECT id, status FROM mail_messages WHERE order_id = :o", o=order.id)
    assert [row.status for row in rows] == ["captured"]
    # The line read with the order is in the message (the mailbox shows the captured text).
    (line,) = await sql(
        database_url, "SELECT quantity, product_name FROM order_lines WHERE order_id = :o", o=order.id
    )
    message = await client.get(f"/mailbox/{rows[0].id}")
    assert message.status_code == 200 and f"{line.quantity} x {line.product_name}" in message.text


async def test_the_mailbox_is_not_served_in_a_deployment(shop: httpx.AsyncClient) -> None:
    assert (await shop.get("/mailbox")).status_code == 404


FAILED_JOBS = "{ failedJobs(first: 10) { totalCount edges { node { id name attempts error orderId } } } }"


async def test_a_job_that_keeps_failing_is_listed_for_staff_and_retried(
    stripe_settings: Settings, smtp: tuple[Inbox, int], database_url: str
) -> None:
    inbox, port = smtp
    running, server, task = await started(mail_settings(stripe_settings, port, job_max_attempts=2))
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=60) as client:
            staff = await staff_token(client, database_url)
            # Registering sends the verification e-mail (issue 17): let it go first.
            await eventually(lambda: inbox.ids("account-verification"), "the verification e-mail")
            inbox.messages.clear()
            inbox.attempts = 0
            inbox.refuse_next = 2
            variant_id, _, _ = await variant_with_stock(database_url, 10)
            result = await checkout(client, await new_cart(client, variant_id))

            async def listed() -> list[Any]:
                body = await graphql(client, FAILED_JOBS, token=staff)
                return body["data"]["failedJobs"]["edges"]

            (edge,) = await eventually(listed, "the failed job in failedJobs")
            job = edge["node"]
            assert job["name"] == "send_order_email" and job["attempts"] == 1  # pgqueuer counts retries
            assert job["orderId"] == result["order"]["id"]
            assert "MailNotSent" in job["error"] and "451" in job["error"]
            assert inbox.messages == [] and inbox.attempts == 2
            retried = await graphql(
                client,
                "mutation($i: ID!) { jobRetry(id: $i) { queued userErrors { code } } }",
                {"i": job["id"]},
                token=staff,
            )
            assert retried["data"]["jobRetry"] == {"queued": True, "userErrors": []}
            await eventually(lambda: inbox.ids("order-confirmation"), "the confirmation after the retry")
            await _settled(database_url)
            assert (await graphql(client, FAILED_JOBS, token=staff))["data"]["failedJobs"]["totalCount"] == 0
            again = await graphql(
                client,
                "mutation($i: ID!) { jobRetry(id: $i) { queued userErrors { code } } }",
                {"i": job["id"]},
                token=staff,
            )
            assert again["data"]["jobRetry"]["userErrors"] == [{"code": "NOT_FOUND"}]
    finally:
        server.should_exit = True
        await task
