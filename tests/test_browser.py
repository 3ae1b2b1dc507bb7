"""The storefront and GraphiQL in a real browser: Debian's chromium driven by Playwright.

Each test gets its own database, server and browser context (one browser for the session), and
saves a screenshot of every page it sees under .artifacts/browser/<test>/.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from app import lean_checkout
from app.factory import create_app
from core.settings import Settings
from tests.browser import CHROMIUM, CHROMIUM_ARGS, Shots, foreign_storefront, listening_socket, serving
from tests.support import eventually, graphql, sql

expect.set_options(timeout=20_000)
PHONE = {"width": 390, "height": 844}


@dataclass
class Item:
    variant_id: str
    pk: int
    slug: str
    product: str


async def items(database_url: str, count: int, stock: int, *, min_variants: int = 1) -> list[Item]:
    """The first variant of `count` different products (with at least `min_variants`), set to `stock`."""
    rows = await sql(
        database_url,
        "WITH picked AS ("
        " SELECT DISTINCT ON (p.id) v.id, p.slug, p.name FROM product_variants v JOIN products p ON p.id = v.product_id"
        " WHERE p.is_active AND (SELECT count(*) FROM product_variants w WHERE w.product_id = p.id) >= :min_variants"
        " ORDER BY p.id, v.id LIMIT :count)"
        " UPDATE product_variants v SET stock = :stock, reserved = 0 FROM picked WHERE v.id = picked.id"
        " RETURNING v.id, picked.slug, picked.name",
        count=count,
        stock=stock,
        min_variants=min_variants,
    )
    return [
        Item(base64.b64encode(f"ProductVariant:{row.id}".encode()).decode(), row.id, row.slug, row.name)
        for row in sorted(rows, key=lambda row: row.id)
    ]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[str]:
    """The demo server (sandbox payments, storefront at /), with PUBLIC_URL its own address."""
    sock, url = listening_socket()
    async with serving(create_app(settings.model_copy(update={"public_url": url})), sock):
        yield url


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


@pytest.fixture
async def context(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile; a page error or a Content-Security-Policy violation fails the test."""
    options: dict[str, Any] = dict(getattr(request, "param", {}))
    fresh = await browser.new_context(**options)
    problems: list[str] = []

    def watch(page: Page) -> None:
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(message.text)
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )

    fresh.on("page", watch)
    yield fresh
    await fresh.close()
    assert problems == []


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


# ---------------------------------------------------------------- steps a shopper takes


