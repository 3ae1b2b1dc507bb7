"""No password, token, key or secret in the logs of a whole purchase, nor in an answer that should not hold it."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from core.settings import Settings
from tests.accounts import LOGIN, LOGOUT, REFRESH, REGISTER, staff_token
from tests.shop import (
    ADD,
    ORDER,
    WEBHOOK_SECRET,
    checkout,
    order_row,
    send_event,
    session_of,
    variant_with_stock,
)
from tests.stripe_stub import StripeStub
from tests.support import graphql, sql

PASSWORD = "tr0ub4dor & 3 horses, staple"
WRONG_PASSWORD = "a wrong guess of a password"
REFUND = (
    'mutation($id: ID!) { orderRefund(id: $id, reason: "asked") { order { status } userErrors { code } } }'
)


def log_everything(caplog: pytest.LogCaptureFixture) -> None:
    """DEBUG for the root logger and for every logger that exists, the uvicorn access log included."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)


def payload(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    (result,) = body["data"].values()
    return result


async def test_a_whole_purchase_leaves_no_secret_in_the_logs(
    shop: httpx.AsyncClient,
    stripe_settings: Settings,
    stripe_stub: tuple[StripeStub, str],
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    log_everything(caplog)
    answers: list[str] = []

    async def call(query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await shop.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        answers.append(response.text)
        return payload(response.json())

    email = "buyer.secret.test@example.com"
    registered = await call(REGISTER, {"email": email, "password": PASSWORD, "name": "Buyer"})
    refused = await call(LOGIN, {"email": email, "password": WRONG_PASSWORD})
    assert refused["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    signed_in = await call(LOGIN, {"email": email, "password": PASSWORD})
    refreshed = await call(REFRESH, {"refreshToken": signed_in["refreshToken"]})
    access = refreshed["accessToken"]

    variant_id, _, _ = await variant_with_stock(database_url, 10)
    cart = await call(ADD, {"lines": [{"variantId": variant_id, "quantity": 2}]}, token=access)
    cart_token = cart["cart"]["token"]
    bought = await checkout(shop, None, token=access)
    assert bought["userErrors"] == [], bought
    order_token = bought["orderToken"]
    read = await graphql(shop, ORDER, {"id": bought["order"]["id"], "token": order_token})
    assert read["data"]["order"]["status"] == "AWAITING_PAYMENT"

    paid = await send_event(
        shop, "checkout.session.completed", session_of(await order_row(database_url, bought["order"]["id"]))
    )
    assert paid.status_code == 200 and paid.json()["outcome"] == "paid"
    staff = await staff_token(shop, database_url)
    refunded = await call(REFUND, {"id": bought["order"]["id"]}, token=staff)
    assert refunded["order"]["status"] == "REFUNDED", refunded
    assert (await call(LOGOUT, {"refreshToken": refreshed["refreshToken"]}))["ok"] is True

    jwt_secret = (stripe_settings.data_dir / "jwt_secret").read_text().strip()
    secrets = {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "access token (register)": registered["accessToken"],
        "refresh token (register)": registered["refreshToken"],
        "access token (login)": signed_in["accessToken"],
        "refresh token (login)": signed_in["refreshToken"],
        "access token (refresh)": access,
        "refresh token (refresh)": refreshed["refreshToken"],
        "staff access token": staff,
        "cart token": cart_token,
        "order token": order_token,
        "JWT secret": jwt_secret,
        "Stripe key": stripe_settings.stripe_secret_key,
        "webhook secret": WEBHOOK_SECRET,
    }
    logged = caplog.text + "\n".join(
        f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records
    )
    # The capture worked: requests, the payment event and the refund all left records.
    assert "POST /graphql" in logged and "checkout.session.completed" in logged and "/v1/refunds" in logged
    leaked = [name for name, secret in secrets.items() if secret and secret in logged]
    assert leaked == []
    # Server-side secrets never reach a client either.
    for answer in answers:
        for name in ("JWT secret", "Stripe key", "webhook secret", "password"):
            assert secrets[name] not in answer, name


async def test_a_database_error_logs_the_statement_without_its_values(
    client: httpx.AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    cart = await graphql(client, ADD, {"lines": [{"variantId": variant_id, "quantity": 1}]})
    token = cart["data"]["cartLinesAdd"]["cart"]["token"]
    await sql(database_url, "ALTER TABLE carts RENAME COLUMN status TO state")
    with caplog.at_level(logging.ERROR):
        broken = await graphql(
            client, ADD, {"cartToken": token, "lines": [{"variantId": variant_id, "quantity": 1}]}
        )
    assert broken["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "carts" in caplog.text and "status" in caplog.text  # the statement is there to debug
    assert token not in caplog.text
