"""What a query asks for below a field, so that resolvers can read ahead in one batch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode, SelectionNode

from graph.context import Info
from graph.library_internals import graphql_core_info

_MAX_ENTRIES = 4096
# Keyed by the ids of the field's parsed nodes and the path; each entry holds those nodes, so no
# other object can take their ids while it is cached. The parser cache hands back the same nodes
# for the same query text, so a storefront's pages find their answer here.
_selected: dict[tuple[object, ...], tuple[Sequence[FieldNode], frozenset[str]]] = {}


def selected_names(info: Info, path: Sequence[str] = ()) -> frozenset[str]:
    """Names of the fields reached by following `path` (field names) below the current field.

    Fragments are followed; @skip and @include are not evaluated, so a field they would leave
    out still counts as asked for (a resolver reads a little more, never less).
    """
    raw = graphql_core_info(info)  # strawberry's own selected_fields rebuilds the whole selection each time
    nodes = raw.field_nodes
    key = (*map(id, nodes), *path)
    found = _selected.get(key)
    if found is None:
        names = frozenset(_names_below(nodes, path, raw.fragments))
        if len(_selected) >= _MAX_ENTRIES:
            _selected.clear()
        found = _selected[key] = (nodes, names)
    return found[1]


def _names_below(
    nodes: Sequence[FieldNode], path: Sequence[str], fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterable[str]:
    current = [child for node in nodes for child in _fields(node, fragments, set())]
    for name in path:
        current = [
            child
            for field in current
            if field.name.value == name
            for child in _fields(field, fragments, set())
        ]
    return (field.name.value for field in current)


def _fields(
    parent: FieldNode | InlineFragmentNode | FragmentDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: set[str],
) -> Iterable[FieldNode]:
    selections: Sequence[SelectionNode] = parent.selection_set.selections if parent.selection_set else ()
    for selection in selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(fragment, fragments, seen)
