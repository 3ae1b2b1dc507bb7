"""What a shipping method costs for a cart: flat, by subtotal band, by weight band, free above."""

from __future__ import annotations

from typing import Any

from models.totals_repository import MethodRow


def band_price(bands: list[dict[str, Any]], measure: int, default: int) -> int:
    """The price of the last band whose `from` the measure reaches (bands sorted by `from`)."""
    price = default
    for band in sorted(bands, key=lambda band: int(band["from"])):
        if measure >= int(band["from"]):
            price = int(band["price"])
    return price


def method_price(method: MethodRow, *, subtotal: int, weight_grams: int) -> int:
    if method.free_above is not None and subtotal >= method.free_above:
        return 0
    if method.kind == "subtotal":
        return band_price(method.bands, subtotal, method.price)
    if method.kind == "weight":
        return band_price(method.bands, weight_grams, method.price)
    return method.price


def valid_bands(bands: list[dict[str, Any]]) -> bool:
    return all(
        isinstance(band, dict)
        and set(band) == {"from", "price"}
        and all(isinstance(band[key], int) and 0 <= band[key] <= 2**31 - 1 for key in band)
        for band in bands
    )
