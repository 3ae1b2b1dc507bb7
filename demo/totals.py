"""The demo's shipping zones and methods, tax rates and discount codes (issue 15).

Loaded once, when there is no shipping zone yet (so staff edits are never undone by a reseed).
VAT: the EU member states' standard rates as published by the European Commission ("VAT rates
applied in the Member States", 2025 edition: EE 24 % from July 2025, FI 25.5 %, RO 21 % and SK
23 % from 2025), with a reduced rate for a few of them, the UK's 20 %/5 %, Canada's 5 % GST
with Ontario's 13 % HST. US: a documented EXAMPLE set of state-level sales tax rates (state base
rates only; real shops add county and city rates, or use Stripe Tax); states not listed pay none.
"""

from __future__ import annotations

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

EU_STANDARD_VAT = {
    "AT": 2000, "BE": 2100, "BG": 2000, "CY": 1900, "CZ": 2100, "DE": 1900, "DK": 2500, "EE": 2400,
    "ES": 2100, "FI": 2550, "FR": 2000, "GR": 2400, "HR": 2500, "HU": 2700, "IE": 2300, "IT": 2200,
    "LT": 2100, "LU": 1700, "LV": 2100, "MT": 1800, "NL": 2100, "PL": 2300, "PT": 2300, "RO": 2100,
    "SE": 2500, "SI": 2200, "SK": 2300,
}  # fmt: skip
REDUCED_VAT = {"DE": 700, "FR": 550, "AT": 1000, "IT": 1000, "ES": 1000, "NL": 900, "GB": 500}
US_STATE_SALES_TAX = {
    "CA": 725, "NY": 400, "TX": 625, "WA": 650, "FL": 600, "IL": 625, "PA": 600, "NJ": 663, "MA": 625,
}  # fmt: skip
OTHER_RATES = [("GB", "", "standard", 2000, "VAT GB 20%"), ("CA", "", "standard", 500, "GST CA 5%"),
               ("CA", "ON", "standard", 1300, "HST ON 13%")]  # fmt: skip

# (zone, countries, [(method, kind, price, bands, free_above, estimate)])
ZONES = [
    ("Germany", ["DE"], [
        ("Standard", "flat", 490, [], 5000, "2-3 business days"),
        ("Express", "weight", 990, [{"from": 2000, "price": 1490}, {"from": 10000, "price": 2490}], None,
         "1 business day"),
    ]),
    ("European Union", sorted(set(EU_STANDARD_VAT) - {"DE"}), [
        ("Standard", "flat", 990, [], 10000, "3-6 business days"),
        ("Express", "weight", 1990, [{"from": 2000, "price": 2990}], None, "1-2 business days"),
    ]),
    ("United Kingdom", ["GB"], [("Standard", "flat", 1290, [], None, "4-7 business days")]),
    ("North America", ["US", "CA"], [
        ("Standard", "subtotal", 799, [{"from": 5000, "price": 499}, {"from": 10000, "price": 0}], None,
         "5-8 business days"),
        ("Express", "weight", 2499, [{"from": 5000, "price": 3999}], None, "2-3 business days"),
    ]),
]  # fmt: skip

# (code, kind, value, min_subtotal, usage_limit): 10 % off, 5.00 off from 25.00, free shipping from 30.00.
CODES = [
    ("WELCOME10", "percentage", 1000, 0, None),
    ("SAVE5", "fixed", 500, 2500, None),
    ("FREESHIP", "free_shipping", 0, 3000, None),
]


def tax_rates() -> list[tuple[str, str, str, int, str]]:
    rows = [(c, "", "standard", r, f"VAT {c} {r / 100:g}%") for c, r in EU_STANDARD_VAT.items()]
    rows += [(c, "", "reduced", r, f"VAT {c} {r / 100:g}%") for c, r in REDUCED_VAT.items()]
    rows += [("US", s, "standard", r, f"Sales tax {s} {r / 100:g}%") for s, r in US_STATE_SALES_TAX.items()]
    rows += OTHER_RATES
    return rows


async def load_totals(conn: AsyncConnection) -> bool:
    """Seed zones, methods, rates and codes unless shipping zones exist; True when it did."""
    if (await conn.execute(text("SELECT EXISTS (SELECT 1 FROM shipping_zones)"))).scalar_one():
        return False
    for position, (zone, countries, methods) in enumerate(ZONES):
        zone_id = (
            await conn.execute(
                text("INSERT INTO shipping_zones (name, countries) VALUES (:name, :countries) RETURNING id"),
                {"name": zone, "countries": countries},
            )
        ).scalar_one()
        for index, (name, kind, price, bands, free_above, estimate) in enumerate(methods):
            await conn.execute(
                text(
                    "INSERT INTO shipping_methods (zone_id, name, kind, price, bands, free_above,"
                    " delivery_estimate, position) VALUES (:zone_id, :name, :kind, :price,"
                    " CAST(:bands AS jsonb), :free_above, :estimate, :position)"
                ),
                {
                    "zone_id": zone_id,
                    "name": name,
                    "kind": kind,
                    "price": price,
                    "bands": orjson.dumps(bands).decode(),
                    "free_above": free_above,
                    "estimate": estimate,
                    "position": position * 10 + index,
                },
            )
    await conn.execute(
        text(
            "INSERT INTO tax_rates (country, region, tax_class, basis_points, name)"
            " VALUES (:country, :region, :tax_class, :basis_points, :name) ON CONFLICT DO NOTHING"
        ),
        [
            dict(zip(("country", "region", "tax_class", "basis_points", "name"), r, strict=True))
            for r in tax_rates()
        ],
    )
    await conn.execute(
        text(
            "INSERT INTO discount_codes (code, kind, value, min_subtotal, usage_limit)"
            " VALUES (:code, :kind, :value, :min_subtotal, :usage_limit) ON CONFLICT (code) DO NOTHING"
        ),
        [dict(zip(("code", "kind", "value", "min_subtotal", "usage_limit"), c, strict=True)) for c in CODES],
    )
    return True
