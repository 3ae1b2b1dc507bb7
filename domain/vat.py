"""EU VAT numbers, checked offline (format and check digits) with python-stdnum, and the EU B2B
reverse charge: a business in another EU member state than the shop's pays no VAT."""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

# Member states by ISO 3166 code (Greece's VAT numbers say EL).
EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
MAX_VAT_NUMBER_LENGTH = 32
REVERSE_CHARGE_REASON = "EU B2B reverse charge (Article 196 of Directive 2006/112/EC): VAT due by the buyer"


@dataclass(slots=True, frozen=True)
class VatCheck:
    number: str  # compacted, upper case: "FR40303265045"
    valid: bool
    country: str | None  # ISO 3166 code of the number (GR for EL), when valid


def check(raw: str) -> VatCheck:
    if len(raw) > MAX_VAT_NUMBER_LENGTH or not raw.isprintable():
        return VatCheck(number=raw[:MAX_VAT_NUMBER_LENGTH], valid=False, country=None)
    try:
        number = eu_vat.validate(raw)
    except ValidationError:
        return VatCheck(number=raw.strip(), valid=False, country=None)
    prefix = number[:2].upper()
    country = "GR" if prefix == "EL" else prefix
    if country not in EU_COUNTRIES:  # XI (Northern Ireland) is not reverse-charged by an EU shop here
        return VatCheck(number=number, valid=False, country=None)
    return VatCheck(number=number, valid=True, country=country)


def reverse_charge(shop_country: str, buyer_country: str, vat: VatCheck | None) -> bool:
    """Whether VAT is left to the buyer: a valid number of the buyer's (billing) country, in the EU
    but not the shop's own country, sold to by a shop in the EU."""
    return (
        vat is not None
        and vat.valid
        and shop_country in EU_COUNTRIES
        and buyer_country in EU_COUNTRIES
        and buyer_country != shop_country
        and vat.country == buyer_country
    )
