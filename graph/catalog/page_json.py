"""A page of products answered as JSON text built by PostgreSQL, for the selections it knows.

For an uncached catalog page most of the server's CPU went into Python objects: the page's rows
decoded, a strawberry object per product, variant, image and price, each field completed by the
executor, then the whole serialised again. When the selection below `products` asks only for
what `models.product_json` can build (the product's plain fields, images, price range, category
and variants, `__typename`, the edges' cursors, the page info and `totalCount`), with no
directives, arguments or fragments on another type, the page statement returns each product's
JSON text instead of its columns, and this module wraps it in the connection's JSON; the executor
(graph.execution) puts that text in the answer as it is (an `orjson.Fragment`, which the HTTP
view's encoder writes out unchanged).

Everything before the resolver is the same (parsing, validation, query limits, extensions,
arguments: an over-cap `first` or a bad cursor fails the same way), and the answer's bytes are the
same as the standard path's (tests/test_catalog_json.py compares them over many selections).
Anything else (facets, ratings, reviews, attributes, a variant's product, a category's parent,
@include/@skip, an interface's fragment) takes the standard path. Only the HTTP endpoint asks for
it (`Context.json_fragments`): other callers of the schema get plain data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from core.catalog_cache import note_products
from domain import catalog
from domain.catalog import Part, ProductOrder, ProductQuery
from graph.context import Info
from graph.library_internals import graphql_core_info
from graph.pagination import encode_cursor

# GraphQL type -> its fields this path builds: GraphQL name -> (field of models.product_json, the
# GraphQL type of a nested object or list's items). Money's currency is the shop's, a constant.
_TYPES: Mapping[str, Mapping[str, tuple[str, str | None]]] = {
    "Product": {
        "id": ("id", None),
        "slug": ("slug", None),
        "name": ("name", None),
        "description": ("description", None),
        "inStock": ("in_stock", None),
        "images": ("images", "ProductImage"),
        "priceRange": ("price_range", "PriceRange"),
        "category": ("category", "Category"),
        "variants": ("variants", "ProductVariant"),
    },
    "ProductImage": {"url": ("url", None), "alt": ("alt", None)},
    "PriceRange": {"min": ("min", "Money"), "max": ("max", "Money")},
    "Money": {"amount": ("amount", None), "currency": ("", None)},
    "Category": {"id": ("id", None), "name": ("name", None), "slug": ("slug", None)},
    "ProductVariant": {
        "id": ("id", None),
        "sku": ("sku", None),
        "name": ("name", None),
        "price": ("price", "Money"),
        "quantityAvailable": ("quantity_available", None),
    },
}
_CONNECTION = {"edges", "pageInfo", "totalCount", "__typename"}
_EDGE = {"node", "cursor", "__typename"}
_PAGE_INFO = {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"}

_MAX_PLANS = 1024


class _Unsupported(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ConnectionPlan:
    fields: tuple[tuple[str, str], ...]  # (JSON key text with its colon, field name), query order
    edge: tuple[tuple[str, str], ...]
    page_info: tuple[tuple[str, str], ...]
    node: tuple[Part, ...] | None  # None when no edge selects its node
    with_cursors: bool
    with_total: bool


_plans: dict[tuple[Any, ...], tuple[Sequence[FieldNode], ConnectionPlan | tuple[Part, ...] | None]] = {}


def connection_plan(info: Info) -> ConnectionPlan | None:
    """The plan of the current `products` field's selection, or None when it takes the standard path."""
    return _plan_of(info, "connection", _connection_plan)  # type: ignore[return-value]


def product_plan(info: Info) -> tuple[Part, ...] | None:
    """The JSON template of the current `product` field's selection, or None: the standard path."""
    return _plan_of(info, "product", _product_template)  # type: ignore[return-value]


