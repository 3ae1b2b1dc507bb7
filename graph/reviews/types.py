"""Review types: a product's rating, its reviews as a cursor connection, and the review payload."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from domain.reviews import RatingRow, ReviewOrder, ReviewPageKey, ReviewRow
from graph.common.types import Node, PageInfo, UserError
from graph.context import Info
from graph.ids import to_global_id
from graph.pagination import decode_cursor, encode_cursor, page_size


@strawberry.type
class Rating:
    average: float = strawberry.field(
        description="Average of the shown reviews' ratings, 0 when there are none (two decimals)."
    )
    count: int

    @classmethod
    def from_row(cls, row: RatingRow | None) -> Rating:
        if row is None or row.count <= 0:
            return cls(average=0.0, count=0)
        return cls(average=round(row.sum / row.count, 2), count=row.count)


@strawberry.type
class Review(Node):
    id: strawberry.ID
    rating: int = strawberry.field(description="1 to 5.")
    title: str | None
    body: str = strawberry.field(description="Plain text, as the customer typed it: show it escaped.")
    created_at: datetime
    updated_at: datetime | None
    is_hidden: bool = strawberry.field(
        description="Hidden by staff: in no rating and no list (only its author and staff see it)."
    )
    user_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: ReviewRow) -> Review:
        return cls(
            id=strawberry.ID(to_global_id("Review", row.id)),
            rating=row.rating,
            title=row.title,
            body=row.body,
            created_at=row.created_at,
            updated_at=row.updated_at,
            is_hidden=row.is_hidden,
            user_id=row.user_id,
        )

    @strawberry.field(description='The author\'s first name and last initial, as "Ada L.".')
    async def author_name(self, info: Info) -> str:
        return await info.context.loaders.review_author.load(self.user_id) or "Customer"


@strawberry.type
class ReviewEdge:
    cursor: str
    node: Review


@strawberry.type
class ReviewConnection:
    edges: list[ReviewEdge]
    page_info: PageInfo
    total_count: int


@strawberry.enum
class ReviewSort(Enum):
    NEWEST = "NEWEST"
    HIGHEST = "HIGHEST"
    LOWEST = "LOWEST"


@strawberry.type
class ReviewPayload:
    review: Review | None
    user_errors: list[UserError]


@strawberry.type(description="The signed-in customer and one product's reviews.")
class ReviewEligibility:
    can_review: bool = strawberry.field(
        description="True when an order line of the product was delivered to the customer."
    )
    review: Review | None = strawberry.field(description="Their review of it (reviewSubmit replaces it).")


_CURSOR_TYPES: dict[ReviewOrder, tuple[type, ...]] = {
    ReviewOrder.NEWEST: (datetime, int),
    ReviewOrder.HIGHEST: (int, int),
    ReviewOrder.LOWEST: (int, int),
}


async def review_connection(
    info: Info, product_id: int, sort: ReviewSort | None, first: int | None, after: str | None
) -> ReviewConnection:
    """A product's shown reviews; the reviews of a whole page of products come in one statement."""
    limit = page_size(first)
    order = ReviewOrder(sort.value) if sort else ReviewOrder.NEWEST
    kind = f"reviews:{order.value}"
    after_key = decode_cursor(after, kind, _CURSOR_TYPES[order]) if after else None
    loaders = info.context.loaders
    page = await loaders.review_page.load(ReviewPageKey(product_id, order, limit, after_key))
    rating = await loaders.product_rating.load(product_id)
    edges = (
        [
            ReviewEdge(cursor=encode_cursor(kind, key), node=Review.from_row(row))
            for row, key in zip(page.rows, page.sort_keys, strict=True)
        ]
        if page
        else []
    )
    return ReviewConnection(
        edges=edges,
        page_info=PageInfo.of(
            [edge.cursor for edge in edges],
            has_next_page=bool(page and page.has_next_page),
            after_given=after_key is not None,
        ),
        total_count=rating.count if rating else 0,
    )
