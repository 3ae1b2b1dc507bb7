"""Reviews in the storefront, in a real browser: a customer who received a product reviews it, and
review text with markup in it shows as the text it is (tests/test_browser.py's fixtures)."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from playwright.async_api import Page, expect

from tests.accounts import register, staff_token
from tests.browser import Shots
from tests.shop import received_product
from tests.support import graphql, sql
from tests.test_browser import browser, context, items, page, shots, store  # noqa: F401  (fixtures)

HOSTILE = '<img src=x onerror="document.body.dataset.owned=1">Great <b>value</b>'


async def test_a_customer_who_received_a_product_reviews_it_and_markup_stays_text(
    store: str,  # noqa: F811
    database_url: str,
    page: Page,  # noqa: F811
    shots: Shots,  # noqa: F811
) -> None:
    await items(database_url, 1, stock=50)
    async with httpx.AsyncClient(base_url=store) as api:
        staff = await staff_token(api, database_url, "boss@example.com")
        other = (await register(api, "eve@example.com", name="Eve Mallory"))["accessToken"]
        product = await received_product(api, database_url, other, staff)
        submitted = await graphql(
            api,
            "mutation($p: ID!, $b: String!) { reviewSubmit(productId: $p, rating: 2, body: $b) { userErrors { code } } }",
            {"p": product, "b": HOSTILE},
            token=other,
        )
        assert submitted["data"]["reviewSubmit"]["userErrors"] == []
        customer = (await register(api, "grace@example.com", name="Grace Brewster Hopper"))["accessToken"]
        assert await received_product(api, database_url, customer, staff) == product
    (row,) = await sql(database_url, "SELECT slug FROM products WHERE rating_count = 1")

    await page.goto(f"{store}/#/account")
    login = page.locator("#login-form")
    await login.get_by_label("E-mail").fill("grace@example.com")
    await login.get_by_label("Password").fill("correct horse battery")
    await login.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#account-link")).to_have_text("Account")
    await page.wait_for_url(f"{store}/#/")  # signed in, the storefront goes to the catalog
    await expect(page.locator("h1")).to_have_text("Catalog")

    await page.goto(f"{store}/#/product/{quote(row.slug)}")
    reviews = page.locator("#review-list li")
    await expect(reviews).to_have_count(1)
    await expect(reviews.first.locator(".review-body")).to_have_text(HOSTILE)
    await expect(reviews.first.locator(".review-meta")).to_contain_text("Eve M.")
    await expect(page.locator(".rating")).to_contain_text("2.0 out of 5 from 1 review")
    await shots.take(page, "product-with-review")

    form = page.locator("#review-form")
    await form.get_by_label("Your review").fill("Sturdy and quiet.\nWould buy again.")
    await form.locator("#review-submit").click()
    await expect(page.locator("#review-result")).to_contain_text("Choose a rating")
    await form.locator("label[for=rating-5]").click()
    await form.get_by_label("Title (optional)").fill("Five stars")
    await form.locator("#review-submit").click()
    await expect(page.locator("#review-result")).to_contain_text("saved")
    await expect(reviews).to_have_count(2)
    await expect(reviews.first.locator(".review-meta")).to_contain_text("Grace H.")
    await expect(page.locator(".rating")).to_contain_text("3.5 out of 5 from 2 reviews")
    await expect(page.locator("#more-reviews")).to_be_hidden()  # two reviews fit on one page
    await shots.take(page, "reviewed")
    assert await page.evaluate("document.body.dataset.owned") is None
    assert await page.locator("#review-list img").count() == 0