def connection_plan_of(
    nodes: Sequence[FieldNode], fragments: Mapping[str, FragmentDefinitionNode], currency: str
) -> ConnectionPlan | None:
    """`connection_plan` for the `products` field's parsed nodes (app.lean_page), or None."""
    return _cached_plan("connection", nodes, fragments, currency, _connection_plan)  # type: ignore[return-value]


def _plan_of(info: Info, kind: str, make: Any) -> ConnectionPlan | tuple[Part, ...] | None:
    context = info.context
    if not (context.json_fragments and context.settings.catalog_json_in_sql):
        return None
    raw = graphql_core_info(info)
    return _cached_plan(kind, raw.field_nodes, raw.fragments, context.settings.currency, make)


def _cached_plan(
    kind: str,
    nodes: Sequence[FieldNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    currency: str,
    make: Any,
) -> ConnectionPlan | tuple[Part, ...] | None:
    key = (kind, currency, *map(id, nodes))
    found = _plans.get(key)
    if found is None:
        try:
            plan = make(nodes, fragments, currency)
        except _Unsupported:
            plan = None
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        found = _plans[key] = (nodes, plan)  # holds the nodes: their ids stay theirs
    return found[1]


async def product_json(info: Info, slug: str, template: tuple[Part, ...]) -> orjson.Fragment | None:
    """`product(slug)`'s JSON in one statement (the standard path: the product, then its variants)."""
    async with catalog.pooled_reads(info.context.read_engine) as conn:
        found = await catalog.product_json_by_slug(conn, slug, template)
    if found is None:
        return None
    product_id, node_json = found
    if any(part.field == "variants" for part in template):
        note_products((product_id,))  # the answer shows its stock: a stock change drops it
    return orjson.Fragment(node_json)


def _product_template(
    nodes: Sequence[FieldNode], fragments: Mapping[str, FragmentDefinitionNode], currency: str
) -> tuple[Part, ...]:
    return tuple(_template(nodes, fragments, "Product", currency))


async def product_connection_json(
    engine: AsyncEngine,
    plan: ConnectionPlan,
    query: ProductQuery,
    order: ProductOrder,
    limit: int,
    after_key: tuple[Any, ...] | None,
    cursor_kind: str,
) -> orjson.Fragment:
    """The connection's JSON: the page read by one statement (a search: two), as graph.catalog.types
    reads it, each product's JSON built by PostgreSQL."""
    node = plan.node or (Part("__typename", "", '"Product"'),)
    async with catalog.pooled_reads(engine) as conn:
        page = await catalog.product_page_json(
            conn, query, order, limit, after_key, node, with_total=plan.with_total
        )
    if plan.node is not None and any(part.field == "variants" for part in plan.node):
        note_products(page.ids)  # the answer shows their stock: a stock change drops it
    cursors = (
        [orjson.dumps(encode_cursor(cursor_kind, key)).decode() for key in page.sort_keys]
        if plan.with_cursors
        else []
    )
    # One list of pieces joined once: the products' JSON (some 20 KB a page) is copied once here.
    out: list[str] = []
    for position, (key, name) in enumerate(plan.fields):
        out.append(("{" if position == 0 else ",") + key)
        if name == "edges":
            out.append("[")
            for index, node_json in enumerate(page.nodes):
                for place, (edge_key, edge_name) in enumerate(plan.edge):
                    out.append(("," if index and not place else "") + ("{" if not place else ",") + edge_key)
                    if edge_name == "node":
                        out.append(node_json)
                    elif edge_name == "cursor":
                        out.append(cursors[index])
                    else:
                        out.append('"ProductEdge"')
                out.append("}" if plan.edge else ("," if index else "") + "{}")
            out.append("]")
        elif name == "pageInfo":
            values = {
                "hasNextPage": "true" if page.has_next_page else "false",
                "hasPreviousPage": "true" if after_key is not None else "false",
                "startCursor": cursors[0] if cursors else "null",
                "endCursor": cursors[-1] if cursors else "null",
                "__typename": '"PageInfo"',
            }
            out.append("{" + ",".join(k + values[n] for k, n in plan.page_info) + "}")
        elif name == "totalCount":
            out.append(str(page.total_count or 0))
        else:
            out.append('"ProductConnection"')
    out.append("}" if plan.fields else "{}")
    return orjson.Fragment("".join(out))


def _connection_plan(
    nodes: Sequence[FieldNode], fragments: Mapping[str, FragmentDefinitionNode], currency: str
) -> ConnectionPlan:
    fields = _collect(nodes, fragments, "ProductConnection", _CONNECTION)
    edge: list[tuple[str, str]] = []
    page_info: list[tuple[str, str]] = []
    node: list[Part] | None = None
    edges = [(key, name) for key, (name, _) in fields.items() if name == "edges"]
    infos = [(key, name) for key, (name, _) in fields.items() if name == "pageInfo"]
    if len(edges) > 1 or len(infos) > 1:
        raise _Unsupported  # two aliases of edges: rare, and the standard path does it
    if edges:
        edge_fields = _collect(fields[edges[0][0]][1], fragments, "ProductEdge", _EDGE)
        for key, (name, children) in edge_fields.items():
            if name == "node":
                if node is not None:
                    raise _Unsupported
                node = _template(children, fragments, "Product", currency)
            edge.append((_key(key), name))
    if infos:
        for key, (name, _) in _collect(fields[infos[0][0]][1], fragments, "PageInfo", _PAGE_INFO).items():
            page_info.append((_key(key), name))
    with_cursors = any(name == "cursor" for _, name in edge) or bool(
        {name for _, name in page_info} & {"startCursor", "endCursor"}
    )
    return ConnectionPlan(
        fields=tuple((_key(key), name) for key, (name, _) in fields.items()),
        edge=tuple(edge),
        page_info=tuple(page_info),
        node=tuple(node) if node is not None else None,
        with_cursors=with_cursors,
        with_total=any(name == "totalCount" for name, _ in fields.values()),
    )


def _template(
    nodes: Sequence[FieldNode], fragments: Mapping[str, FragmentDefinitionNode], type_name: str, currency: str
) -> list[Part]:
    known = _TYPES[type_name]
    parts = []
    for key, (name, children) in _collect(nodes, fragments, type_name, {*known, "__typename"}).items():
        if name == "__typename":
            parts.append(Part(key, "", orjson.dumps(type_name).decode()))
            continue
        field, nested = known[name]
        if type_name == "Money" and name == "currency":
            parts.append(Part(key, "", orjson.dumps(currency).decode()))
        elif nested is None:
            parts.append(Part(key, field))
        else:
            parts.append(Part(key, field, tuple(_template(children, fragments, nested, currency))))
    return parts


def _key(response_name: str) -> str:
    return orjson.dumps(response_name).decode() + ":"


def _collect(
    nodes: Sequence[FieldNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    type_name: str,
    known: set[str] | Mapping[str, Any],
) -> dict[str, tuple[str, list[FieldNode]]]:
    """The fields below `nodes` by response name, in query order, merged as GraphQL merges them
    (validation made sure that one response name is one field with the same arguments)."""
    collected: dict[str, tuple[str, list[FieldNode]]] = {}

    def walk(selection_set: SelectionSetNode | None) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if selection.directives:
                raise _Unsupported
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if selection.arguments or name not in known:
                    raise _Unsupported
                response = selection.alias.value if selection.alias else name
                collected.setdefault(response, (name, []))[1].append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if selection.type_condition and selection.type_condition.name.value != type_name:
                    raise _Unsupported
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is None or fragment.directives or fragment.type_condition.name.value != type_name:
                    raise _Unsupported
                walk(fragment.selection_set)
            else:
                raise _Unsupported

    for node in nodes:
        walk(node.selection_set)
    return collected
