"""Caps on list arguments.

Each list argument of the schema has a cap, applied by the domain with a userError that says what
is allowed (LIST_ARGUMENT_CAPS names them all; a test walks the schema so that a new list argument
cannot come without one). Before that, before validation even, no list in a request, in the
document or in its variables, may hold more than MAX_LIST_ITEMS items (TOO_MANY_ITEMS): graphql-core
would otherwise coerce a list of 200,000 ids, item by item, before any resolver could refuse it.
"""

from __future__ import annotations

from graphql import (
    DocumentNode,
    GraphQLInputObjectType,
    GraphQLSchema,
    ListValueNode,
    Node,
    get_nullable_type,
    is_list_type,
)

from domain.attributes import MAX_ATTRIBUTE_FILTERS, MAX_VALUES_PER_FILTER
from domain.carts import MAX_CART_LINES
from domain.catalog_attributes import MAX_ATTRIBUTES_PER_CALL
from domain.catalog_rules import MAX_IMAGES, MAX_VALUES_PER_CALL
from domain.totals_admin import MAX_LIST

LIST_ARGUMENT_CAPS: dict[tuple[str, str, str], int] = {
    ("Mutation", "cartLinesAdd", "lines"): MAX_CART_LINES,
    ("Mutation", "cartLinesUpdate", "lines"): MAX_CART_LINES,
    ("Mutation", "cartLinesRemove", "lineIds"): MAX_CART_LINES,
    # the staff catalog (issue 14) and its attribute filters
    ("ProductCreateInput", "images", ""): MAX_IMAGES,
    ("ProductUpdateInput", "images", ""): MAX_IMAGES,
    ("AttributeCreateInput", "values", ""): MAX_VALUES_PER_CALL,
    ("AttributeValuesInput", "values", ""): MAX_VALUES_PER_CALL,
    ("Mutation", "productAttributesSet", "attributes"): MAX_ATTRIBUTES_PER_CALL,
    ("Mutation", "productVariantAttributesSet", "attributes"): MAX_ATTRIBUTES_PER_CALL,
    ("ProductFilter", "attributes", ""): MAX_ATTRIBUTE_FILTERS,
    ("AttributeFilter", "values", ""): MAX_VALUES_PER_FILTER,
    # Staff shipping, tax and discount edits (domain.totals_admin: INVALID, "at most 300 entries").
    ("ShippingZoneInput", "countries", ""): MAX_LIST,
    ("ShippingZoneInput", "regions", ""): MAX_LIST,
    ("ShippingZoneInput", "postcodePrefixes", ""): MAX_LIST,
    ("DiscountCodeInput", "categoryIds", ""): MAX_LIST,
    ("DiscountCodeInput", "productIds", ""): MAX_LIST,
}


def list_arguments(schema: GraphQLSchema) -> set[tuple[str, str, str]]:
    """(type, field, argument) of every list-typed argument and input field of the schema."""
    found: set[tuple[str, str, str]] = set()
    for type_name, named in schema.type_map.items():
        if type_name.startswith("__"):
            continue
        if isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                if is_list_type(get_nullable_type(input_field.type)):  # type: ignore[arg-type]
                    found.add((type_name, field_name, ""))
            continue
        for field_name, field in (getattr(named, "fields", None) or {}).items():
            for argument_name, argument in field.args.items():
                if is_list_type(get_nullable_type(argument.type)):  # type: ignore[arg-type]
                    found.add((type_name, field_name, argument_name))
    return found


def longest_in_variables(variables: object) -> int:
    """The most items of any list given in a request's variables."""
    longest = 0
    pending: list[object] = [variables]
    while pending:
        value = pending.pop()
        if isinstance(value, list):
            longest = max(longest, len(value))
            pending.extend(value)
        elif isinstance(value, dict):
            pending.extend(value.values())
    return longest


def longest_in_document(document: DocumentNode) -> int:
    """The most items of any list written in the document."""
    longest = 0
    nodes: list[Node] = [document]
    while nodes:
        node = nodes.pop()
        if isinstance(node, ListValueNode):
            longest = max(longest, len(node.values))
        for key in node.keys:
            child = getattr(node, key, None)
            if isinstance(child, Node):
                nodes.append(child)
            elif isinstance(child, tuple | list):
                nodes.extend(item for item in child if isinstance(item, Node))
    return longest
