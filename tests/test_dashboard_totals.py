"""Shipping zones and methods, tax rates and discount codes in the dashboard (/admin): staff create
and edit them through domain.totals_admin, the staff GraphQL API sees the same rows, bad input is a
form error that writes nothing, customers never reach the pages."""

from __future__ import annotations

import httpx

from tests.accounts import register, staff_token
from tests.dashboard import STAFF_PASSWORD, csrf_of, dashboard_sign_in, open_page, post_form, signed_in_staff
from tests.support import RunningServer, graphql, sql

PAGES = ("shipping-zones", "shipping-methods", "tax-rates", "discount-codes")


async def test_staff_create_a_discount_code_and_a_tax_rate_the_api_sees(
    server: RunningServer, client: httpx.AsyncClient, database_url: str
) -> None:
    async with signed_in_staff(server.url, database_url) as staff:
        for page in PAGES:
            await open_page(staff, f"/admin/{page}/list")
        created = await post_form(
            staff,
            "/admin/discount-codes/create",
            {
                "code": "winter10",
                "kind": "percentage",
                "value": "1000",
                "min_subtotal": "",
                "is_active": "on",
            },
        )
        assert created.status_code in (302, 303), created.text[-2000:]
        rate = await post_form(
            staff,
            "/admin/tax-rates/create",
            {
                "name": "MT test region",
                "country": "mt",
                "region": "t1",
                "tax_class": "reduced",
                "basis_points": "500",
            },
        )
        assert rate.status_code in (302, 303), rate.text[-2000:]
        await open_page(staff, "/admin/discount-codes/list", q="WINTER")
        (code_row,) = await sql(database_url, "SELECT id FROM discount_codes WHERE code = 'WINTER10'")
        (rate_row,) = await sql(database_url, "SELECT id FROM tax_rates WHERE region = 'T1'")
        for path, pk in (("discount-codes", code_row.id), ("tax-rates", rate_row.id)):
            for page in ("detail", "edit"):
                await open_page(staff, f"/admin/{path}/{page}", pk=pk)
        edited = await post_form(
            staff,
            f"/admin/discount-codes/edit?pk={code_row.id}",
            {
                "code": "WINTER10",
                "kind": "percentage",
                "value": "1500",
                "usage_limit": "100",
                "is_active": "on",
            },
        )
        assert edited.status_code in (302, 303), edited.text[-2000:]
    token = await staff_token(client, database_url)
    body = await graphql(
        client,
        "{ discountCodes { code kind value usageLimit isActive } taxRates { country region taxClass rate name } }",
        token=token,
    )
    assert "errors" not in body, body
    assert {"code": "WINTER10", "kind": "percentage", "value": 1500, "usageLimit": 100, "isActive": True} in (
        body["data"]["discountCodes"]
    )
    assert {
        "country": "MT",
        "region": "T1",
        "taxClass": "reduced",
        "rate": 0.05,
        "name": "MT test region",
    } in (body["data"]["taxRates"])


async def test_invalid_input_is_a_form_error_and_writes_nothing(
    server: RunningServer, database_url: str
) -> None:
    async with signed_in_staff(server.url, database_url) as staff:
        too_much = await post_form(
            staff, "/admin/discount-codes/create", {"code": "HALFOFF", "kind": "percentage", "value": "20000"}
        )
        assert too_much.status_code == 422 and "INVALID" in too_much.text, too_much.text[-2000:]
        nowhere = await post_form(
            staff,
            "/admin/tax-rates/create",
            {"name": "Nowhere", "country": "XX", "tax_class": "standard", "basis_points": "1900"},
        )
        assert nowhere.status_code == 422 and "ISO 3166-1" in nowhere.text, nowhere.text[-2000:]
        first = await post_form(
            staff,
            "/admin/tax-rates/create",
            {
                "name": "CY reduced",
                "country": "CY",
                "region": "T1",
                "tax_class": "reduced",
                "basis_points": "2000",
            },
        )
        assert first.status_code in (302, 303), first.text[-2000:]
        twice = await post_form(
            staff,
            "/admin/tax-rates/create",
            {
                "name": "CY reduced again",
                "country": "CY",
                "region": "T1",
                "tax_class": "reduced",
                "basis_points": "550",
            },
        )
        assert twice.status_code == 422 and "DUPLICATE" in twice.text, twice.text[-2000:]
        bad_bands = await post_form(
            staff,
            "/admin/shipping-methods/create",
            {"zone_id": "1", "name": "Band", "kind": "subtotal", "bands": "{"},
        )
        assert bad_bands.status_code == 422 and "JSON" in bad_bands.text
    assert [
        tuple(r) for r in await sql(database_url, "SELECT code FROM discount_codes WHERE code = 'HALFOFF'")
    ] == []
    rates = await sql(
        database_url, "SELECT country, basis_points FROM tax_rates WHERE country = 'XX' OR region = 'T1'"
    )
    assert [tuple(r) for r in rates] == [("CY", 2000)]
    assert (await sql(database_url, "SELECT count(*) AS n FROM shipping_methods WHERE name = 'Band'"))[
        0
    ].n == 0


async def test_staff_delete_a_zone_and_customers_never_reach_the_pages(
    server: RunningServer, database_url: str
) -> None:
    async with signed_in_staff(server.url, database_url) as staff:
        zone = await post_form(
            staff, "/admin/shipping-zones/create", {"name": "Dashboard DACH", "countries": "de, at ch"}
        )
        assert zone.status_code in (302, 303), zone.text[-2000:]
        (row,) = await sql(
            database_url, "SELECT id, countries FROM shipping_zones WHERE name = 'Dashboard DACH'"
        )
        assert row.countries == ["DE", "AT", "CH"]
        method = await post_form(
            staff,
            "/admin/shipping-methods/create",
            {
                "zone_id": str(row.id),
                "name": "Dashboard courier",
                "kind": "subtotal",
                "bands": '[{"from": 0, "price": 699}, {"from": 5000, "price": 0}]',
                "is_active": "on",
            },
        )
        assert method.status_code in (302, 303), method.text[-2000:]
        (method_row,) = await sql(
            database_url, "SELECT bands FROM shipping_methods WHERE zone_id = :z", z=row.id
        )
        assert method_row.bands == [{"from": 0, "price": 699}, {"from": 5000, "price": 0}]
        page = await staff.get("/admin/shipping-zones/list")
        deleted = await staff.post(
            "/admin/_api/shipping-zones/action",
            params={"name": "delete", "pks": row.id},
            data={"csrftoken": csrf_of(page.text)},
        )
        assert deleted.status_code == 200, deleted.text
    assert (
        await sql(database_url, "SELECT count(*) AS n FROM shipping_zones WHERE name = 'Dashboard DACH'")
    )[0].n == 0
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as customer:
        await register(customer, email="shopper@example.com", password=STAFF_PASSWORD)
        assert (await dashboard_sign_in(customer, "shopper@example.com")).status_code == 400
        for page_key in PAGES:
            for path in (f"/admin/{page_key}/list", f"/admin/{page_key}/create"):
                answer = await customer.get(path)
                assert answer.status_code == 303 and "/admin/login" in answer.headers["location"], path
