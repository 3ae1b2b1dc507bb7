"""Guards for the adapters that rely on libraries' internals: what they rely on still holds.

graph/library_internals.py (strawberry, graphql-core), models/compiled.py (SQLAlchemy's compiled
statements), core/http_protocol.py (uvicorn's httptools protocol) and core/db.py (SQLAlchemy's
log message for result rows). Each test names the assumption it checks. When a library upgrade
breaks one, read the adapter (and graph/execution.py, graph/limits.py, graph/websocket.py) again
for the new version before changing the pins: a silently broken assumption would turn the fast
paths or the limits off, or, worse, change answers.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from datetime import timedelta
from importlib.metadata import version

import graphql
import httpx
import strawberry
from sqlalchemy import bindparam, column, create_engine, func, select, table, text
from sqlalchemy.dialects import postgresql
from strawberry.asgi import GraphQL
from strawberry.extensions import SchemaExtension
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation
from strawberry.types.execution import ExecutionContext, ExecutionResult
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from app.graphql import GraphQLApp
from core import db, http_protocol
from graph import execution, limits
from graph.library_internals import (
    WRITTEN_FOR,
    ExecutionContextBase,
    LegacyWSHandlerBase,
    TransportWSHandlerBase,
    WebSocketAdapterBase,
    adapter_websocket,
    graphql_core_info,
    graphql_core_schema,
    handler_init_wait,
    handler_websocket,
    is_parser_limit_error,
    is_validation_aborted,
    provided_operation_name,
    reads_plain_attribute,
    send_legacy_data,
    send_transport_next,
    set_overlap_budget,
    set_parse_limits,
    strawberry_field,
    validate_document,
)
from graph.websocket import LegacyGraphQLWSHandler, TextFrameWebSocketAdapter, TransportWSHandler
from models import compiled
from tests.support import RunningServer


def test_the_installed_versions_are_those_the_adapters_were_written_for() -> None:
    for adapter, written_for in (
        ("graph/library_internals.py", WRITTEN_FOR),
        ("models/compiled.py", compiled.WRITTEN_FOR),
        ("core/http_protocol.py", http_protocol.WRITTEN_FOR),
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


async def test_the_apps_catalog_page_is_completed_from_plans(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    execution._plans.clear()
    query = "{ products(first: 3) { edges { node { name slug variants { sku price { amount } } } } } }"
    # The standard path (which a page takes when PostgreSQL does not build its JSON: graph.catalog.page_json).
    server.app.state.settings.catalog_json_in_sql = False
    try:
        response = await client.post("/graphql", json={"query": query})
    finally:
        server.app.state.settings.catalog_json_in_sql = True
    assert "errors" not in response.json()
    plain_fields = {
        (key[0].name, name)
        for key, plan in execution._plans.items()
        if isinstance(plan, execution.ObjectPlan)
        for name, _attribute, _complete in plan.plain
    }
    # The whole page below the connection is plain: products, their variants (read ahead) and prices.
    assert ("ProductConnection", "edges") in plain_fields


# ---------------------------------------------------------------- graph/limits.py's assumptions


def _limited_schema(max_tokens: int, max_source_length: int) -> strawberry.Schema:
    class ParseLimits(SchemaExtension):
        def on_operation(self):  # type: ignore[no-untyped-def]
            set_parse_limits(
                self.execution_context, max_tokens=max_tokens, max_source_length=max_source_length
            )
            yield

    return strawberry.Schema(query=GuardQuery, extensions=[ParseLimits])


def test_the_parser_limits_reach_graphql_core_and_are_recognised() -> None:
    assert {"max_tokens", "max_source_length"} <= set(inspect.signature(graphql.parse).parameters)
    fine = _limited_schema(max_tokens=50, max_source_length=200).execute_sync("{ thing { name } }")
    assert fine.errors is None
    for schema in (
        _limited_schema(max_tokens=5, max_source_length=10_000),  # too many tokens
        _limited_schema(max_tokens=10_000, max_source_length=10),  # too many characters
    ):
        result = schema.execute_sync("{ thing { name } }")
        assert result.errors is not None and len(result.errors) == 1
        assert is_parser_limit_error(result.errors[0]), result.errors[0].message
    plain_syntax_error = _limited_schema(max_tokens=50, max_source_length=200).execute_sync("{ thing { ")
    assert plain_syntax_error.errors is not None
    assert not is_parser_limit_error(plain_syntax_error.errors[0])


def test_an_exhausted_overlap_budget_aborts_the_validation_recognisably() -> None:
    schema = strawberry.Schema(query=GuardQuery)._schema
    document = graphql.parse(
        "{ " + " ".join(f"thing {{ name }} a{i}: thing {{ name }}" for i in range(30)) + " }"
    )
    try:
        set_overlap_budget(1)
        errors = graphql.validate(schema, document)
    finally:
        set_overlap_budget(limits.OVERLAP_BUDGET)
    assert [is_validation_aborted(error) for error in errors] == [True]
    assert graphql.validate(schema, document) == []  # the app's budget is back
    assert not is_validation_aborted(graphql.GraphQLError("Cannot query field 'x' on type 'Thing'."))


def test_the_operation_name_the_client_sent_is_told_from_the_default() -> None:
    def context(name: str | None) -> ExecutionContext:
        return ExecutionContext(
            query="query A { thing { name } } query B { thing { name } }",
            schema=strawberry.Schema(query=GuardQuery),
            allowed_operations=(),
            provided_operation_name=name,
        )

    assert provided_operation_name(context("B")) == "B"
    assert provided_operation_name(context(None)) is None


# ---------------------------------------------------------------- graph/websocket.py's assumptions


def test_the_websocket_classes_plug_into_strawberrys_view() -> None:
    for attribute, ours, base in (
        ("websocket_adapter_class", TextFrameWebSocketAdapter, WebSocketAdapterBase),
        ("graphql_ws_handler_class", LegacyGraphQLWSHandler, LegacyWSHandlerBase),
        ("graphql_transport_ws_handler_class", TransportWSHandler, TransportWSHandlerBase),
    ):
        assert hasattr(GraphQL, attribute), attribute
        assert getattr(GraphQLApp, attribute) is ours and issubclass(ours, base)
    view_type = object()
    adapter = WebSocketAdapterBase(view_type, "request", "response")  # type: ignore[arg-type]
    assert adapter_websocket(adapter) == "response"
    assert list(inspect.signature(WebSocketAdapterBase.send_json).parameters) == ["self", "message"]


def test_the_legacy_handler_holds_its_view_and_websocket() -> None:
    view = GraphQL(strawberry.Schema(query=GuardQuery), connection_init_wait_timeout=timedelta(seconds=3))
    handler = LegacyWSHandlerBase(
        view=view,
        websocket="websocket",
        context=None,
        root_value=None,
        schema=view.schema,
        keep_alive=False,
        keep_alive_interval=None,
    )
    assert handler_websocket(handler) == "websocket"
    assert handler_init_wait(handler) == 3.0
    assert list(inspect.signature(LegacyWSHandlerBase.handle).parameters) == ["self"]
    assert list(inspect.signature(LegacyWSHandlerBase.handle_connection_init).parameters) == [
        "self",
        "message",
    ]


class _SentMessages:
    """A stand-in for the WebSocket adapter a handler sends through: it keeps what is sent."""

    def __init__(self) -> None:
        self.sent: list[object] = []

    async def send_json(self, message: object) -> None:
        self.sent.append(message)


async def test_each_operation_runs_in_its_own_task_through_the_methods_the_handlers_override() -> None:
    """graph.websocket sets what sends an operation's shared events in `run_operation` (transport)
    and `handle_async_results` (legacy): each must be the coroutine of the operation's own task."""
    assert list(inspect.signature(TransportWSHandlerBase.run_operation).parameters) == ["self", "operation"]
    assert list(inspect.signature(LegacyWSHandlerBase.handle_async_results).parameters) == [
        "self",
        "operation_id",
        "query",
        "operation_name",
        "variables",
    ]
    subscribe = inspect.getsource(TransportWSHandlerBase.handle_subscribe)
    assert "operation.task = asyncio.create_task(self.run_operation(operation))" in subscribe
    start = inspect.getsource(LegacyWSHandlerBase.handle_start)
    assert "result_handler = self.handle_async_results(" in start
    assert "asyncio.create_task(result_handler)" in start


