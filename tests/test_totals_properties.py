"""Properties of the one money calculation (domain.totals), for any lines hypothesis can think of.

Totals are never negative; the components add up exactly (total = subtotal - discount + shipping
+ tax, or without + tax when prices include it); tax is the sum of its lines; a 100 % discount
floors at zero; the discount's split across lines loses or adds no cent; a worked example.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.totals import Line, TaxRate, allocate, compute, percentage_off, round_half_even, tax_of

PROPERTIES = settings(database=None, max_examples=300)
RATES = st.sampled_from(
    [None, TaxRate("VAT DE 19%", 1900), TaxRate("VAT FR 5.5%", 550), TaxRate("Sales tax NY", 888)]
)
amounts = st.integers(min_value=0, max_value=10**7)
lines = st.lists(
    st.builds(Line, amount=amounts, tax=RATES, discountable=st.booleans()), min_size=0, max_size=30
)


@PROPERTIES
@given(lines, amounts, amounts, RATES, st.booleans())
def test_components_add_up_and_are_never_negative(
    items: list[Line], discount: int, shipping: int, shipping_tax: TaxRate | None, included: bool
) -> None:
    totals = compute(
        items, discount=discount, shipping=shipping, shipping_tax=shipping_tax, prices_include_tax=included
    )
    for amount in (totals.subtotal, totals.discount, totals.shipping, totals.tax, totals.total):
        assert amount >= 0
    assert totals.tax == sum(line.amount for line in totals.tax_lines)
    expected = totals.subtotal - totals.discount + totals.shipping + (0 if included else totals.tax)
    assert totals.total == expected
    assert totals.discount <= totals.subtotal
    assert sum(totals.line_discounts) == totals.discount
    for line, part in zip(items, totals.line_discounts, strict=True):
        assert 0 <= part <= (line.amount if line.discountable else 0)
    if included:
        assert totals.tax <= totals.total


@PROPERTIES
@given(lines, amounts, RATES, st.booleans())
def test_a_full_discount_floors_at_zero(
    items: list[Line], shipping: int, shipping_tax: TaxRate | None, included: bool
) -> None:
    everything = [Line(line.amount, line.tax, True) for line in items]
    subtotal = sum(line.amount for line in everything)
    totals = compute(
        everything,
        discount=percentage_off(subtotal, 10_000) + 12345,
        shipping=shipping,
        shipping_tax=shipping_tax,
        prices_include_tax=included,
    )
    assert totals.discount == subtotal
    goods_tax = sum(line.amount for line in totals.tax_lines) - (
        tax_of(shipping, shipping_tax, included=included) if shipping_tax else 0
    )
    assert goods_tax == 0
    assert totals.total == shipping + (0 if included else totals.tax)


@PROPERTIES
@given(st.integers(min_value=0, max_value=10**9), st.lists(st.integers(0, 10**7), max_size=40))
def test_allocation_never_loses_or_adds_a_cent(amount: int, weights: list[int]) -> None:
    parts = allocate(min(amount, sum(weights)), weights)
    assert sum(parts) == min(amount, sum(weights)) if sum(weights) else sum(parts) == 0
    for part, weight in zip(parts, weights, strict=True):
        assert 0 <= part <= weight
    assert allocate(min(amount, sum(weights)), weights) == parts  # deterministic


@PROPERTIES
@given(lines, amounts)
def test_per_line_rounding_stays_within_half_a_cent_per_line(items: list[Line], shipping: int) -> None:
    """Rounding each line's tax loses or adds at most half a cent per taxed amount, never more."""
    totals = compute(items, discount=0, shipping=shipping, shipping_tax=None, prices_include_tax=False)
    exact = sum((line.amount * line.tax.fraction for line in items if line.tax), Fraction(0))
    taxed = sum(1 for line in items if line.tax)
    assert abs(totals.tax - exact) <= Fraction(taxed, 2)


def test_round_half_even() -> None:
    assert [round_half_even(Fraction(n, 2)) for n in (1, 3, 5, -1)] == [0, 2, 2, 0]


def test_the_worked_example_of_the_readme() -> None:
    """Two lines at 19 % (EUR 10.05 x 3 and EUR 4.99), 10 % off, EUR 4.90 shipping, prices excluding tax."""
    vat = TaxRate("VAT DE 19%", 1900)
    items = [Line(3015, vat), Line(499, vat)]
    discount = percentage_off(3514, 1000)  # 351.4 -> 351
    totals = compute(items, discount=discount, shipping=490, shipping_tax=vat, prices_include_tax=False)
    assert totals.line_discounts == (301, 50)  # 301.17.. and 49.83..: floors 301 + 49, the cent to line 2
    # 2714 x 0.19 = 515.66 -> 516; 449 x 0.19 = 85.31 -> 85; 490 x 0.19 = 93.1 -> 93
    assert totals.tax == 516 + 85 + 93 == 694
    assert totals.total == 3514 - 351 + 490 + 694 == 4347
    included = compute(items, discount=discount, shipping=490, shipping_tax=vat, prices_include_tax=True)
    # 2714 x 19/119 = 433.33 -> 433; 449 x 19/119 = 71.69 -> 72; 490 x 19/119 = 78.24 -> 78
    assert included.tax == 433 + 72 + 78
    assert included.total == 3514 - 351 + 490