async def add_to_cart(page: Page, base: str, item: Item, quantity: int = 1) -> None:
    await page.goto(f"{base}/#/product/{quote(item.slug)}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(item.product)
    await page.locator(f'input[name="variant"][value="{item.variant_id}"]').check()
    await page.get_by_label("Quantity").fill(str(quantity))
    await page.get_by_role("button", name="Add to cart").click()
    await expect(page.locator("#add-result")).to_contain_text("Added to your cart")


async def fill_checkout(page: Page, email: str | None) -> None:
    if email is not None:
        await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Full name").fill("Ada Lovelace")
    await page.get_by_label("Address", exact=True).fill("12 Analytical Row")
    await page.get_by_label("City").fill("London")
    await page.get_by_label("Postal code").fill("N1 9GU")
    await page.get_by_label("Country").select_option("GB")
    await page.get_by_role("button", name="Continue to payment").click()


async def last_checkout(page: Page) -> str:
    return json.loads(await page.evaluate("localStorage.getItem('storefront.lastCheckout')"))


async def watch_order(context: BrowserContext, base: str) -> tuple[Page, str]:
    """A second tab on the storefront's page of the order just checked out, live and awaiting
    payment, marked to tell a reload apart; and the order's id."""
    watcher = await context.new_page()
    await watcher.goto(f"{base}/#/orders")
    order_id = await last_checkout(watcher)
    await watcher.goto(f"{base}/#/orders/{quote(order_id)}")
    await expect(watcher.locator("#order-status")).to_have_text("Awaiting payment")
    await expect(watcher.locator("#live-state")).to_have_text("Updates live.")
    await watcher.evaluate("document.body.dataset.neverReloaded = 'yes'")
    return watcher, order_id


async def order_status(database_url: str, order_id: str) -> str:
    pk = int(base64.b64decode(order_id).decode().split(":")[1])
    (row,) = await sql(database_url, "SELECT status FROM orders WHERE id = :id", id=pk)
    return row.status


async def stock(database_url: str, item: Item) -> tuple[int, int]:
    (row,) = await sql(
        database_url, "SELECT stock, reserved FROM product_variants WHERE id = :id", id=item.pk
    )
    return row.stock, row.reserved


# ---------------------------------------------------------------- the flows


async def test_guest_buys_two_items_and_the_order_page_turns_paid_by_itself(
    store: str, database_url: str, context: BrowserContext, page: Page, shots: Shots
) -> None:
    first, second = await items(database_url, 2, stock=5)
    await add_to_cart(page, store, first, quantity=2)
    await shots.take(page, "product")
    await add_to_cart(page, store, second)
    await expect(page.locator("#cart-count")).to_have_text("3")
    await page.get_by_role("link", name="View cart").click()
    await expect(page.locator("tr[data-line]")).to_have_count(2)
    await expect(page.locator("#cart-total-quantity")).to_have_text("3")
    await shots.take(page, "cart")
    await page.get_by_role("link", name="Check out").click()
    await shots.take(page, "checkout")
    lean_before = lean_checkout.answered[0]
    await fill_checkout(page, "guest@example.com")

    await page.wait_for_url(f"{store}/sandbox/checkout/*")
    # The storefront's checkout selection is one app/lean_checkout.py answers (README, issue 18).
    assert lean_checkout.answered[0] == lean_before + 1
    await shots.take(page, "sandbox")
    watcher, order_id = await watch_order(context, store)
    await shots.take(watcher, "order-awaiting-payment")

    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    # The payer comes back from the sandbox to the order page ...
    await page.wait_for_url(f"{store}/#/orders/*")
    await expect(page.locator("#order-status")).to_have_text("Paid")
    await expect(page.get_by_role("status").filter(has_text="Thank you")).to_be_visible()
    # ... and the page that was open all along turned PAID by itself, without a reload.
    await expect(watcher.locator("#order-status")).to_have_text("Paid")
    await expect(watcher.locator("#order-history li")).to_have_count(2)
    assert await watcher.evaluate("document.body.dataset.neverReloaded") == "yes"
    await shots.take(watcher, "order-paid")

    assert await order_status(database_url, order_id) == "PAID"
    assert await stock(database_url, first) == (3, 0)
    assert await stock(database_url, second) == (4, 0)


async def test_a_customer_signs_in_with_an_anonymous_cart_sees_it_merged_and_cancels_an_order(
    store: str, database_url: str, page: Page, shots: Shots
) -> None:
    saved, anonymous = await items(database_url, 2, stock=5)
    async with httpx.AsyncClient(base_url=store) as api:
        registered = await graphql(
            api,
            'mutation { register(email: "grace@example.com", password: "correct horse battery", name: "Grace")'
            " { accessToken userErrors { code } } }",
        )
        token = registered["data"]["register"]["accessToken"]
        added = await graphql(
            api,
            "mutation($v: ID!) { cartLinesAdd(lines: [{variantId: $v, quantity: 1}]) { userErrors { code } } }",
            {"v": saved.variant_id},
            token=token,
        )
        assert added["data"]["cartLinesAdd"]["userErrors"] == []

    await add_to_cart(page, store, anonymous)
    await page.get_by_role("link", name="Sign in").click()
    login = page.locator("#login-form")
    await login.get_by_label("E-mail").fill("grace@example.com")
    await login.get_by_label("Password").fill("correct horse battery")
    await shots.take(page, "sign-in")
    await login.get_by_role("button", name="Sign in").click()

    await page.wait_for_url(f"{store}/#/cart")
    lines = page.locator("tr[data-line]")
    await expect(lines).to_have_count(2)
    await expect(lines.filter(has_text=saved.product)).to_have_count(1)
    await expect(lines.filter(has_text=anonymous.product)).to_have_count(1)
    await expect(page.locator("#account-link")).to_have_text("Account")
    await shots.take(page, "merged-cart")

    # Checking out signed in, then leaving the sandbox without paying: back on the order page.
    await page.get_by_role("link", name="Check out").click()
    await expect(page.get_by_label("E-mail")).to_have_value("grace@example.com")
    await fill_checkout(page, None)
    await page.wait_for_url(f"{store}/sandbox/checkout/*")
    await page.get_by_role("button", name="Cancel", exact=True).click()
    await page.wait_for_url(f"{store}/#/orders/*")
    await expect(page.locator("#order-status")).to_have_text("Awaiting payment")
    await page.get_by_role("button", name="Cancel order").click()
    await expect(page.locator("#order-status")).to_have_text("Cancelled")
    await shots.take(page, "order-cancelled")
    order_id = await last_checkout(page)
    assert await order_status(database_url, order_id) == "CANCELLED"
    assert await stock(database_url, saved) == (5, 0)

    await page.get_by_role("link", name="My orders").click()
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.locator("tbody tr")).to_contain_text("Cancelled")
    await shots.take(page, "my-orders")