async def test_a_result_that_is_only_data_is_sent_as_strawberrys_handlers_send_it() -> None:
    view = GraphQL(strawberry.Schema(query=GuardQuery))
    data = {"greeting": {"to": "PAID"}}
    for extensions in (None, {}):
        result = ExecutionResult(data=data, errors=None, extensions=extensions)

        transport_ws = _SentMessages()
        handler = TransportWSHandlerBase(
            view,
            transport_ws,
            None,
            None,
            view.schema,
            timedelta(seconds=3),  # type: ignore[arg-type]
        )
        operation = Operation(handler, "7", "subscription { greeting }", None, None)
        handler.operations["7"] = operation
        await operation.send_next(result)
        await send_transport_next(operation, data)
        assert (
            transport_ws.sent[0]
            == transport_ws.sent[1]
            == {"id": "7", "type": "next", "payload": {"data": data}}
        )
        assert list(transport_ws.sent[1]) == list(transport_ws.sent[0])  # type: ignore[arg-type]
        # Nothing goes out once the operation has completed.
        await operation.send_operation_message({"id": "7", "type": "complete"})
        await send_transport_next(operation, data)
        assert len(transport_ws.sent) == 3

        legacy_ws = _SentMessages()
        legacy = LegacyWSHandlerBase(
            view=view,
            websocket=legacy_ws,  # type: ignore[arg-type]
            context=None,
            root_value=None,
            schema=view.schema,
            keep_alive=False,
            keep_alive_interval=None,
        )
        await legacy.send_data_message(result, "7")
        await send_legacy_data(legacy, "7", data)
        assert (
            legacy_ws.sent[0] == legacy_ws.sent[1] == {"type": "data", "id": "7", "payload": {"data": data}}
        )


