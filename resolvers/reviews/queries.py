"""reviewEligibility: whether the signed-in customer may review a product, and their review of it.

Kept off the Product type: catalog answers are cached for every viewer alike (core.catalog_cache).
"""

from __future__ import annotations

import strawberry

from domain import reviews
from graph.auth import require_viewer
from graph.context import Info
from graph.ids import pk_of
from graph.reviews.types import Review, ReviewEligibility


@strawberry.type
class ReviewQuery:
    @strawberry.field(description="Whether the signed-in customer may review this product, and their review.")
    async def review_eligibility(self, info: Info, product_id: strawberry.ID) -> ReviewEligibility:
        reader = await require_viewer(info)
        found = await reviews.eligibility(info.context.read_engine, reader.id, pk_of(product_id, "Product"))
        return ReviewEligibility(
            can_review=found.can_review, review=Review.from_row(found.review) if found.review else None
        )