@pytest.mark.parametrize(
    "context", [{"viewport": PHONE, "is_mobile": True, "has_touch": True}], indirect=True
)
async def test_catalog_pages_by_cursor_and_a_typo_search_finds_the_product_on_a_phone(
    store: str, page: Page, shots: Shots
) -> None:
    await page.goto(f"{store}/")
    await expect(page.locator("#result-count")).to_have_text("320 products")
    names = page.locator(".grid .card a")
    first_page = await names.all_inner_texts()
    await shots.take(page, "catalog")
    assert await page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"
    )  # no sideways scroll

    await page.get_by_role("button", name="Next page").click()
    await expect(names.first).not_to_have_text(first_page[0])
    second_page = await names.all_inner_texts()
    assert len(second_page) == 12 and not set(first_page) & set(second_page)
    await page.get_by_role("button", name="Previous page").click()
    await expect(names.first).to_have_text(first_page[0])

    search = page.get_by_label("Search")
    await search.focus()
    await search.press_sequentially("blutooth speakr")
    await search.press("Enter")  # the keyboard is enough
    await expect(page.get_by_role("heading", level=1)).to_contain_text("blutooth speakr")
    await expect(names.filter(has_text="Bluetooth Speaker").first).to_be_visible()
    await shots.take(page, "search")
    await names.filter(has_text="Bluetooth Speaker").first.click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Bluetooth Speaker")
    await shots.take(page, "product")


