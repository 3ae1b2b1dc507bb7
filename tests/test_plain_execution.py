"""graph.execution answers exactly as graphql-core does, only faster: the same data, errors and order.

Each document runs twice, on a schema with the plain-fields executor and on the same types with
strawberry's standard executor, and the two answers must be equal. The types are plain objects,
so these tests need no database; the app's own answers are covered by test_catalog.
"""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Any

import hypothesis_graphql
import pytest
import strawberry
from hypothesis import HealthCheck, given, settings
from strawberry.extensions import ParserCache
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph import execution
from graph.execution import READ_AHEAD, PlainFieldsExecutionContext

resolver_calls: list[str] = []


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Price:
    amount: int
    currency: str


@strawberry.type
class Variant(Named):
    sku: str
    price: Price
    stock: int | None
    tags: list[list[str]]


@strawberry.enum
class Kind(Enum):
    PLAIN = "plain"
    FANCY = "fancy"


@strawberry.type
class Item(Named):
    id: strawberry.ID
    kind: Kind
    preloaded_variants: strawberry.Private[list[Variant] | None] = None
    variant_store: strawberry.Private[list[Variant]] = strawberry.field(default_factory=list)

    @strawberry.field(metadata={READ_AHEAD: "preloaded_variants"})
    def variants(self) -> list[Variant]:
        resolver_calls.append(f"variants:{self.id}")
        return self.variant_store

    @strawberry.field
    async def slow_name(self) -> str:
        resolver_calls.append(f"slow_name:{self.id}")
        return self.name.upper()

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        # Not `name * times`: hypothesis picks any Int, and 2**31 repetitions is a 10 GB string.
        return f"{self.name}x{times}"


@strawberry.type
class Query:
    items: list[Item]
    broken: list[Item]
    things: list[Named]

    @strawberry.field
    async def item(self, index: int) -> Item | None:
        return self.items[index] if index < len(self.items) else None


def _variant(sku: str, amount: int = 100, stock: int | None = 3) -> Variant:
    return Variant(
        name=f"Variant {sku}",
        sku=sku,
        price=Price(amount=amount, currency="usd"),
        stock=stock,
        tags=[["a"], []],
    )


def _root() -> Query:
    first = Item(
        name="First", id=strawberry.ID("1"), kind=Kind.PLAIN, variant_store=[_variant("A"), _variant("B")]
    )
    second = Item(
        name="Second", id=strawberry.ID("2"), kind=Kind.FANCY, variant_store=[_variant("C", stock=None)]
    )
    first.preloaded_variants = first.variant_store  # read ahead for the first, not for the second
    broken = Item(name=None, id=strawberry.ID("3"), kind=Kind.PLAIN)  # type: ignore[arg-type]
    too_big = Item(name="Big", id=strawberry.ID("4"), kind=Kind.PLAIN)
    too_big.variant_store = too_big.preloaded_variants = [_variant("D", amount=2**40)]  # not an Int
    wrong_kind = Item(name="Odd", id=strawberry.ID("5"), kind="not a kind")  # type: ignore[arg-type]
    return Query(items=[first, second], broken=[broken, too_big, wrong_kind], things=[first, _variant("E")])


# The parser cache hands back the same nodes for the same text, as in the app's schema.
plain_schema = strawberry.Schema(
    query=Query,
    execution_context_class=PlainFieldsExecutionContext,
    extensions=[lambda: ParserCache(maxsize=64)],
)
standard_schema = strawberry.Schema(
    query=Query,
    execution_context_class=StrawberryGraphQLCoreExecutionContext,
    extensions=[lambda: ParserCache(maxsize=64)],
)

