"""Checkout reads its totals' references (the cart's discount code, the address's shipping methods
and tax rates) with the cart's lines, in one statement (models.checkout_repository.claimed_lines):
they must be exactly what the reads of their own (models.totals_repository) answer, for every
kind of address, and a code's validity window must survive its trip through JSON."""

from __future__ import annotations

from datetime import timedelta

import httpx

from models.checkout_repository import claimed_lines
from models.holding_repository import Shopper
from models.totals_repository import References, code_of_cart, methods_for_address, rates_for
from tests.shop import new_cart, variant_with_stock
from tests.support import graphql, own_engine, sql

APPLY = """
mutation($token: String, $code: String!) {
  cartDiscountCodeApply(cartToken: $token, code: $code) { userErrors { code } }
}
"""
ADDRESSES = [
    {"country": "DE", "state": None, "postal_code": "60313"},
    {"country": "US", "state": "ny", "postal_code": "10004"},  # a region, given in lower case
    {"country": "US", "state": "CA", "postal_code": None},
    {"country": "FR", "state": None, "postal_code": "75001"},
    {"country": "AQ", "state": None, "postal_code": "BIQQ 1ZZ"},  # no zone delivers there
    {"country": None, "state": None, "postal_code": None},
]


async def test_the_references_read_with_the_lines_are_those_of_the_reads_of_their_own(
    client: httpx.AsyncClient, database_url: str
) -> None:
    await sql(
        database_url,
        "INSERT INTO discount_codes (code, kind, value, starts_at, ends_at, category_ids, usage_limit)"
        " VALUES ('WINDOW', 'percentage', 1000, now() - interval '1 day 3.25 seconds',"
        " now() + interval '2 days', '{}', 7)",
    )
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    token = await new_cart(client, variant_id, 2)
    applied = await graphql(client, APPLY, {"token": token, "code": "WINDOW"})
    assert applied["data"]["cartDiscountCodeApply"]["userErrors"] == []
    (cart,) = await sql(database_url, "SELECT id FROM carts WHERE token = :t", t=token)
    shopper = Shopper(user_id=None, email="refs@example.com", client_key=None)

    engine = own_engine(database_url)
    try:
        found: list[References] = []
        async with engine.connect() as conn:
            for address in ADDRESSES:
                claimed = await claimed_lines(conn, cart.id, timedelta(minutes=10), shopper, address)
                country, region = address["country"] or "", address["state"]
                own = References(
                    code=await code_of_cart(conn, cart.id),
                    methods=await methods_for_address(conn, country, region, address["postal_code"]),
                    rates=sorted(
                        await rates_for(conn, country, region) if country else [], key=lambda rate: rate.id
                    ),
                )
                assert claimed.references == own, address
                found.append(own)
                assert [line.quantity for line in claimed.lines] == [2]
            assert own.code is not None and own.code.starts_at is not None and own.code.ends_at is not None
            assert own.code.starts_at.microsecond != 0  # fractions of a second come back as they were
            # The demo's zones and rates: some addresses have methods and rates, some none.
            assert any(refs.methods for refs in found) and not all(refs.methods for refs in found)
            assert any(refs.rates for refs in found) and not all(refs.rates for refs in found)
            assert any(rate.region for refs in found for rate in refs.rates)  # a region's own rate
    finally:
        await engine.dispose()
