"""Every use of strawberry's and graphql-core's non-public behaviour, in one place.

- The plain-fields executor (graph.execution) and the selection reader (graph.selection): the
  execution context's method names and signatures, the name strawberry gives the resolver of a
  plain attribute, the extension key that links a GraphQL field to its strawberry definition, and
  strawberry's `Info` wrapping graphql-core's.
- The query limits (graph.limits): graphql-core's `max_source_length` parser option, which
  strawberry's `ParseOptions` does not declare but passes on; the text graphql-core gives a
  parser limit's error and an aborted validation (it has no code for either); the
  overlapping-fields rule's work budget; the operationName the client sent, which strawberry keeps
  only in a private attribute.
- The validation cache (graph.validation_cache): the graphql-core schema inside strawberry's
  (`_schema`, which strawberry's own ValidationCache reads too) and the rules strawberry adds to
  every validation (`strawberry.schema.schema.validate_document`).
- WebSocket (graph.websocket): strawberry's legacy `graphql-ws` handler class, the attributes its
  instances hold (`view`, `websocket`), and the Starlette WebSocket inside strawberry's ASGI adapter;
  both protocols' handlers' per-operation methods (`run_operation`, `handle_async_results`), which
  run in the operation's own task, and the message each sends for a result that is only `data`.

They are written for the versions in WRITTEN_FOR (pinned in pyproject.toml and requirements.lock),
and tests/test_library_internals.py fails, naming what changed, on any other version or behaviour:
an upgrade must not quietly turn the fast paths or the limits off.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLField, GraphQLResolveInfo, GraphQLSchema, GraphQLSyntaxError
from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails, GroupedFieldSet
from graphql.validation.rules import overlapping_fields_can_be_merged
from starlette.websockets import WebSocket
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext, validate_document
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import ExecutionContext
from strawberry.types.field import StrawberryField

__all__ = [
    "WRITTEN_FOR",
    "ExecutionContextBase",
    "FieldDetailsList",
    "FragmentDetails",
    "GroupedFieldSet",
    "LegacyWSHandlerBase",
    "TransportWSHandlerBase",
    "WebSocketAdapterBase",
    "adapter_websocket",
    "graphql_core_info",
    "graphql_core_schema",
    "handler_init_wait",
    "handler_websocket",
    "is_parser_limit_error",
    "is_validation_aborted",
    "provided_operation_name",
    "reads_plain_attribute",
    "send_legacy_data",
    "send_transport_next",
    "set_overlap_budget",
    "set_parse_limits",
    "strawberry_field",
    "validate_document",
]

WRITTEN_FOR = {"strawberry-graphql": "0.341.2", "graphql-core": "3.3.2"}

# strawberry's execution context, itself graphql-core's; graph.execution overrides its
# `complete_object_value` and calls `collect_subfields` and `execute_fields`.
ExecutionContextBase = StrawberryGraphQLCoreExecutionContext

# The key under which strawberry keeps a GraphQL field's StrawberryField in its extensions.
_DEFINITION = "strawberry-definition"
# The name strawberry gives the resolver of a field it reads with plain getattr.
_BASIC_RESOLVER = "_get_basic_result"


def strawberry_field(field_def: GraphQLField) -> StrawberryField | None:
    """The strawberry definition behind a GraphQL field, or None for a field strawberry did not make."""
    definition = field_def.extensions.get(_DEFINITION)
    return definition if isinstance(definition, StrawberryField) else None


def reads_plain_attribute(field_def: GraphQLField, definition: StrawberryField) -> bool:
    """True when the field's value is its object's attribute, read with plain getattr, unchanged."""
    return (
        definition.is_basic_field
        and definition.default_resolver is getattr
        and getattr(field_def.resolve, "__name__", None) == _BASIC_RESOLVER
    )


def graphql_core_schema(context: ExecutionContext) -> GraphQLSchema:
    """The graphql-core schema of the strawberry schema executing `context`."""
    return context.schema._schema  # type: ignore[attr-defined]


def graphql_core_schema_of(schema: Any) -> GraphQLSchema:
    """The graphql-core schema a strawberry schema executes with (app.lean_paths)."""
    return schema._schema  # type: ignore[no-any-return]


def graphql_core_info(info: Any) -> GraphQLResolveInfo:
    """graphql-core's resolve info inside strawberry's `Info` (its parsed nodes and fragments)."""
    return info._raw_info


# ---------------------------------------------------------------- query limits (graph.limits)

# graphql-core ends the message of every parser limit (tokens, comments, source length) with this.
_PARSER_LIMIT_SUFFIX = "Parsing aborted."
# graphql-core's message when a validation runs out of its work budget or recursion.
_VALIDATION_ABORTED = "Validation aborted."


def set_parse_limits(context: ExecutionContext, *, max_tokens: int, max_source_length: int) -> None:
    """Have graphql-core's parser stop at these many tokens and characters (strawberry passes its
    `parse_options` to `graphql.parse` as keywords; it declares only `max_tokens`)."""
    context.parse_options["max_tokens"] = max_tokens
    context.parse_options["max_source_length"] = max_source_length  # type: ignore[typeddict-unknown-key]


def is_parser_limit_error(error: GraphQLError) -> bool:
    """True for the syntax error of a parser limit set with `set_parse_limits`."""
    return isinstance(error, GraphQLSyntaxError) and error.message.endswith(_PARSER_LIMIT_SUFFIX)


def is_validation_aborted(error: GraphQLError) -> bool:
    """True for the error of a validation that ran out of work budget (or recursion)."""
    return error.message == _VALIDATION_ABORTED


def set_overlap_budget(budget: int) -> None:
    """The work graphql-core's overlapping-fields rule may do on one document before the validation
    aborts (a module attribute, read when a validation starts)."""
    overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = budget


def provided_operation_name(context: ExecutionContext) -> str | None:
    """The operationName the client sent. Strawberry keeps it only in a private attribute (its
    public `operation_name` falls back to the first operation's name)."""
    return context._provided_operation_name


# ---------------------------------------------------------------- WebSocket (graph.websocket)

# strawberry's handler of the legacy `graphql-ws` protocol (its views' `graphql_ws_handler_class`),
# not exported by any public module.
LegacyWSHandlerBase = BaseGraphQLWSHandler
# strawberry's ASGI WebSocket adapter (its views' `websocket_adapter_class`).
WebSocketAdapterBase = ASGIWebSocketAdapter


# strawberry's handler of `graphql-transport-ws` (its views' `graphql_transport_ws_handler_class`).
# graph.websocket overrides its `run_operation(operation)` (and the legacy handler's
# `handle_async_results(operation_id, query, operation_name, variables)`): each runs in the
# operation's own task, from its start to its end, and sends every message of that operation.
TransportWSHandlerBase = BaseGraphQLTransportWSHandler


def send_transport_next(operation: Operation[Any, Any], data: Any) -> Any:
    """What `Operation.send_next` sends for a result that is only `data` (no errors, no extensions),
    through the operation's own `send_operation_message` (which sends nothing once it completed)."""
    return operation.send_operation_message({"id": operation.id, "type": "next", "payload": {"data": data}})


def send_legacy_data(handler: BaseGraphQLWSHandler[Any, Any], operation_id: str, data: Any) -> Any:
    """What the legacy handler's `send_data_message` sends for a result that is only `data`."""
    return handler.send_message({"type": "data", "id": operation_id, "payload": {"data": data}})


def adapter_websocket(adapter: ASGIWebSocketAdapter) -> WebSocket:
    """The Starlette WebSocket a strawberry ASGI adapter sends on."""
    return adapter.ws


def handler_websocket(handler: BaseGraphQLWSHandler[Any, Any]) -> Any:
    """The WebSocket adapter (with `close(code, reason)`) a legacy handler talks through."""
    return handler.websocket


def handler_init_wait(handler: BaseGraphQLWSHandler[Any, Any]) -> float:
    """Seconds the handler's view gives a connection to send `connection_init`."""
    return handler.view.connection_init_wait_timeout.total_seconds()
