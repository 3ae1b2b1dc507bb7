"""The staff dashboard at /admin: who gets in, CSRF, the security policy, orders and their actions."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.settings import Settings
from main import create_app
from tests.accounts import email_key, login, register
from tests.dashboard import (
    STAFF_PASSWORD,
    csrf_of,
    dashboard_sign_in,
    listed_actions,
    new_staff,
    open_page,
    order_page,
    post_form,
    row_action,
    signed_in_staff,
)
from tests.shop import checkout, new_cart, pay, variant_with_stock
from tests.support import RunningServer, eventually, graphql, sql

EXAMPLE = Path(__file__).resolve().parent.parent / "demo" / "catalog-example.csv"


async def test_anonymous_and_customers_never_get_in(server: RunningServer, database_url: str) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as anonymous:
        for path in ("/admin/", "/admin/orders/list", "/admin/orders/detail?pk=1001"):
            answer = await anonymous.get(path)
            assert answer.status_code == 303 and "/admin/login" in answer.headers["location"], path
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as customer:
        await register(customer, email="customer@example.com", password=STAFF_PASSWORD)
        answer = await dashboard_sign_in(customer, "customer@example.com")
        assert answer.status_code == 400
        assert "not a staff account" in answer.text
        assert "storefront_admin" not in customer.cookies
        assert (await customer.get("/admin/orders/list")).status_code == 303


async def test_staff_sign_in_needs_the_csrf_token_and_the_password(
    server: RunningServer, database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as staff:
        email = await new_staff(staff, database_url)
        forged = await staff.post("/admin/login", data={"username": email, "password": STAFF_PASSWORD})
        assert forged.status_code == 403
        assert (await dashboard_sign_in(staff, email, "not the password")).status_code == 400
        signed_in = await dashboard_sign_in(staff, email)
        assert signed_in.status_code == 303
        page = await staff.get("/admin/orders/list")
        assert page.status_code == 200 and "Orders" in page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        cookie = next(c for c in staff.cookies.jar if c.name == "storefront_admin")
        assert cookie.path == "/admin"
        # Demoted: out at the next click.
        await sql(
            database_url, "UPDATE users SET is_staff = false WHERE email_index = :key", key=email_key(email)
        )
        assert (await staff.get("/admin/orders/list")).status_code == 303


async def test_a_dashboard_session_is_a_login_the_account_can_see_and_revoke(
    server: RunningServer, database_url: str
) -> None:
    sessions = "{ me { sessions { id userAgent } } }"
    email = "revoked@example.com"
    async with (
        signed_in_staff(server.url, database_url, email) as staff,
        httpx.AsyncClient(base_url=server.url, timeout=30) as api,
    ):
        token = (await login(api, email, STAFF_PASSWORD))["accessToken"]
        listed = (await graphql(api, sessions, token=token))["data"]["me"]["sessions"]
        dashboard = [s for s in listed if s["userAgent"].startswith("Staff dashboard · ")]
        assert len(dashboard) == 1
        assert (await staff.get("/admin/orders/list")).status_code == 200
        revoked = await graphql(
            api,
            "mutation($id: ID!) { accountSessionRevoke(id: $id) { userErrors { code } } }",
            {"id": dashboard[0]["id"]},
            token=token,
        )
        assert revoked["data"]["accountSessionRevoke"]["userErrors"] == []
        assert (await staff.get("/admin/orders/list")).status_code == 303  # out at the next click

        # Signing out revokes the login too: the cookie, replayed, opens nothing.
        assert (await dashboard_sign_in(staff, email)).status_code == 303
        replay = dict(staff.cookies)
        page = await staff.get("/admin/orders/list")
        signed_out = await staff.post("/admin/logout", data={"csrftoken": csrf_of(page.text)})
        assert signed_out.status_code == 303
        async with httpx.AsyncClient(base_url=server.url, timeout=30, cookies=replay) as stolen:
            assert (await stolen.get("/admin/orders/list")).status_code == 303
        listed = (await graphql(api, sessions, token=token))["data"]["me"]["sessions"]
        assert [s for s in listed if s["userAgent"].startswith("Staff dashboard")] == []


async def test_the_policy_of_other_pages_is_unchanged(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as anyone:
        answer = await anyone.post("/graphql", json={"query": "{ __typename }"})
        assert "unsafe-inline" not in answer.headers["content-security-policy"]


async def test_staff_ship_a_paid_order_through_the_state_machine(
    server: RunningServer, client: httpx.AsyncClient, database_url: str
) -> None:
    variant, _, _ = await variant_with_stock(database_url, 5)
    token = await new_cart(client, variant, 1)
    placed = await checkout(client, token, email="buyer@example.com")
    order_id = placed["order"]["id"]
    await pay(client, database_url, order_id)
    number = (await sql(database_url, "SELECT number FROM orders ORDER BY id DESC LIMIT 1"))[0].number
    async with signed_in_staff(server.url, database_url) as staff:
        listed = await open_page(staff, "/admin/orders/list", q="Buyer@Example.com")
        assert "buyer@example.com" in listed.text, listed.text
        page = await open_page(staff, "/admin/orders/detail", pk=number)
        assert " Awaiting Payment → Paid by " in order_page(page.text).lines["history"][-1]
        csrf = csrf_of(page.text)
        without_tracking = await row_action(staff, "orders", "ship", number, csrf, tracking_number="")
        assert "TRACKING_NUMBER_REQUIRED" in without_tracking.text
        shipped = await row_action(staff, "orders", "ship", number, csrf, tracking_number="1Z999")
        assert shipped.status_code == 200, shipped.text
    row = (await sql(database_url, "SELECT status, tracking_number FROM orders WHERE number = :n", n=number))[
        0
    ]
    assert (row.status, row.tracking_number) == ("SHIPPED", "1Z999")
    history = await sql(
        database_url,
        "SELECT to_status, actor FROM order_status_history h JOIN orders o ON o.id = h.order_id"
        " WHERE o.number = :n ORDER BY h.id",
        n=number,
    )
    assert history[-1].to_status == "SHIPPED" and history[-1].actor.startswith("staff:")


async def test_staff_create_a_product_with_two_variants_and_the_storefront_sees_it(
    server: RunningServer, client: httpx.AsyncClient, database_url: str
) -> None:
    async with signed_in_staff(server.url, database_url) as staff:
        created = await post_form(
            staff,
            "/admin/products/create",
            {
                "name": "Dashboard Lamp",
                "slug": "",
                "description": "A lamp made in the dashboard.",
                "category_slug": "",
                "images_text": "https://images.example.com/lamp.jpg A lamp",
                "is_active": "on",
            },
        )
        assert created.status_code in (302, 303), created.text[-2000:]
        taken = await post_form(
            staff,
            "/admin/products/create",
            {"name": "Dashboard Lamp", "slug": "dashboard-lamp", "is_active": "on"},
        )
        assert "SLUG_TAKEN" in taken.text
        for sku, name, price in (("LAMP-S", "Small", 1999), ("LAMP-L", "Large", 2999)):
            added = await post_form(
                staff,
                "/admin/variants/create",
                {
                    "product_slug": "dashboard-lamp",
                    "sku": sku,
                    "name": name,
                    "price": str(price),
                    "stock": "5",
                    "position": "0",
                },
            )
            assert added.status_code in (302, 303), added.text[-2000:]
        (small,) = await sql(database_url, "SELECT id FROM product_variants WHERE sku = 'LAMP-S'")
        page = await staff.get("/admin/variants/list", params={"q": "LAMP"})
        assert "LAMP-L" in page.text and "LAMP-S" in page.text
        adjusted = await row_action(
            staff,
            "variants",
            "stock",
            small.id,
            csrf_of(page.text),
            quantity="12",
            reason="restock",
            note="delivery",
        )
        assert adjusted.status_code == 200, adjusted.text
    body = await graphql(
        client,
        '{ product(slug: "dashboard-lamp") { name variants { sku price { amount } quantityAvailable } } }',
    )
    product = body["data"]["product"]
    assert product["name"] == "Dashboard Lamp"
    assert sorted(variant["sku"] for variant in product["variants"]) == ["LAMP-L", "LAMP-S"]
    ledger = await sql(
        database_url,
        "SELECT m.delta, m.reason, m.note, m.actor_user_id IS NOT NULL AS by_staff FROM inventory_movements m"
        " JOIN product_variants v ON v.id = m.variant_id WHERE v.sku = 'LAMP-S' ORDER BY m.id",
    )
    assert [tuple(row) for row in ledger] == [(5, "initial", "", True), (7, "restock", "delivery", True)]


async def test_staff_upload_a_catalog_csv_and_follow_it_to_its_report(
    server: RunningServer, client: httpx.AsyncClient, database_url: str
) -> None:
    example = EXAMPLE.read_bytes()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as anonymous:
        refused = await anonymous.post("/admin/catalog-import/upload", files={"file": ("c.csv", example)})
        assert refused.status_code in (303, 403)
    async with signed_in_staff(server.url, database_url) as staff:
        page = await open_page(staff, "/admin/catalog-import")
        uploaded = await staff.post(
            "/admin/catalog-import/upload",
            data={"csrftoken": csrf_of(page.text)},
            files={"file": ("catalog-example.csv", example, "text/csv")},
        )
        assert uploaded.status_code == 303, uploaded.text
        status_url = uploaded.headers["location"]

        async def finished() -> str | None:
            text = (await staff.get(status_url)).text
            return text if 'data-status="done"' in text else None

        report = await eventually(finished, timeout=60)
        assert "products 3 created" in report and "variants 5 created" in report
    body = await graphql(client, '{ product(slug: "trail-runner-shoe") { name variants { sku } } }')
    assert [variant["sku"] for variant in body["data"]["product"]["variants"]] == ["TRS-42-BLU", "TRS-43-BLU"]
    (run,) = await sql(
        database_url, "SELECT status, content IS NULL AS dropped, rows_read FROM catalog_imports"
    )
    assert (run.status, run.dropped, run.rows_read) == ("done", True, 5)
    ledger = await sql(
        database_url,
        "SELECT count(*) AS n FROM inventory_movements WHERE note = 'catalog import' AND actor_user_id IS NOT NULL",
    )
    assert ledger[0].n == 3  # the three variants with stock


async def test_only_the_upload_may_send_a_body_over_the_usual_cap(server: RunningServer) -> None:
    from core.http_guard import MAX_BODY_BYTES

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as anyone:
        big = b"x" * (MAX_BODY_BYTES + 10)
        assert (await anyone.post("/admin/products/create", content=big)).status_code == 413
        # Past the general cap, the upload's own cap (CATALOG_UPLOAD_MAX_BYTES) lets it through to
        # the sign-in check.
        assert (await anyone.post("/admin/catalog-import/upload", content=big)).status_code in (303, 403)
    # A declared length over the upload's cap is refused before anything is read.
    over = server.app.state.settings.catalog_upload_max_bytes + 1
    parts = urlsplit(server.url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(
            f"POST /admin/catalog-import/upload HTTP/1.1\r\nHost: test\r\nContent-Length: {over}\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
    assert status_line.split()[1] == b"413"


DASHBOARD_GETS = [
    "/admin/",
    "/admin/catalog-import",
    *(
        f"/admin/{view}/{page}"
        for view in ("orders", "products", "variants", "categories", "attributes")
        for page in ("list", "create", "detail?pk=1")
    ),
    *(f"/admin/{view}/edit?pk=1" for view in ("products", "variants", "categories", "attributes")),
    *(
        f"/admin/{view}/{page}"
        for view in ("shipping-zones", "shipping-methods", "tax-rates", "discount-codes")
        for page in ("list", "create", "detail?pk=1", "edit?pk=1")
    ),
]
DASHBOARD_POSTS = [
    "/admin/products/create",
    "/admin/variants/create",
    "/admin/categories/create",
    "/admin/attributes/create",
    "/admin/products/edit?pk=1",
    "/admin/_api/orders/row-action?name=cancel&pk=1001",
    "/admin/_api/variants/row-action?name=stock&pk=1",
    "/admin/_api/products/action?name=delete",
    "/admin/catalog-import/upload",
    "/admin/discount-codes/create",
    "/admin/tax-rates/edit?pk=1",
    "/admin/_api/shipping-zones/action?name=delete&pks=1",
]


async def test_no_customer_or_anonymous_caller_reaches_any_dashboard_page_or_write(
    server: RunningServer, database_url: str
) -> None:
    before = await sql(database_url, "SELECT count(*) AS n, max(id) AS last FROM products")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as customer:
        await register(customer, email="shopper@example.com", password=STAFF_PASSWORD)
        assert (await dashboard_sign_in(customer, "shopper@example.com")).status_code == 400
        csrf = csrf_of((await customer.get("/admin/login")).text)
        for path in DASHBOARD_GETS:
            answer = await customer.get(path)
            assert answer.status_code == 303 and "/admin/login" in answer.headers["location"], path
        for path in DASHBOARD_POSTS:
            answer = await customer.post(path, data={"csrftoken": csrf, "name": "Sneaky", "quantity": "0"})
            assert answer.status_code == 303 and "/admin/login" in answer.headers["location"], path
    assert await sql(database_url, "SELECT count(*) AS n, max(id) AS last FROM products") == before


async def test_dashboard_sign_in_is_rate_limited_like_login_and_shares_its_counts(
    settings: Settings, clones: Any, database_url: str
) -> None:
    from tests.conftest import serving_for_the_test

    limited = settings.model_copy(update={"rate_limit_login_email": "3/600"})
    async with serving_for_the_test(create_app(limited), limited, clones) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as staff:
            email = await new_staff(staff, database_url)
            for _ in range(3):
                assert (await dashboard_sign_in(staff, email, "wrong password!")).status_code == 400
            refused = await dashboard_sign_in(staff, email)  # the right password, too late
            assert refused.status_code == 400 and "Too many attempts" in refused.text
            # The API's login counts against the same limit.
            body = await graphql(
                staff,
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { userErrors { code } } }",
                {"e": email, "p": STAFF_PASSWORD},
            )
            assert body["data"]["login"]["userErrors"] == [{"code": "RATE_LIMITED"}]


async def test_a_deleted_product_offers_restore_with_its_icon_and_restore_brings_it_back(
    server: RunningServer, client: httpx.AsyncClient, database_url: str
) -> None:
    (product,) = await sql(
        database_url,
        "UPDATE products SET is_active = false, deleted_at = now()"
        " WHERE id = (SELECT min(id) FROM products WHERE is_active) RETURNING id, slug",
    )
    pk = str(product.id)

    async def listed(staff: httpx.AsyncClient) -> tuple[set[str], str]:
        page = (await staff.get("/admin/products/list", params={"q": product.slug})).text
        return listed_actions(page)[pk], page

    async with signed_in_staff(server.url, database_url) as staff:
        actions, page = await listed(staff)
        assert "restore" in actions and "delete" not in actions
        (row,) = re.findall(rf'<tr data-sa-pk="{pk}"(.*?)</tr>', page, re.DOTALL)
        assert "fa-trash-arrow-up" in row  # a row action without an icon is an empty, invisible link
        restored = await row_action(staff, "products", "restore", product.id, csrf_of(page))
        assert restored.status_code == 200, restored.text
        actions, _ = await listed(staff)
        assert "delete" in actions and "restore" not in actions
    body = await graphql(client, "query($s: String!) { product(slug: $s) { slug } }", {"s": product.slug})
    assert body["data"]["product"] == {"slug": product.slug}
