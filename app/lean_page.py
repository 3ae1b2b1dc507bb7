"""The uncached catalog page answered without strawberry's view and executor, when that is safe.

A `products` query whose whole selection PostgreSQL builds (graph.catalog.page_json) spends most
of its CPU on what surrounds the one statement: strawberry's HTTP view, its extensions and
graphql-core's executor, all to splice one JSON text into `{"data":{"products":...}}`. This
handler answers such a request itself (app/lean_paths.py hands it the request, inside the answer
cache, APQ and every middleware, after the checks of app/lean_request.py), doing what the
standard path does for it:

- the same arguments' rules (page size, cursor) and the same statement; the answer's products
  noted for the answer cache's per-product invalidation;
- the same metrics (operation name and type) and the same response (status, headers, bytes).

Anything else, and any request that would answer an error, goes to the standard path unchanged:
another root field or a second one, a selection page_json does not build, directives, a filter by
attributes, a parse or validation error, a refused page size or cursor, an unexpected exception
(a query: nothing was changed, the standard path simply runs it). `CATALOG_LEAN_PAGE` (default
on) switches it off.
"""

from __future__ import annotations

from typing import Any

import orjson
from graphql import FieldNode, FragmentDefinitionNode, GraphQLSchema, OperationType
from graphql.execution import get_argument_values, get_variable_values
from starlette.types import Scope

from app.lean_request import Operation
from core import metrics
from core.settings import Settings
from domain.catalog import ProductQuery
from graph.catalog.page_json import connection_plan_of, product_connection_json
from graph.catalog.types import ProductSort, page_request
from graph.errors import PublicError
from graph.library_internals import strawberry_field
from resolvers.catalog.queries import ProductFilter

_FILTER_FIELDS = {
    "search": "search",
    "categorySlug": "category_slug",
    "minPrice": "min_price",
    "maxPrice": "max_price",
    "inStock": "in_stock",
}

answered = [0]  # requests this path answered, in this process (tests look)


class CatalogPage:
    def __init__(self, schema: GraphQLSchema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        self.products_field = schema.query_type.fields["products"]  # type: ignore[union-attr]
        definition = strawberry_field(self.products_field)
        self.usable = (
            definition is not None
            and not definition.extensions
            and not definition.permission_classes
            and not definition.directives
        )

    def takes(self, operation: Operation) -> bool:
        settings = self.settings
        return (
            self.usable
            and settings.catalog_lean_page
            and settings.catalog_json_in_sql
            and operation.node.operation is OperationType.QUERY
        )

    async def answer(self, scope: Scope, operation: Operation) -> bytes | None:
        """The answer's bytes, or None: the standard path answers."""
        # `products` once, and any number of `__typename` (the only other root field answered here)
        fields = operation.root_fields()
        if fields is None or len(fields) != 1 or fields[0].name.value != "products":
            return None
        field = fields[0]
        document, node = operation.document, operation.node
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        plan = connection_plan_of((field,), fragments, self.settings.currency)
        if plan is None:
            return None
        coerced = get_variable_values(self.schema, node.variable_definitions or (), operation.variables or {})
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
        for selection in node.selection_set.selections:
            assert isinstance(selection, FieldNode)
            key = selection.alias.value if selection.alias else selection.name.value
            data[key] = built if selection is field else "Query"
        metrics.graphql_operation(operation.name, "query", (), ())
        answered[0] += 1
        return orjson.dumps({"data": data})


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