async def test_an_out_of_stock_variant_cannot_be_added(
    store: str, database_url: str, page: Page, shots: Shots
) -> None:
    (item,) = await items(database_url, 1, stock=0, min_variants=2)
    await sql(
        database_url,
        "UPDATE product_variants SET stock = 3, reserved = 0"
        " WHERE product_id = (SELECT product_id FROM product_variants WHERE id = :id) AND id <> :id",
        id=item.pk,
    )
    await page.goto(f"{store}/#/product/{quote(item.slug)}")
    sold_out = page.locator(f'input[name="variant"][value="{item.variant_id}"]')
    await expect(sold_out).to_be_disabled()
    await expect(page.locator("label.variant", has=sold_out)).to_contain_text("Out of stock")
    await shots.take(page, "variant-out-of-stock")

    # Stock that runs out while the page is open: the server refuses, the shopper is told.
    available = page.locator('input[name="variant"]:checked')
    chosen = await available.get_attribute("value")
    chosen_label = page.locator("label.variant", has=page.locator(f'input[value="{chosen}"]'))
    await expect(chosen_label).to_contain_text("3 in stock")
    await sql(
        database_url,
        "UPDATE product_variants SET stock = 1 WHERE id = :id",
        id=int(base64.b64decode(chosen).decode().split(":")[1]),
    )
    await page.get_by_label("Quantity").fill("2")
    await page.get_by_role("button", name="Add to cart").click()
    await expect(page.get_by_role("alert")).to_contain_text("is left now")
    await expect(chosen_label).to_contain_text("1 in stock")
    await expect(available).to_have_attribute("value", chosen)
    await page.get_by_label("Quantity").fill("1")
    await sql(
        database_url,
        "UPDATE product_variants SET stock = 0, reserved = 0 WHERE product_id = "
        "(SELECT product_id FROM product_variants WHERE id = :id)",
        id=item.pk,
    )
    await page.get_by_role("button", name="Add to cart").click()
    # Told in the shopper's words (the variant's name, not its SKU), and the page shows the stock
    # as it is now without a reload: nothing left to choose, the button says so.
    await expect(page.get_by_role("alert")).to_contain_text("sold out while you were looking")
    await expect(page.get_by_role("alert")).not_to_contain_text("available")
    await expect(page.locator("label.variant", has=page.locator(f'input[value="{chosen}"]'))).to_contain_text(
        "Out of stock"
    )
    await expect(page.locator('input[name="variant"]:enabled')).to_have_count(0)
    await expect(page.get_by_role("button", name="Out of stock")).to_be_disabled()
    await shots.take(page, "refused")
    assert chosen and chosen != item.variant_id
    assert await sql(database_url, "SELECT count(*) AS n FROM cart_lines") == [(0,)]

    await page.reload()
    await expect(page.get_by_role("button", name="Out of stock")).to_be_disabled()
    await expect(page.locator('input[name="variant"]:enabled')).to_have_count(0)
    await shots.take(page, "product-out-of-stock")


async def test_a_storefront_on_another_origin_in_cors_origins_works_over_http_and_websocket(
    settings: Settings, database_url: str, context: BrowserContext, page: Page, shots: Shots
) -> None:
    (item,) = await items(database_url, 1, stock=5)
    api_socket, api = listening_socket()
    shop_socket, shop = listening_socket()
    configured = settings.model_copy(update={"public_url": api, "cors_origins": shop})
    async with serving(create_app(configured), api_socket), serving(foreign_storefront(api), shop_socket):
        await add_to_cart(page, shop, item)
        await page.goto(f"{shop}/#/checkout")
        await fill_checkout(page, "far@example.com")
        await page.wait_for_url(f"{api}/sandbox/checkout/*")
        watcher, order_id = await watch_order(context, shop)  # live over a cross-origin WebSocket
        await shots.take(watcher, "foreign-order-awaiting-payment")

        await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
        await page.wait_for_url(f"{shop}/#/orders/*")  # the sandbox sends the shopper back to that site
        await expect(page.locator("#order-status")).to_have_text("Paid")
        await expect(watcher.locator("#order-status")).to_have_text("Paid")
        assert await watcher.evaluate("document.body.dataset.neverReloaded") == "yes"
        await shots.take(watcher, "foreign-order-paid")
    assert await order_status(database_url, order_id) == "PAID"


async def test_graphiql_opens_offline_and_runs_a_query(
    store: str, context: BrowserContext, page: Page, shots: Shots
) -> None:
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    await page.goto(f"{store}/graphql")
    await page.locator(".graphiql-execute-button").click()
    await expect(page.locator(".result-window")).to_contain_text("Bluetooth Speaker")
    await shots.take(page, "graphiql")
    assert requested and all(url.startswith(store) or url.startswith("data:") for url in requested)


