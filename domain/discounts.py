"""Discount codes: whether one applies to a cart, and how much it takes off.

A code is checked when it is applied to a cart (cartDiscountCodeApply) and again at checkout,
where its use is counted in the order's transaction (models.totals_repository.consume_code).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.errors import DiscountCode as Code
from domain.errors import Problem
from domain.totals import percentage_off
from models.totals_repository import CodeRow

MAX_CODE_LENGTH = 64


@dataclass(slots=True, frozen=True)
class CodedLine:
    amount: int
    product_id: int
    category_id: int | None


@dataclass(slots=True, frozen=True)
class Discount:
    amount: int  # before domain.totals caps it at what it may take
    discountable: tuple[bool, ...]  # which lines the code covers
    free_shipping: bool


def normalise(raw: str) -> str | None:
    code = raw.strip().upper()
    if not code or len(code) > MAX_CODE_LENGTH or not code.isprintable():
        return None
    return code


def covers(code: CodeRow, line: CodedLine) -> bool:
    if not code.product_ids and not code.category_ids:
        return True
    return line.product_id in code.product_ids or (
        line.category_id is not None and line.category_id in code.category_ids
    )


def problems(code: CodeRow | None, lines: Sequence[CodedLine], now: datetime) -> list[Problem]:
    field = ("code",)
    if code is None:
        return [Problem(Code.DISCOUNT_CODE_NOT_FOUND, "There is no such discount code.", field)]
    if not code.is_active:
        return [Problem(Code.DISCOUNT_CODE_INACTIVE, "This discount code is not active.", field)]
    if code.starts_at is not None and now < code.starts_at:
        return [Problem(Code.DISCOUNT_CODE_NOT_YET_VALID, "This discount code is not valid yet.", field)]
    if code.ends_at is not None and now >= code.ends_at:
        return [Problem(Code.DISCOUNT_CODE_EXPIRED, "This discount code has expired.", field)]
    if code.usage_limit is not None and code.used >= code.usage_limit:
        return [Problem(Code.DISCOUNT_CODE_USED_UP, "This discount code has been used up.", field)]
    subtotal = sum(line.amount for line in lines)
    if subtotal < code.min_subtotal:
        return [
            Problem(
                Code.DISCOUNT_CODE_MINIMUM_NOT_MET,
                f"This discount code needs a subtotal of at least {code.min_subtotal} (minor units).",
                field,
            )
        ]
    if code.kind != "free_shipping" and not any(covers(code, line) for line in lines):
        return [
            Problem(Code.DISCOUNT_CODE_NOT_APPLICABLE, "This code applies to nothing in the cart.", field)
        ]
    return []


def discount_of(code: CodeRow | None, lines: Sequence[CodedLine]) -> Discount:
    if code is None:
        return Discount(0, tuple(True for _ in lines), free_shipping=False)
    discountable = tuple(covers(code, line) for line in lines)
    eligible = sum(line.amount for line, covered in zip(lines, discountable, strict=True) if covered)
    if code.kind == "percentage":
        amount = percentage_off(eligible, code.value)
    elif code.kind == "fixed":
        amount = min(code.value, eligible)
    else:
        amount = 0
    return Discount(amount, discountable, free_shipping=code.kind == "free_shipping")
