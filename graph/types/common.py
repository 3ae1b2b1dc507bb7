"""Types shared by every domain of the schema."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry

from domain.problems import Problem


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="An amount in the minor units of its currency (cents for USD and EUR).")
class Money:
    amount: int
    currency: str


@strawberry.type
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path to the argument or input field at fault, when there is one."
    )
    message: str
    code: str = strawberry.field(
        description=(
            "Stable machine-readable code such as OUT_OF_STOCK, INVALID_CREDENTIALS, INVALID_TRANSITION."
        )
    )


def user_errors(problems: Iterable[Problem]) -> list[UserError]:
    return [
        UserError(
            field=list(problem.field) if problem.field else None, message=problem.message, code=problem.code
        )
        for problem in problems
    ]
