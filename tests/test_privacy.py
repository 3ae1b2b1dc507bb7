"""Privacy (issue 17): personal data encrypted at rest, key rotation, the data export, and
deleting an account."""

from __future__ import annotations

import base64
import json
import os
import sys
from typing import Any

import httpx
import pytest

from core.settings import Settings
from tests.accounts import (
    ACCOUNT_DELETE,
    ADDRESS_CREATE,
    DATA_EXPORT,
    EMAIL_CHANGE_REQUEST,
    HOME,
    LOGIN,
    PASSWORD,
    RESET_REQUEST,
    login,
    me,
    ok_data,
    register,
    signed_up,
    staff_token,
)
from tests.shop import ADDRESS, cart_add, checkout, new_cart, serve, variant_with_stock
from tests.support import ROOT, error_codes, eventually, graphql, sql

AGENT = "Mozilla/5.0 (PrivacyTest; rv:1)"
SECRETS = ("Ada Lovelace", "Analytical Row", "N1 9GU", "Grace Hopper", "Compiler Lane", AGENT)


async def _customer_with_everything(
    client: httpx.AsyncClient, database_url: str, email: str
) -> dict[str, Any]:
    """A customer with a name, a saved address, a login from a browser, and an order."""
    account = await register(client, email, name="Grace Hopper")
    body = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"email": email, "password": PASSWORD}},
        headers={"user-agent": AGENT},
    )
    token = body.json()["data"]["login"]["accessToken"]
    await ok_data(client, ADDRESS_CREATE, {"a": HOME}, token=token)
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    placed = await checkout(client, await new_cart(client, variant_id, token=token), token=token, email=email)
    assert placed["userErrors"] == [], placed
    return {"token": token, "order": placed["order"], "account": account}


