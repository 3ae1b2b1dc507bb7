"""What a query asks for below a field, so that resolvers can read ahead in one batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def selected_below(selections: Iterable[Selection], path: Sequence[str]) -> list[SelectedField]:
    """The fields reached by following `path` (field names) through fields and fragments."""
    current = list(_fields(selections))
    for name in path:
        current = [child for field in current if field.name == name for child in _fields(field.selections)]
    return current


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, (InlineFragment, FragmentSpread)):
            yield from _fields(selection.selections)