# ---------------------------------------------------------------- core/http_protocol.py's assumptions


def test_uvicorns_protocol_keeps_the_callbacks_and_state_the_guarded_protocol_uses() -> None:
    expected = {
        "connection_made": ["self", "transport"],
        "connection_lost": ["self", "exc"],
        "data_received": ["self", "data"],
        "send_400_response": ["self", "msg"],
        "on_message_begin": ["self"],
        "on_url": ["self", "url"],
        "on_header": ["self", "name", "value"],
        "on_headers_complete": ["self"],
        "on_message_complete": ["self"],
    }
    for name, parameters in expected.items():
        assert list(inspect.signature(getattr(HttpToolsProtocol, name)).parameters) == parameters, name
    # The state it reads: set by uvicorn's own methods (the source says so, or this fails).
    for method, attributes in (
        (HttpToolsProtocol.__init__, ("loop", "parser")),
        (HttpToolsProtocol.connection_made, ("transport",)),
        (HttpToolsProtocol.on_headers_complete, ("cycle",)),
        (RequestResponseCycle.__init__, ("keep_alive", "response_started")),
    ):
        source = inspect.getsource(method)
        for attribute in attributes:
            assert re.search(rf"self\.{attribute}\b[^=]*=", source), f"{method.__qualname__} sets {attribute}"
    # CorkedTransport: uvicorn writes responses through the transport it was given, and a WebSocket
    # upgrade hands that transport to the new protocol with set_protocol (then writes go straight through).
    assert inspect.getsource(RequestResponseCycle.send).count("self.transport.write(") >= 2
    assert "self.transport.set_protocol(" in inspect.getsource(HttpToolsProtocol.handle_websocket_upgrade)
    loop = asyncio.new_event_loop()
    try:
        import uvicorn
        from uvicorn.server import ServerState

        config = uvicorn.Config(app=GraphQL(strawberry.Schema(query=GuardQuery)), http="httptools")
        config.load()
        protocol = http_protocol.protocol_class(http_protocol.HttpLimits())(
            config=config, server_state=ServerState(), app_state={}, _loop=loop
        )
        assert protocol.loop is loop and protocol.parser.should_upgrade() is False
    finally:
        loop.close()


# ---------------------------------------------------------------- core/db.py's assumption


def test_sqlalchemy_logs_result_rows_under_the_message_core_db_drops() -> None:
    logger = logging.getLogger("sqlalchemy.engine.Engine")
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    filters, level = list(logger.filters), logger.level
    logger.filters.clear()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with create_engine("sqlite://").connect() as connection:
            connection.execute(text("select 'secret' as x")).all()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.filters[:] = filters
    rows = [record for record in seen if "secret" in str(record.args)]
    assert rows and all(not db._NoResultRows().filter(record) for record in rows)


def test_the_validation_cache_reaches_graphql_cores_schema_and_strawberrys_rules() -> None:
    seen: list[graphql.GraphQLSchema] = []

    class Peek(SchemaExtension):
        def on_validate(self):  # type: ignore[no-untyped-def]
            seen.append(graphql_core_schema(self.execution_context))
            yield

    @strawberry.type
    class Query:
        hello: str = "hi"

    schema = strawberry.Schema(Query, extensions=[Peek])
    assert schema.execute_sync("{ hello }", root_value=Query()).data == {"hello": "hi"}
    assert seen == [schema._schema] and isinstance(seen[0], graphql.GraphQLSchema)
    parameters = list(inspect.signature(validate_document).parameters)
    assert parameters == ["schema", "document", "validation_rules"], parameters
    errors = validate_document(seen[0], graphql.parse("{ nope }"), tuple(graphql.specified_rules))
    assert [error.message for error in errors] == ["Cannot query field 'nope' on type 'Query'."]


def test_the_lean_page_reaches_graphql_cores_schema() -> None:
    """app.lean_page validates and coerces arguments with the graphql-core schema strawberry
    executes with: the same object strawberry's own validation gets."""
    from graph.library_internals import graphql_core_schema_of
    from resolvers.schema import schema

    core = graphql_core_schema_of(schema)
    assert isinstance(core, graphql.GraphQLSchema)
    assert core.query_type is not None and "products" in core.query_type.fields
