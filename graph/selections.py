"""How many field selections a parsed document makes, measured before it is validated.

graphql-core's OverlappingFieldsCanBeMergedRule compares every pair of fields that land on the
same response name at the same place (fragments and inline fragments included), and each pair's
sub-selections again. A document of 400 `categories { parent { parent { id } } }` passes the
depth, alias and cost limits and kept it busy for seconds. Its work is bounded by two numbers,
counted here on the parsed document with every fragment counted at each of its spreads:

- `fields`: all field selections of the document's operations (MAX_QUERY_FIELDS);
- `repeats`: the most fields that share one response name at one place (MAX_QUERY_FIELD_REPEATS).

The pairs the rule compares are then at most fields * repeats / 2. A fragment no operation uses
is refused here too (validation would refuse it anyway), since the rule compares its fields as
well.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


@dataclass(slots=True)
class Selections:
    fields: int = 0
    repeats: int = 0
    repeated: tuple[str, ...] = ()  # the response-name path of the most repeated field
    # A fragment no operation uses, or one that spreads itself: validation refuses both.
    bad_fragment: str | None = None


@dataclass(slots=True)
class _Counter:
    fragments: dict[str, FragmentDefinitionNode]
    expanded: dict[str, int] = field(default_factory=dict)
    entered: set[str] = field(default_factory=set)
    cyclic: str | None = None

    def count(self, selection_set: SelectionSetNode) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += 1 + (self.count(selection.selection_set) if selection.selection_set else 0)
            elif isinstance(selection, InlineFragmentNode):
                total += self.count(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> int:
        known = self.expanded.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None:
            return 0  # unknown: validation reports it
        if name in self.entered:  # entered and not finished: it spreads itself
            self.cyclic = self.cyclic or name
            return 0
        self.entered.add(name)
        self.expanded[name] = self.count(definition.selection_set)
        return self.expanded[name]


def _spreads(selection_set: SelectionSetNode) -> set[str]:
    names: set[str] = set()
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.add(selection.name.value)
            elif selection.selection_set is not None:  # a field or an inline fragment
                pending.append(selection.selection_set)
    return names


def _unused_fragment(
    operations: list[OperationDefinitionNode], fragments: dict[str, FragmentDefinitionNode]
) -> str | None:
    used: set[str] = set()
    pending = set().union(*(_spreads(operation.selection_set) for operation in operations))
    while pending:
        name = pending.pop()
        if name in used or name not in fragments:
            continue
        used.add(name)
        pending |= _spreads(fragments[name].selection_set)
    return next((name for name in fragments if name not in used), None)


class _Repeats:
    """The most fields sharing one response name at one place, fragments expanded."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.most = 0
        self.path: tuple[str, ...] = ()

    def visit(self, selection_sets: list[SelectionSetNode], path: tuple[str, ...]) -> None:
        groups: dict[str, list[FieldNode]] = {}
        for selection_set in selection_sets:
            self._collect(selection_set, groups, ())
        for name, fields in groups.items():
            if len(fields) > self.most:
                self.most, self.path = len(fields), (*path, name)
            inner = [node.selection_set for node in fields if node.selection_set is not None]
            if inner:
                self.visit(inner, (*path, name))

    def _collect(
        self, selection_set: SelectionSetNode, groups: dict[str, list[FieldNode]], active: tuple[str, ...]
    ) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = (selection.alias or selection.name).value
                groups.setdefault(name, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                self._collect(selection.selection_set, groups, active)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = selection.name.value
                definition = self.fragments.get(fragment)
                if definition is not None and fragment not in active:
                    self._collect(definition.selection_set, groups, (*active, fragment))


def measure_selections(document: DocumentNode, max_fields: int) -> Selections:
    """The document's field selections; repeats are counted only when fields are within `max_fields`.

    Raises RecursionError for documents nested beyond Python's recursion limit.
    """
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    fragments = {
        node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)
    }
    unused = _unused_fragment(operations, fragments)
    if unused is not None:
        return Selections(bad_fragment=unused)
    counter = _Counter(fragments)
    total = sum(counter.count(operation.selection_set) for operation in operations)
    if counter.cyclic is not None:
        return Selections(fields=total, bad_fragment=counter.cyclic)
    if total > max_fields:
        return Selections(fields=total)
    repeats = _Repeats(fragments)
    for operation in operations:
        repeats.visit([operation.selection_set], ())
    return Selections(fields=total, repeats=repeats.most, repeated=repeats.path)
