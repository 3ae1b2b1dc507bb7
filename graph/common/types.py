"""Types shared by every domain of the schema."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import strawberry

from domain.addresses import kept_address
from domain.errors import Problem, all_codes


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, cursors: list[str], *, has_next_page: bool, after_given: bool) -> PageInfo:
        """A forward keyset page's info: a page asked for `after` a cursor has one before it."""
        return cls(
            has_next_page=has_next_page,
            has_previous_page=after_given,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )


@strawberry.type(description="An amount in the minor units of its currency (cents for USD and EUR).")
class Money:
    amount: int
    currency: str


@strawberry.input
class AddressInput:
    name: str
    line1: str
    line2: str | None = None
    city: str
    state: str | None = None
    postal_code: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")


def address_input_of(value: Mapping[str, Any]) -> AddressInput:
    """An AddressInput from its value as graphql-core coerces it (schema names; optional fields
    may be missing), as strawberry would build it (app/lean_checkout.py)."""
    return AddressInput(
        name=value["name"],
        line1=value["line1"],
        line2=value.get("line2"),
        city=value["city"],
        state=value.get("state"),
        postal_code=value["postalCode"],
        country=value["country"],
    )


def address_dict(address: AddressInput) -> dict[str, str | None]:
    """An address as the domain keeps it (snake_case keys)."""
    return {
        "name": address.name,
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "state": address.state,
        "postal_code": address.postal_code,
        "country": address.country,
    }


def address_of(value: dict[str, Any]) -> Address:
    """A kept address (orders, the address book) as the schema shows it."""
    return Address(**kept_address(value))


@strawberry.type
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path to the argument or input field at fault, when there is one."
    )
    message: str
    code: str = strawberry.field(
        description=(
            "Stable machine-readable code such as OUT_OF_STOCK, INVALID_CREDENTIALS, INVALID_TRANSITION. "
            f"The codes: {', '.join(all_codes())}."
        )
    )


def camel_case(name: str) -> str:
    """A domain field name as the schema spells it: cart_token is cartToken; 0 stays 0."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def user_errors(problems: Iterable[Problem]) -> list[UserError]:
    """The domain's problems as userErrors, their field paths in the schema's casing."""
    return [
        UserError(
            field=[camel_case(part) for part in problem.field] if problem.field else None,
            message=problem.message,
            code=str(problem.code),
        )
        for problem in problems
    ]


# Shared by orders (shipping address) and accounts (the address book).
@strawberry.type
class Address:
    name: str
    line1: str
    line2: str | None
    city: str
    state: str | None
    postal_code: str
    country: str