DOCUMENTS = [
    "{ items { id name kind variants { sku price { amount currency } stock tags } } }",
    "{ items { variants { sku } name id } }",
    "{ items { a: name b: name id: kind variants { s: sku p: price { amount } } } }",
    "{ items { __typename id variants { __typename sku } } }",
    "{ items { id slowName name variants { sku } } }",
    "{ items { id shout(times: 2) name } }",
    "{ items { ...ItemFields variants { ...VariantFields } } } fragment ItemFields on Item { id name }"
    " fragment VariantFields on Variant { sku price { amount } }",
    "{ items { ... on Item { id ... on Named { name } } } }",
    "{ items { id name } items { kind variants { sku } } }",
    "{ broken { id name } }",
    "{ broken { id variants { sku price { amount } } } }",
    "{ broken { id kind } }",
    "{ things { name ... on Item { id } ... on Variant { sku } } }",
    "{ item(index: 0) { id variants { sku } } missing: item(index: 9) { id } }",
]

WITH_VARIABLES = [
    ("query($skip: Boolean!) { items { id name @skip(if: $skip) } }", {"skip": True}),
    ("query($skip: Boolean!) { items { id name @skip(if: $skip) } }", {"skip": False}),
    (
        "query($on: Boolean!) { items { id ...F @include(if: $on) } } fragment F on Item { name }",
        {"on": False},
    ),
    (
        "query($on: Boolean!) { items { id ...F @include(if: $on) } } fragment F on Item { name }",
        {"on": True},
    ),
]


def _answer(result: Any) -> dict[str, Any]:
    return {
        "data": result.data,
        "errors": sorted(
            (
                error.message,
                tuple(error.path or ()),
                tuple((loc.line, loc.column) for loc in error.locations or ()),
            )
            for error in result.errors or ()
        ),
    }


async def _both(
    document: str, variables: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    plain = await plain_schema.execute(document, variable_values=variables, root_value=_root())
    standard = await standard_schema.execute(document, variable_values=variables, root_value=_root())
    return _answer(plain), _answer(standard)


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_answers_as_graphql_core_does(document: str) -> None:
    for _ in range(2):  # the second run uses the plans the first one made
        plain, standard = await _both(document)
        assert plain == standard
        assert list(plain["data"] or {}) == list(standard["data"] or {})
        assert repr(plain["data"]) == repr(standard["data"])  # the same keys in the same order


@pytest.mark.parametrize(("document", "variables"), WITH_VARIABLES)
async def test_directives_follow_their_variables(document: str, variables: dict[str, Any]) -> None:
    plain, standard = await _both(document, variables)
    assert plain == standard


async def test_errors_are_graphql_cores_own() -> None:
    plain, _ = await _both("{ broken { id name } }")
    assert plain["data"] is None  # the non-null name of the first item is null: the error propagates
    assert plain["errors"][0][1] == ("broken", 0, "name")
    plain, _ = await _both("{ broken { id variants { price { amount } } } }")
    assert any("Int cannot represent" in message for message, _path, _loc in plain["errors"])


async def test_a_read_ahead_value_is_taken_without_calling_the_resolver() -> None:
    resolver_calls.clear()
    result = await plain_schema.execute("{ items { id variants { sku } } }", root_value=_root())
    assert result.errors is None
    assert result.data == {
        "items": [
            {"id": "1", "variants": [{"sku": "A"}, {"sku": "B"}]},
            {"id": "2", "variants": [{"sku": "C"}]},
        ]
    }
    assert resolver_calls == ["variants:2"]  # the first item's variants were read ahead


async def test_plans_are_made_once_per_selection() -> None:
    execution._plans.clear()
    document = "{ items { id name variants { sku price { amount } } } }"
    await plain_schema.execute(document, root_value=_root())
    made = dict(execution._plans)
    assert made, "the document's objects were completed without plans"
    await plain_schema.execute(document, root_value=_root())
    assert execution._plans == made  # the same plans, found again through the parser's cache


_loop = asyncio.new_event_loop()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=hypothesis_graphql.queries(str(standard_schema)))
def test_any_document_gets_the_same_answer(document: str) -> None:
    # One loop for every example, so that what graphql-core settles in the background after an
    # error gets to run, as in the server.
    plain, standard = _loop.run_until_complete(_both(document))
    assert plain == standard
    assert repr(plain["data"]) == repr(standard["data"])
