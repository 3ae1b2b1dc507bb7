"""Validation results kept per parsed document, found by the document's identity.

strawberry's ValidationCache keeps them in an `lru_cache` keyed by the document, and a
graphql-core document hashes by walking all of its nodes: every request paid a walk of its whole
query just to find the cached answer. The parser cache hands the same document object to every
request with the same query text, so the document's id finds it in one dict lookup here (the entry
holds the document, so that its id stays its own). Same validation, same errors, same rules
(strawberry's own added, see graph.library_internals.validate_document).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from graph.library_internals import graphql_core_schema, validate_document

MAX_DOCUMENTS = 256
_validated: dict[tuple[Any, int, Any], tuple[Any, list[GraphQLError]]] = {}


class DocumentValidationCache(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        schema, document, rules = (
            graphql_core_schema(context),
            context.graphql_document,
            context.validation_rules,
        )
        context.pre_execution_errors = validated(schema, document, rules)  # type: ignore[arg-type]
        yield


def validated(schema: Any, document: Any, rules: Any) -> list[GraphQLError]:
    """The validation errors of `document` (none: valid), computed once per document."""
    key = (schema, id(document), rules)
    known = _validated.get(key)
    if known is None or known[0] is not document:
        errors = validate_document(schema, document, rules)
        if len(_validated) >= MAX_DOCUMENTS:
            _validated.clear()
        known = _validated[key] = (document, errors)
    return known[1]
