"""Depth, aliases and cost of a GraphQL document's operations, each fragment measured once.

Each field costs 1; a field that pages with `first` multiplies the cost of what it selects by its
page size: the literal given, 20 when absent, and the maximum of 100 when it is a variable (whose
value validation cannot see). graph.limits compares the measures with the limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)

from graph.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

__all__ = ["Measure", "Measurer", "measure_operations"]


@dataclass(slots=True, frozen=True)
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0


class Measurer:
    """Depth, aliases and cost of the operations of one document, each fragment measured once."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)
        }
        self.measured: dict[str, Measure] = {}
        self.entered: set[str] = set()

    def operation(self, node: OperationDefinitionNode) -> Measure:
        root = self.schema.get_root_type(node.operation)
        return self.selections(node.selection_set, root)

    def selections(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> Measure:
        depth = aliases = cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                measure = self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner_type = self.schema.get_type(condition.name.value) if condition else parent
                measure = self.selections(selection.selection_set, inner_type)
            elif isinstance(selection, FragmentSpreadNode):
                measure = self.fragment(selection.name.value)
            else:
                continue
            depth = max(depth, measure.depth)
            aliases += measure.aliases
            cost += measure.cost
        return Measure(depth, aliases, cost)

    def fragment(self, name: str) -> Measure:
        known = self.measured.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.entered:
            return Measure()  # unknown or cyclic: the standard rules report those
        self.entered.add(name)
        measure = self.selections(
            definition.selection_set, self.schema.get_type(definition.type_condition.name.value)
        )
        self.measured[name] = measure
        return measure

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Measure:
        definition = _field_definition(parent, node.name.value)
        inner = Measure()
        if node.selection_set is not None:
            inner_type = get_named_type(definition.type) if definition else None
            inner = self.selections(node.selection_set, inner_type)
        # Introspection recursion is bounded by MaxIntrospectionDepthRule instead.
        depth = 0 if node.name.value.startswith("__") else 1 + inner.depth
        return Measure(
            depth=depth,
            aliases=inner.aliases + (node.alias is not None),
            cost=1 + _page_size(node, definition) * inner.cost,
        )


def _field_definition(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return parent.fields.get(name)
    return None


def _page_size(node: FieldNode, definition: GraphQLField | None) -> int:
    """How many items a field that pages with `first` may return; 1 for any other field."""
    if definition is None or "first" not in definition.args:
        return 1
    arguments = node.arguments or ()  # None for a field written without parentheses
    argument = next((argument for argument in arguments if argument.name.value == "first"), None)
    if argument is None or isinstance(argument.value, NullValueNode):
        return DEFAULT_PAGE_SIZE
    if isinstance(argument.value, IntValueNode):
        try:
            # Larger pages are refused by the field itself, with a clearer message.
            return min(max(int(argument.value.value), 0), MAX_PAGE_SIZE)
        except ValueError:  # more digits than Python converts
            return MAX_PAGE_SIZE
    return MAX_PAGE_SIZE


def measure_operations(schema: GraphQLSchema, document: DocumentNode) -> list[Measure]:
    """The measure of every operation of a document (for tests and tuning the limits)."""
    measurer = Measurer(schema, document)
    return [
        measurer.operation(node) for node in document.definitions if isinstance(node, OperationDefinitionNode)
    ]
