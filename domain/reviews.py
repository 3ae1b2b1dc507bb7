"""Product reviews: who may review what, plain-text rules, staff moderation, and the reads behind
Product.rating and Product.reviews.

A customer reviews a product they received (an order line of it in a DELIVERED or COMPLETED
order); they have one review per product, and submitting again replaces it. Staff hide and show
reviews; a hidden review counts in no rating and is listed nowhere (a replaced one stays hidden).
Products' ratings are kept by the database in the same transaction (models.reviews).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.errors import Problem, ReviewCode
from models.account_repository import users_by_ids
from models.review_repository import (
    RatingRow,
    ReviewOrder,
    ReviewPage,
    ReviewPageKey,
    ReviewRow,
    active_product_exists,
    has_received,
    ratings_by_product_ids,
    review_of_user,
    review_pages,
    reviews_of_user,
    set_review_hidden,
    shown_reviews_by_ids,
    upsert_review,
)

__all__ = [
    "MAX_BODY_LENGTH",
    "MAX_TITLE_LENGTH",
    "RatingRow",
    "ReviewOrder",
    "ReviewPage",
    "ReviewPageKey",
    "ReviewResult",
    "ReviewRow",
    "author_names",
    "display_name",
    "eligibility",
    "hide_review",
    "ratings_by_product_ids",
    "review_pages",
    "reviews_of_user",
    "shown_reviews_by_ids",
    "submit_review",
]

MAX_TITLE_LENGTH = 150
MAX_BODY_LENGTH = 5000
# Control characters other than tab and newline: dropped from review text (NUL cannot be stored).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(slots=True, frozen=True)
class ReviewResult:
    review: ReviewRow | None
    problems: tuple[Problem, ...] = ()


@dataclass(slots=True, frozen=True)
class Eligibility:
    can_review: bool
    review: ReviewRow | None


def plain_text(value: str) -> str:
    """Review text as stored: line breaks as \\n, no control characters, trimmed. Markup stays
    text: the storefront shows it as typed, escaped."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _text_problems(rating: int, title: str | None, body: str) -> list[Problem]:
    problems = []
    if not 1 <= rating <= 5:
        problems.append(Problem(ReviewCode.INVALID_RATING, "Rate from 1 to 5 stars.", ("rating",)))
    if title is not None and len(title) > MAX_TITLE_LENGTH:
        problems.append(
            Problem(ReviewCode.TOO_LONG, f"A title has at most {MAX_TITLE_LENGTH} characters.", ("title",))
        )
    if not body:
        problems.append(Problem(ReviewCode.REQUIRED, "Write a few words about the product.", ("body",)))
    elif len(body) > MAX_BODY_LENGTH:
        problems.append(
            Problem(ReviewCode.TOO_LONG, f"A review has at most {MAX_BODY_LENGTH} characters.", ("body",))
        )
    return problems


async def submit_review(
    engine: AsyncEngine, user_id: int, product_id: int | None, rating: int, title: str | None, body: str
) -> ReviewResult:
    """Create or replace the user's review of a product they received, in one transaction."""
    title = plain_text(title) if title is not None else None
    title = title or None
    body = plain_text(body)
    not_found = Problem(ReviewCode.NOT_FOUND, "There is no such product.", ("product_id",))
    if product_id is None:
        return ReviewResult(None, (not_found,))
    if problems := _text_problems(rating, title, body):
        return ReviewResult(None, tuple(problems))
    async with engine.begin() as conn:
        if not await active_product_exists(conn, product_id):
            return ReviewResult(None, (not_found,))
        if not await has_received(conn, user_id, product_id):
            problem = Problem(
                ReviewCode.NOT_PURCHASED,
                "You can review a product once an order of it has been delivered to you.",
                ("product_id",),
            )
            return ReviewResult(None, (problem,))
        review = await upsert_review(conn, user_id, product_id, rating, title, body)
    return ReviewResult(review)


async def hide_review(engine: AsyncEngine, review_id: int | None, hidden: bool) -> ReviewResult:
    """Staff: hide a review (or show it again); its product's rating follows in the same transaction."""
    review = None
    if review_id is not None:
        async with engine.begin() as conn:
            review = await set_review_hidden(conn, review_id, hidden)
    if review is None:
        return ReviewResult(None, (Problem(ReviewCode.NOT_FOUND, "There is no such review.", ("id",)),))
    return ReviewResult(review)


async def eligibility(engine: AsyncEngine, user_id: int, product_id: int | None) -> Eligibility:
    if product_id is None:
        return Eligibility(False, None)
    async with engine.connect() as conn:
        return Eligibility(
            can_review=await has_received(conn, user_id, product_id),
            review=await review_of_user(conn, user_id, product_id),
        )


def display_name(name: str) -> str:
    """How a review names its author: first name and the initial of the last ("Ada L.")."""
    words = name.split()
    if not words:
        return "Customer"
    if len(words) == 1:
        return words[0]
    return f"{words[0]} {words[-1][0]}."


async def author_names(conn: AsyncConnection, user_ids: Sequence[int]) -> dict[int, str]:
    """Authors' names as reviews show them, read through the accounts' own user reads."""
    users = await users_by_ids(conn, user_ids)
    return {user_id: display_name(user.name) for user_id, user in users.items()}
