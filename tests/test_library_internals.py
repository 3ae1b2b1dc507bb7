"""Guards for graph/library_internals.py: what it relies on of strawberry and graphql-core still holds.

Each test names the assumption it checks. When a library upgrade breaks one, read
graph/library_internals.py and graph/execution.py again for the new version before changing the
pins: a silently broken assumption would turn the fast paths off (slower) or, worse, change answers.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import httpx
import strawberry
from sqlalchemy import bindparam, column, func, select, table
from sqlalchemy.dialects import postgresql

from graph import execution
from graph.library_internals import (
    WRITTEN_FOR,
    ExecutionContextBase,
    graphql_core_info,
    reads_plain_attribute,
    strawberry_field,
)
from models import compiled


def test_the_installed_versions_are_those_the_adapters_were_written_for() -> None:
    for adapter, written_for in (
        ("graph/library_internals.py", WRITTEN_FOR),
        ("models/compiled.py", compiled.WRITTEN_FOR),
    ):
        installed = {name: version(name) for name in written_for}
        assert installed == written_for, f"a library changed: re-check {adapter}, then update its WRITTEN_FOR"


def test_a_compiled_statement_names_its_positional_parameters_and_their_constants() -> None:
    things = table("things", column("id"), column("price"))
    statement = select(things.c.id).where(
        things.c.id > bindparam("after"), func.coalesce(things.c.price, 0) < bindparam("limit")
    )
    result = statement.compile(dialect=postgresql.asyncpg.dialect())  # type: ignore[attr-defined]
    assert "$1" in result.string and "$3" in result.string
    assert list(result.positiontup or ()) == ["after", "coalesce_1", "limit"]
    assert result.binds["coalesce_1"].effective_value == 0 and not result.binds["coalesce_1"].required
    assert result.binds["after"].required


def test_the_execution_context_methods_keep_their_signatures() -> None:
    expected = {
        "complete_object_value": [
            "self", "return_type", "field_details_list", "info", "path", "result", "position_context",
        ],
        "collect_subfields": ["self", "return_type", "field_details_list"],
        "execute_fields": ["self", "parent_type", "source_value", "path", "grouped_field_set", "position_context"],
    }  # fmt: skip
    for name, parameters in expected.items():
        assert list(inspect.signature(getattr(ExecutionContextBase, name)).parameters) == parameters, name
    declared = {name for cls in ExecutionContextBase.__mro__ for name in vars(cls).get("__annotations__", {})}
    assert "middleware_manager" in declared


@strawberry.type
class Thing:
    name: str

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class GuardQuery:
    @strawberry.field
    def thing(self, info: strawberry.Info) -> Thing:
        _seen.append(graphql_core_info(info))
        return Thing(name="x")


_seen: list[object] = []


def test_plain_attributes_and_resolvers_are_told_apart() -> None:
    schema = strawberry.Schema(query=GuardQuery)
    thing = schema._schema.get_type("Thing")  # graphql-core's schema: the test's own access
    name, shout = thing.fields["name"], thing.fields["shout"]  # type: ignore[union-attr]
    name_definition, shout_definition = strawberry_field(name), strawberry_field(shout)
    assert name_definition is not None and shout_definition is not None
    assert reads_plain_attribute(name, name_definition)
    assert not reads_plain_attribute(shout, shout_definition)


def test_strawberry_info_wraps_graphql_cores() -> None:
    _seen.clear()
    result = strawberry.Schema(query=GuardQuery).execute_sync("{ thing { name } }")
    assert result.errors is None
    assert len(_seen) == 1
    raw = _seen[0]
    assert raw.field_nodes[0].name.value == "thing"  # type: ignore[attr-defined]
    assert raw.fragments == {}  # type: ignore[attr-defined]


async def test_the_apps_catalog_page_is_completed_from_plans(client: httpx.AsyncClient) -> None:
    execution._plans.clear()
    query = "{ products(first: 3) { edges { node { name slug variants { sku price { amount } } } } } }"
    response = await client.post("/graphql", json={"query": query})
    assert "errors" not in response.json()
    plain_fields = {
        (key[0].name, name)
        for key, plan in execution._plans.items()
        if isinstance(plan, execution.ObjectPlan)
        for name, _attribute, _complete in plan.plain
    }
    # The whole page below the connection is plain: products, their variants (read ahead) and prices.
    assert ("ProductConnection", "edges") in plain_fields