async def test_a_business_picks_shipping_applies_a_code_and_a_vat_number_and_sees_the_breakdown(
    store: str, database_url: str, page: Page, shots: Shots
) -> None:
    """Issue 15: shipping methods for the address, a discount code, an EU VAT number (reverse
    charge), and the summary the sandbox then charges."""
    (item,) = await items(database_url, 1, stock=5)
    await add_to_cart(page, store, item, quantity=2)
    await page.goto(f"{store}/#/checkout")
    await page.get_by_label("E-mail").fill("buyer@example.fr")
    await page.get_by_label("Full name").fill("Société Exemple")
    await page.get_by_label("Address", exact=True).fill("1 rue de Rivoli")
    await page.get_by_label("City").fill("Paris")
    await page.get_by_label("Country").select_option("FR")
    await page.get_by_label("Postal code").fill("75001")
    await page.get_by_label("Postal code").dispatch_event("change")
    await expect(page.locator("#method-list label.method")).to_have_count(2)
    await page.locator("label.method", has_text="Express").locator("input").check()
    await expect(page.locator("label.method", has_text="Express").locator("input")).to_be_checked()
    await page.get_by_label("Discount code (optional)").fill("welcome10")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#applied-code")).to_have_text("WELCOME10")
    await expect(page.locator("#totals-table")).to_contain_text("VAT FR 20%")
    await page.get_by_label(re.compile(r"^EU VAT number")).fill("FR40303265045")
    await page.get_by_label(re.compile(r"^EU VAT number")).dispatch_event("change")
    await expect(page.locator("#totals-table")).to_contain_text("reverse charge")
    await expect(page.locator("#totals-table")).to_contain_text("Discount")
    await shots.take(page, "checkout-breakdown")
    total = (await page.locator("#checkout-total").inner_text()).strip()
    await page.get_by_role("button", name="Continue to payment").click()

    await page.wait_for_url(f"{store}/sandbox/checkout/*")
    await shots.take(page, "sandbox")
    (row,) = await sql(database_url, "SELECT * FROM orders ORDER BY id DESC LIMIT 1")
    assert row.reverse_charge and row.tax == 0 and row.discount > 0 and row.shipping_method_name == "Express"
    assert row.discount_codes == ["WELCOME10"] and row.vat_number == "FR40303265045"
    digits = re.sub(r"[^0-9]", "", total)
    assert int(digits) == row.total


# ---------------------------------------------------------------- the staff dashboard (/admin)