async def _raw_dump(database_url: str) -> str:
    """Every row of every table of ours and pgqueuer's, as text."""
    tables = await sql(
        database_url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    dump = []
    for (table,) in tables:
        rows = await sql(database_url, f'SELECT t::text AS row FROM "{table}" t')  # noqa: S608 - our own table names
        dump.extend(row.row for row in rows)
    payloads = await sql(
        database_url, "SELECT convert_from(payload, 'UTF8') AS p FROM pgqueuer WHERE payload IS NOT NULL"
    )
    dump.extend(row.p for row in payloads)
    return "\n".join(dump)


async def test_the_database_holds_no_plain_email_name_or_address(
    client: httpx.AsyncClient, database_url: str
) -> None:
    email = "grace.hopper@example.org"
    await _customer_with_everything(client, database_url, email)

    async def mailed() -> bool:  # the confirmation and verification messages are captured in the database
        rows = await sql(database_url, "SELECT kind FROM mail_messages WHERE status = 'captured'")
        return {"order_confirmation", "account_verification"} <= {row.kind for row in rows}

    await eventually(mailed, timeout=30)
    dump = await _raw_dump(database_url)
    assert "AWAITING_PAYMENT" in dump  # the rows were read
    for secret in (email, *SECRETS):
        assert secret.lower() not in dump.lower(), secret
    # Yet the application reads them all back.
    (row,) = await sql(database_url, "SELECT email, shipping_address FROM orders")
    assert row.email.startswith("v1.") and row.shipping_address.startswith("v1.")


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


async def _rotate(settings: Settings, keys: str, active: str) -> str:
    import asyncio

    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "DATABASE_LISTEN_URL": settings.database_listen_url or "",  # direct, when DATABASE_URL is the pooler
        "DATA_DIR": str(settings.data_dir),
        "PII_KEYS": keys,
        "PII_ACTIVE_KEY": active,
        "LOG_LEVEL": "warning",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "main.py",
        "rotate-keys",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_rotate_keys_re_encrypts_everything_with_the_new_key(
    settings: Settings, database_url: str
) -> None:
    old, new = _key(), _key()
    first = settings.model_copy(update={"pii_keys": f"old:{old}", "pii_active_key": "old"})
    async with serve(first) as running, httpx.AsyncClient(base_url=running.url, timeout=60) as client:
        customer = await _customer_with_everything(client, database_url, "rotating@example.com")
    (row,) = await sql(database_url, "SELECT email FROM users")
    assert row.email.startswith("v1.old.")

    both = f"old:{old},new:{new}"
    second = settings.model_copy(update={"pii_keys": both, "pii_active_key": "new"})
    async with serve(second) as running, httpx.AsyncClient(base_url=running.url, timeout=60) as client:
        late = await signed_up(client)  # written with the new key while the old one is still in use
        output = await _rotate(second, both, "new")
        assert "with key new" in output and "0 row(s) left on other keys" in output
        assert (await me(client, customer["token"]))["name"] == "Grace Hopper"
        assert (await me(client, late["accessToken"])) is not None
        exported = (await ok_data(client, DATA_EXPORT, token=customer["token"]))["myDataExport"]
        assert exported["orders"][0]["shippingAddress"]["line1"] == ADDRESS["line1"]
    dump = await _raw_dump(database_url)
    assert "v1.old." not in dump
    assert "v1.new." in dump
    assert "re-encrypted 0 row(s)" in await _rotate(second, both, "new")  # a second run has nothing to do


async def test_my_data_export_holds_everything_about_me(client: httpx.AsyncClient, database_url: str) -> None:
    customer = await _customer_with_everything(client, database_url, "export@example.com")
    other = await signed_up(client)
    document = (await ok_data(client, DATA_EXPORT, token=customer["token"]))["myDataExport"]
    assert document["user"]["email"] == "export@example.com" and document["user"]["name"] == "Grace Hopper"
    assert [a["address"]["line1"] for a in document["addresses"]] == [HOME["line1"]]
    assert AGENT in {s["userAgent"] for s in document["sessions"]}
    (order,) = document["orders"]
    assert order["shippingAddress"]["name"] == ADDRESS["name"] and order["lines"][0]["quantity"] == 1
    assert json.dumps(document)  # one JSON document
    theirs = (await ok_data(client, DATA_EXPORT, token=other["accessToken"]))["myDataExport"]
    assert theirs["orders"] == [] and theirs["addresses"] == []
    assert error_codes(await graphql(client, DATA_EXPORT)) == ["UNAUTHENTICATED"]


async def test_deleting_an_account_erases_it_and_keeps_its_orders_without_it(
    client: httpx.AsyncClient, database_url: str
) -> None:
    email = "leaving@example.com"
    customer = await _customer_with_everything(client, database_url, email)
    token = customer["token"]
    variant_id, _, _ = await variant_with_stock(database_url, 5, offset=3)
    cart = await cart_add(client, [(variant_id, 1)], token=token)
    wrong = await ok_data(client, ACCOUNT_DELETE, {"p": "not my password"}, token=token)
    assert [e["code"] for e in wrong["accountDelete"]["userErrors"]] == ["WRONG_PASSWORD"]
    deleted = await ok_data(client, ACCOUNT_DELETE, {"p": PASSWORD}, token=token)
    assert deleted["accountDelete"] == {"ok": True, "userErrors": []}

    assert await me(client, token) is None  # every session revoked
    assert (await login(client, email))["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    (user,) = await sql(database_url, "SELECT deleted_at, password_hash FROM users")
    assert user.deleted_at is not None and user.password_hash == "!"
    assert await sql(database_url, "SELECT id FROM customer_addresses") == []
    carts = await sql(database_url, "SELECT deleted_at FROM carts WHERE user_id IS NOT NULL")
    assert carts and all(cart.deleted_at is not None for cart in carts)
    stale = await cart_add(client, [(variant_id, 1)], cart_token=cart["cart"]["token"])
    assert stale["userErrors"][0]["code"] == "CART_NOT_FOUND"

    # The order stays, for accounting, without the personal data (staff reads it).
    staff = await staff_token(client, database_url)
    order = await ok_data(
        client,
        "query($id: ID!) { order(id: $id) { email status shippingAddress { name line1 city country } } }",
        {"id": customer["order"]["id"]},
        token=staff,
    )
    assert order["order"]["email"].endswith("@erased.invalid")
    assert order["order"]["shippingAddress"] == {
        "name": "(erased)",
        "line1": "(erased)",
        "city": "(erased)",
        "country": "GB",
    }

    async def confirmed() -> bool:
        rows = await sql(database_url, "SELECT kind FROM mail_messages WHERE kind = 'account_deleted'")
        return bool(rows)

    await eventually(confirmed, timeout=30)
    # The address may register again: a new account, with nothing of the old one.
    again = await signed_up(client, email)
    assert (await ok_data(client, DATA_EXPORT, token=again["accessToken"]))["myDataExport"]["orders"] == []


async def test_nothing_personal_reaches_the_logs(
    client: httpx.AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.test_secrets_in_logs import log_everything

    log_everything(caplog)
    email = "private.person@example.net"
    customer = await _customer_with_everything(client, database_url, email)
    await ok_data(client, RESET_REQUEST, {"e": email})
    await ok_data(
        client, EMAIL_CHANGE_REQUEST, {"e": "other.self@example.net", "p": PASSWORD}, token=customer["token"]
    )

    async def sent() -> bool:
        rows = await sql(database_url, "SELECT kind FROM mail_messages WHERE status = 'captured'")
        return {"password_reset", "email_change", "email_change_notice"} <= {row.kind for row in rows}

    await eventually(sent, timeout=30)
    await ok_data(client, ACCOUNT_DELETE, {"p": PASSWORD}, token=customer["token"])
    logged = caplog.text.lower()
    assert logged  # something was logged
    for secret in (email, "other.self@example.net", *SECRETS):
        assert secret.lower() not in logged, secret


async def test_migration_0010_encrypts_the_rows_that_were_there(server_url: str, settings: Settings) -> None:
    import asyncio
    import uuid

    from alembic import command
    from sqlalchemy.engine import make_url

    from core import pii
    from core.migrations import alembic_config
    from tests.accounts import email_key, plain
    from tests.conftest import _admin

    pii.install(pii.keyring_from_settings(settings))
    name = f"storefront_upgrade_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0006_jobs_mail")
        await sql(
            url, "INSERT INTO users (email, password_hash, name) VALUES ('old@example.com', 'x', 'Old Timer')"
        )
        await sql(
            url,
            "INSERT INTO orders (email, status, currency, subtotal, total, shipping_address, reservation_expires_at)"
            " VALUES ('old@example.com', 'PAID', 'usd', 100, 100, CAST(:a AS jsonb), now())",
            a=json.dumps(
                {
                    "name": "Old Timer",
                    "line1": "1 Old Road",
                    "city": "Oldham",
                    "postal_code": "OL1",
                    "country": "GB",
                }
            ),
        )
        await sql(
            url,
            "INSERT INTO mail_messages (message_id, kind, recipient, subject, text_body, html_body, status)"
            " VALUES ('<m@x>', 'order_confirmation', 'old@example.com', 'Hi', 'Dear Old Timer', '<p>Old Timer</p>', 'sent')",
        )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        (user,) = await sql(url, "SELECT email, name, email_index FROM users")
        assert (
            plain(user.email, "users.email") == "old@example.com"
            and plain(user.name, "users.name") == "Old Timer"
        )
        assert bytes(user.email_index) == email_key("old@example.com")
        (order,) = await sql(url, "SELECT email, shipping_address, email_index FROM orders")
        assert json.loads(plain(order.shipping_address, "orders.shipping_address"))["line1"] == "1 Old Road"
        assert bytes(order.email_index) == email_key("old@example.com")
        (mail,) = await sql(url, "SELECT recipient, text_body FROM mail_messages")
        assert plain(mail.text_body, "mail_messages.text_body") == "Dear Old Timer"
        assert "Old" not in (await _raw_dump(url))
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
