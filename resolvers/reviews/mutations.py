"""reviewSubmit (a customer reviews a product they received) and reviewHide (staff)."""

from __future__ import annotations

import strawberry

from domain import rate_limits, reviews
from graph.auth import require_staff, require_viewer
from graph.common.types import user_errors
from graph.context import Info
from graph.ids import pk_of
from graph.rate_limits import refused
from graph.reviews.types import Review, ReviewPayload


def _payload(result: reviews.ReviewResult) -> ReviewPayload:
    return ReviewPayload(
        review=Review.from_row(result.review) if result.review else None,
        user_errors=user_errors(result.problems),
    )


@strawberry.type
class ReviewMutation:
    @strawberry.mutation(description="Creates or replaces the caller's review of a product they received.")
    async def review_submit(
        self,
        info: Info,
        product_id: strawberry.ID,
        rating: int,
        body: str,
        title: str | None = None,
    ) -> ReviewPayload:
        reader = await require_viewer(info)
        if limited := await refused(info, rate_limits.review_attempt(info.context.settings, reader.id)):
            return ReviewPayload(review=None, user_errors=limited)
        result = await reviews.submit_review(
            info.context.engine, reader.id, pk_of(product_id, "Product"), rating, title, body
        )
        return _payload(result)

    @strawberry.mutation(
        description="Staff only: hides a review from every list and rating (hidden: false shows it again)."
    )
    async def review_hide(self, info: Info, id: strawberry.ID, hidden: bool = True) -> ReviewPayload:
        await require_staff(info)
        result = await reviews.hide_review(info.context.engine, pk_of(id, "Review"), hidden)
        return _payload(result)