async def test_staff_sign_in_create_a_product_with_two_variants_see_it_in_the_store_and_ship_an_order(
    store: str, database_url: str, page: Page, shots: Shots
) -> None:
    from tests.dashboard import STAFF_PASSWORD, new_staff
    from tests.shop import checkout, global_id, new_cart, pay

    async with httpx.AsyncClient(base_url=store, timeout=30) as http:
        email = await new_staff(http, database_url, "manager@example.com")

    # Signed out, /admin leads to the sign-in page.
    await page.goto(f"{store}/admin/")
    await page.wait_for_url(f"{store}/admin/login*")
    await shots.take(page, "sign-in")
    await page.locator('input[name="username"]').fill(email)
    await page.locator('input[name="password"]').fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{store}/admin/")
    await shots.take(page, "dashboard")

    await page.goto(f"{store}/admin/products/create")
    await page.locator('input[name="name"]').fill("Harbour Lantern")
    await page.locator('textarea[name="description"]').fill("A storm lantern, made in the dashboard.")
    await page.locator('textarea[name="images_text"]').fill(
        "https://images.example.com/lantern.jpg A lantern"
    )
    await page.locator('input[name="is_active"]').check()
    await shots.take(page, "product-form")
    await page.get_by_role("button", name="Save", exact=True).click()
    await page.wait_for_url(re.compile(r".*/admin/products/(list|detail).*"))
    for sku, name, price in (("LANTERN-S", "Small", "2500"), ("LANTERN-L", "Large", "3900")):
        await page.goto(f"{store}/admin/variants/create")
        await page.locator('input[name="product_slug"]').fill("harbour-lantern")
        await page.locator('input[name="sku"]').fill(sku)
        await page.locator('input[name="name"]').fill(name)
        await page.locator('input[name="price"]').fill(price)
        await page.locator('input[name="stock"]').fill("4")
        await page.locator('input[name="position"]').fill("0")
        await page.get_by_role("button", name="Save", exact=True).click()
        await page.wait_for_url(re.compile(r".*/admin/variants/(list|detail).*"))
    await shots.take(page, "variants")

    # The storefront shows it at once.
    await page.goto(f"{store}/#/product/harbour-lantern")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Harbour Lantern")
    await expect(page.locator('input[name="variant"]')).to_have_count(2)
    await shots.take(page, "storefront-product")

    # Someone buys a lantern and pays; staff ship the order from its page in the dashboard.
    (variant,) = await sql(database_url, "SELECT id FROM product_variants WHERE sku = 'LANTERN-L'")
    async with httpx.AsyncClient(base_url=store, timeout=30) as buyer:
        token = await new_cart(buyer, global_id("ProductVariant", variant.id), 1)
        placed = await checkout(buyer, token)
        await pay(buyer, database_url, placed["order"]["id"])
    (order,) = await sql(database_url, "SELECT number FROM orders ORDER BY id DESC LIMIT 1")
    await page.goto(f"{store}/admin/orders/detail?pk={order.number}")
    await expect(page.get_by_text("PAID").first).to_be_visible()
    # The order reads as an invoice: the address as lines, the UK shipping and VAT beside the goods,
    # and the parts that count add up to the total.
    await expect(page.locator("#shipping_address")).to_contain_text("12 Analytical Row")
    await expect(page.locator(".order-breakdown")).to_contain_text("Shipping (Standard)")
    counted = await page.locator('.breakdown-part[data-counts="true"]').evaluate_all(
        "rows => rows.map(row => Number(row.dataset.amount))"
    )
    total = int(await page.locator(".breakdown-total").get_attribute("data-amount") or "")
    (row,) = await sql(
        database_url, "SELECT subtotal, shipping, tax, total FROM orders WHERE number = :n", n=order.number
    )
    assert sum(counted) == total == row.total and row.shipping > 0 and row.tax > 0
    await expect(page.locator(".order-breakdown")).to_contain_text(f"{row.tax / 100:,.2f}")
    await shots.take(page, "order-paid")
    # Only the moves the state machine allows from PAID (ship goes through processing).
    offered = page.locator(".card-actions [data-sa-name]")
    names = "links => links.map(link => link.dataset.saName).sort()"
    assert await offered.evaluate_all(names) == ["cancel", "processing", "refund", "ship"]
    # Cancelling asks first, with a button that says what it does (the dialog's "Cancel" closes it).
    await page.locator('.card-actions [data-sa-name="cancel"]').click()
    dialog = page.locator("#modal-action")
    await expect(dialog).to_contain_text("Cancel this order? A paid order is refunded.")
    await expect(dialog).to_have_class(re.compile(r"\bshow\b"))
    await expect(dialog.locator("#actionSubmit")).to_have_text("Cancel order")
    await shots.take(page, "cancel-dialog")
    await dialog.get_by_role("button", name="Cancel", exact=True).click()
    await expect(dialog).to_be_hidden()
    await page.locator('[data-sa-name="ship"]').first.click()
    await page.locator('#modal-form input[name="tracking_number"]').fill("1Z-LANTERN-42")
    await page.locator("#actionSubmit").click()

    async def shipped() -> bool:
        (row,) = await sql(
            database_url, "SELECT status, tracking_number FROM orders WHERE number = :n", n=order.number
        )
        return (row.status, row.tracking_number) == ("SHIPPED", "1Z-LANTERN-42")

    await eventually(shipped, timeout=30)
    await page.goto(f"{store}/admin/orders/detail?pk={order.number}")
    await expect(page.get_by_text("1Z-LANTERN-42").first).to_be_visible()
    await expect(page.get_by_text(f"Order {order.number} is shipped.")).to_be_visible()
    assert await offered.evaluate_all(names) == ["deliver", "refund"]
    await shots.take(page, "order-shipped")
    await page.goto(f"{store}/admin/orders/list")
    listed = page.locator(f'tr[data-sa-pk="{order.number}"]')
    await expect(listed).to_contain_text("1Z-LANTERN-42")
    # The row's actions are the order page's, each an icon one can see (and its name as a tooltip).
    for name, text in (("deliver", "Mark delivered"), ("refund", "Refund")):
        await expect(listed.locator(f'[data-sa-name="{name}"][title="{text}"] i')).to_be_visible()
    await expect(listed.locator("[data-sa-name]")).to_have_count(3)  # and "view"
    await shots.take(page, "orders")


