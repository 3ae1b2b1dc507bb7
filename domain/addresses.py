"""Validation of shipping addresses and redirect URLs given to checkout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# ISO 3166-1 alpha-2: officially assigned codes.
COUNTRY_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)

MAX_FIELD_LENGTH = 200
MAX_URL_LENGTH = 2048
REQUIRED_FIELDS = ("name", "line1", "city", "postal_code", "country")
OPTIONAL_FIELDS = ("line2", "state")
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "state", "postal_code", "country")  # in label order


@dataclass(slots=True, frozen=True)
class FieldProblem:
    field: str
    message: str


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(value.split())
    return cleaned or None


def normalise_address(raw: dict[str, str | None]) -> tuple[dict[str, str | None], list[FieldProblem]]:
    """Trim every field, upper-case the country, and report what is missing or malformed."""
    address: dict[str, str | None] = {}
    problems: list[FieldProblem] = []
    for field in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS):
        value = _clean(raw.get(field))
        if value is not None and ("\x00" in value or len(value) > MAX_FIELD_LENGTH):
            problems.append(FieldProblem(field, f"must be at most {MAX_FIELD_LENGTH} printable characters"))
        elif value is None and field in REQUIRED_FIELDS:
            problems.append(FieldProblem(field, "is required"))
        address[field] = value
    country = address.get("country")
    if country is not None:
        address["country"] = country.upper()
        if address["country"] not in COUNTRY_CODES:
            problems.append(FieldProblem("country", "must be an ISO 3166-1 alpha-2 country code, such as US"))
    return address, problems


def kept_address(value: dict[str, Any]) -> dict[str, str | None]:
    """A kept address (an order's shipping or billing address, the address book) with every field
    present: the optional ones may be missing from older rows."""
    return {field: value.get(field) for field in ADDRESS_FIELDS}


def address_lines(value: dict[str, Any]) -> list[str]:
    """A kept address as the lines of a label: name, street lines, city with state and postcode,
    country code. Used wherever a person reads an address (the staff dashboard)."""
    address = kept_address(value)
    place = ", ".join(part for part in (address["city"], address["state"], address["postal_code"]) if part)
    lines = (address["name"], address["line1"], address["line2"], place, address["country"])
    return [line for line in lines if line]


def redirect_allowed(url: str, allowed_origins: list[str]) -> bool:
    """Checkout redirects go back to the storefront only, never to an arbitrary site."""
    if len(url) > MAX_URL_LENGTH or not url.isprintable():
        return False
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    return any(origin == _origin(allowed) for allowed in allowed_origins)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
