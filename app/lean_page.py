"""The uncached catalog page answered without strawberry's view and executor, when that is safe.

A `products` query whose whole selection PostgreSQL builds (graph.catalog.page_json) spends most
of its CPU on what surrounds the one statement: strawberry's HTTP view, its extensions and
graphql-core's executor, all to splice one JSON text into `{"data":{"products":...}}`. This ASGI
app sits where the view did (inside the answer cache, APQ and every middleware) and answers such a
request itself, doing what the standard path does for it:

- the same body rules (a JSON object with `query`, optional `variables` and `operationName`,
  nothing else), the same parser limits (QUERY_TOO_LARGE), the same checks before validation
  (graph.limits), the same validation with the same rules (depth, aliases, cost, introspection,
  strawberry's own), the variables and arguments coerced by graphql-core;
- the same arguments' rules (page size, cursor) and the same statement; the answer's products
  noted for the answer cache's per-product invalidation;
- the same metrics (operation name and type) and the same response (status, headers, bytes).

Anything else, and any request that would answer an error, goes to the standard path unchanged:
another root field or a second one, a selection page_json does not build, directives, a filter by
attributes, a streaming Accept header, a parse or validation error, a refused page size or cursor,
an unexpected exception. `CATALOG_LEAN_PAGE` (default on) switches it off.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
    specified_rules,
)
from graphql.execution import get_argument_values, get_variable_values
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import ParserCache, SchemaExtension

from core import metrics
from core.catalog_cache import json_in_utf8_request
from core.http_guard import read_body
from core.settings import Settings
from domain.catalog import ProductQuery
from graph.catalog.page_json import connection_plan_of, product_connection_json
from graph.catalog.types import ProductSort, page_request
from graph.errors import MaskUnexpectedErrors, PublicError
from graph.library_internals import graphql_core_schema_of, strawberry_field
from graph.limits import OperationLimits, QueryLimits, passes_before_validation, validation_rules
from graph.metrics import OperationMetrics
from graph.validation_cache import DocumentValidationCache, validated
from resolvers.catalog.queries import ProductFilter

_BODY_KEYS = frozenset(("query", "variables", "operationName"))
_FILTER_FIELDS = {
    "search": "search",
    "categorySlug": "category_slug",
    "minPrice": "min_price",
    "maxPrice": "max_price",
    "inStock": "in_stock",
}
_STREAMING = (b"multipart", b"event-stream")

answered = [0]  # requests this path answered, in this process (tests look)


class LeanCatalogPage:
    def __init__(self, app: ASGIApp, schema: Any, settings: Settings) -> None:
        self.app = app
        self.schema = graphql_core_schema_of(schema)
        self.settings = settings
        self.products_field = self.schema.query_type.fields["products"]  # type: ignore[union-attr]
        # What this path does is what the schema's extensions and the field do today: anything
        # added there (another extension, a permission, a field extension) switches it off until
        # it is taught the same (tests/test_catalog_json.py then fails where it expects this path).
        definition = strawberry_field(self.products_field)
        self.usable = (
            _known_extensions(schema.extensions)
            and definition is not None
            and not definition.extensions
            and not definition.permission_classes
            and not definition.directives
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = self.settings
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not (self.usable and settings.catalog_lean_page and settings.catalog_json_in_sql)
            or not _plain_request(scope)
        ):
            await self.app(scope, receive, send)
            return
        body, replay = await read_body(scope, receive)
        try:
            answer = await self._answer(scope, body)
        except Exception:  # any doubt: the standard path answers (and logs) it
            answer = None
        if answer is None:
            await self.app(scope, replay, send)
            return
        body, operation_name = answer
        metrics.graphql_operation(operation_name, "query", (), ())
        answered[0] += 1
        await Response(body, media_type="application/json")(scope, replay, send)

    async def _answer(self, scope: Scope, body: bytes) -> tuple[bytes, str | None] | None:
        request = orjson.loads(body)
        if type(request) is not dict or not request.keys() <= _BODY_KEYS:
            return None
        query, variables, operation_name = (
            request.get("query"),
            request.get("variables"),
            request.get("operationName"),
        )
        if type(query) is not str or len(query) > 8_192:
            return None
        if not (variables is None or type(variables) is dict) or not (
            operation_name is None or type(operation_name) is str
        ):
            return None
        # The limits of the settings as they are now, as graph.limits.OperationLimits reads them.
        limits = QueryLimits.from_settings(self.settings)
        document = _parsed(query, limits.max_tokens, limits.max_length)
        if document is None or not passes_before_validation(document, variables, operation_name, limits):
            return None
        if validated(self.schema, document, validation_rules(tuple(specified_rules), limits)):
            return None
        operation = get_operation_ast(document, operation_name)
        if (
            not isinstance(operation, OperationDefinitionNode)
            or operation.operation is not OperationType.QUERY
        ):
            return None
        if operation.directives:
            return None
        # `products` once, and any number of `__typename` (the only other root field answered here)
        fields: list[FieldNode] = []
        for selection in operation.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.directives:
                return None
            if selection.name.value != "__typename":
                fields.append(selection)
        if len(fields) != 1 or fields[0].name.value != "products":
            return None
        field = fields[0]
        fragments = {
            node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)
        }
        plan = connection_plan_of((field,), fragments, self.settings.currency)
        if plan is None:
            return None
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), variables or {})
        if isinstance(coerced, list):  # the variables' errors
            return None
        arguments = get_argument_values(self.products_field, field, coerced)
        product_query = _product_query(arguments.get("filter"))
        if product_query is None:
            return None
        sort = arguments.get("sort")
        if not (sort is None or isinstance(sort, ProductSort)):
            return None
        try:
            order, limit, after_key, cursor_kind = page_request(
                product_query, sort, arguments.get("first"), arguments.get("after")
            )
        except PublicError:
            return None
        state = scope["app"].state
        engine = state.replica.catalog_engine() if state.replica else state.read_engine
        built = await product_connection_json(
            engine, plan, product_query, order, limit, after_key, cursor_kind
        )
        data: dict[str, Any] = {}
        for selection in operation.selection_set.selections:
            assert isinstance(selection, FieldNode)
            key = selection.alias.value if selection.alias else selection.name.value
            data[key] = built if selection is field else "Query"
        name = (
            operation_name
            if operation_name is not None
            else (operation.name.value if operation.name else None)
        )
        return orjson.dumps({"data": data}), name


@lru_cache(maxsize=256)
def _parsed(query: str, max_tokens: int, max_length: int) -> DocumentNode | None:
    """The document, parsed within the same limits as strawberry's parser cache is; None on any
    syntax error (the standard path answers it, as QUERY_TOO_LARGE when it is a limit's)."""
    try:
        return parse(query, max_tokens=max_tokens, max_source_length=max_length)  # type: ignore[call-arg]
    except GraphQLError:
        return None


def _product_query(given: Any) -> ProductQuery | None:
    if given is None:
        return ProductQuery()
    if type(given) is not dict or given.get("attributes") is not None:
        return None  # a filter by attributes has its own caps: the standard path
    if not given.keys() <= {*_FILTER_FIELDS, "attributes"}:
        return None
    return ProductFilter(
        **{_FILTER_FIELDS[name]: value for name, value in given.items() if name != "attributes"}
    ).to_query()


_KNOWN_EXTENSIONS = (
    OperationMetrics,
    MaskUnexpectedErrors,
    OperationLimits,
    ParserCache,
    DocumentValidationCache,
)


def _known_extensions(extensions: Sequence[Any]) -> bool:
    """Whether the schema's extensions are the ones this path stands in for, each once."""
    kinds = []
    for extension in extensions:
        if isinstance(extension, type):
            kinds.append(extension)
        elif isinstance(extension, SchemaExtension):
            kinds.append(type(extension))
        else:  # a factory (ParserCache's)
            kinds.append(type(extension()))
    return len(kinds) == len(_KNOWN_EXTENSIONS) and set(kinds) == set(_KNOWN_EXTENSIONS)


def _plain_request(scope: Scope) -> bool:
    values = [value for name, value in scope["headers"] if name == b"content-type"]
    if len(values) != 1 or not json_in_utf8_request(values[0]):
        return False
    return not any(
        name == b"accept" and any(kind in value for kind in _STREAMING) for name, value in scope["headers"]
    )