async def test_a_customer_manages_their_account_pages_and_deletes_the_account(
    store: str, database_url: str, page: Page, shots: Shots
) -> None:
    await page.goto(f"{store}/#/account")
    form = page.locator("#register-form")
    await form.get_by_label("Name").fill("Grace Hopper")
    await form.get_by_label("E-mail").fill("grace@example.com")
    await form.get_by_label("Password (10 characters or more)").fill("correct horse battery")
    await form.get_by_role("button", name="Create account").click()
    await page.wait_for_url(f"{store}/#/")
    # The catalog has rendered (a page still loading would replace the next one when it lands).
    await expect(page.locator("main a[href^='#/product/']").first).to_be_visible()

    await page.get_by_role("link", name="Account", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    await page.get_by_role("link", name="Profile").click()
    await expect(page.locator("#verified")).to_have_text("not verified yet")
    await page.get_by_label("Name").fill("Grace B. Hopper")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#out")).to_contain_text("Your name was saved")
    await shots.take(page, "profile")

    await page.get_by_role("link", name="Addresses").click()
    address = page.locator("#address-form")
    for label, value in (
        ("Name", "Grace <b>Hopper</b>"),
        ("Address", "7 Compiler Lane"),
        ("City", "Arlington"),
        ("Postal code", "22201"),
        ("Country code (e.g. US)", "us"),
    ):
        await address.get_by_label(label, exact=True).fill(value)
    await address.get_by_role("button", name="Save address").click()
    entry = page.locator(".address-book li")
    await expect(entry).to_have_count(1)
    await expect(entry).to_contain_text("Grace <b>Hopper</b>, 7 Compiler Lane")  # shown escaped
    await expect(entry).to_contain_text("Default shipping · Default billing")
    await shots.take(page, "addresses")

    # At checkout the default shipping address fills the form; "A new address" empties it.
    (item,) = await items(database_url, 1, stock=5)
    await add_to_cart(page, store, item)
    await page.goto(f"{store}/#/checkout")
    await expect(page.get_by_label("Saved address")).to_contain_text("7 Compiler Lane")
    await expect(page.get_by_label("Address", exact=True)).to_have_value("7 Compiler Lane")
    await expect(page.get_by_label("Full name")).to_have_value("Grace <b>Hopper</b>")
    await expect(page.get_by_label("Country")).to_have_value("US")
    await expect(page.locator("#method-list input[type=radio]").first).to_be_checked()  # the totals follow
    await shots.take(page, "checkout-saved-address")
    await page.get_by_label("Saved address").select_option(label="A new address")
    await expect(page.get_by_label("Address", exact=True)).to_have_value("")

    await page.get_by_role("link", name="Account", exact=True).click()
    await page.get_by_role("link", name="Password").click()
    await page.get_by_label("Current password").fill("correct horse battery")
    await page.get_by_label("New password (10 characters or more)").fill("an even longer passphrase")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator("#out")).to_contain_text("Your password was changed")

    await page.get_by_role("link", name="Sessions").click()
    await expect(page.locator("table.sessions tbody tr")).to_have_count(1)
    await expect(page.locator("table.sessions")).to_contain_text("This device")
    await shots.take(page, "sessions")

    await page.get_by_role("link", name="My data").click()
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Download my data").click()
    exported = json.loads((await (await download.value).path()).read_text())
    assert exported["user"]["name"] == "Grace B. Hopper"
    assert exported["addresses"][0]["address"]["line1"] == "7 Compiler Lane"

    await page.get_by_role("link", name="Delete account").click()
    await page.get_by_label("Your password").fill("an even longer passphrase")
    await page.get_by_role("button", name="Delete my account").click()
    await page.wait_for_url(f"{store}/#/account")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in or create an account")
    await shots.take(page, "deleted")
    (user,) = await sql(database_url, "SELECT deleted_at FROM users")
    assert user.deleted_at is not None
