"""What the lean paths (app/lean_paths.py) check of a request before answering it themselves.

The same rules as the standard path, so that a request a lean path takes would have been taken by
strawberry's view too, and anything else goes there unchanged: the same body rules (a JSON object
with `query`, optional `variables` and `operationName`, nothing else), the same parser limits
(QUERY_TOO_LARGE), the same checks before validation (graph.limits), the same validation with the
same rules (depth, aliases, cost, introspection, strawberry's own), and the schema's extensions
exactly the ones the lean paths stand in for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    get_operation_ast,
    parse,
    specified_rules,
)
from starlette.types import Scope
from strawberry.extensions import ParserCache, SchemaExtension

from core.catalog_cache import json_in_utf8_request
from core.settings import Settings
from graph.errors import MaskUnexpectedErrors
from graph.limits import OperationLimits, QueryLimits, passes_before_validation, validation_rules
from graph.metrics import OperationMetrics
from graph.validation_cache import DocumentValidationCache, validated

_BODY_KEYS = frozenset(("query", "variables", "operationName"))
_STREAMING = (b"multipart", b"event-stream")


@dataclass(frozen=True, slots=True)
class Operation:
    """A request's one operation, parsed and validated as the standard path would."""

    document: DocumentNode
    node: OperationDefinitionNode
    variables: dict[str, Any] | None  # as sent (graphql-core coerces them)
    name: str | None  # the operation's name, as metrics record it

    def root_fields(self) -> list[FieldNode] | None:
        """The root fields other than `__typename`; None when a root selection is not a plain
        field (a fragment) or carries a directive, or the operation does."""
        if self.node.directives:
            return None
        fields: list[FieldNode] = []
        for selection in self.node.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.directives:
                return None
            if selection.name.value != "__typename":
                fields.append(selection)
        return fields


def plain_request(scope: Scope) -> bool:
    """A POST of JSON in UTF-8 that asks for one JSON answer (not a stream)."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    values = [value for name, value in scope["headers"] if name == b"content-type"]
    if len(values) != 1 or not json_in_utf8_request(values[0]):
        return False
    return not any(
        name == b"accept" and any(kind in value for kind in _STREAMING) for name, value in scope["headers"]
    )


def read_operation(schema: GraphQLSchema, settings: Settings, body: bytes) -> Operation | None:
    """The operation of a request body that passes every check before execution; else None."""
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
    limits = QueryLimits.from_settings(settings)
    document = _parsed(query, limits.max_tokens, limits.max_length)
    if document is None or not passes_before_validation(document, variables, operation_name, limits):
        return None
    if validated(schema, document, validation_rules(tuple(specified_rules), limits)):
        return None
    operation = get_operation_ast(document, operation_name)
    if not isinstance(operation, OperationDefinitionNode):
        return None
    name = (
        operation_name if operation_name is not None else (operation.name.value if operation.name else None)
    )
    return Operation(document, operation, variables, name)


@lru_cache(maxsize=256)
def _parsed(query: str, max_tokens: int, max_length: int) -> DocumentNode | None:
    """The document, parsed within the same limits as strawberry's parser cache is; None on any
    syntax error (the standard path answers it, as QUERY_TOO_LARGE when it is a limit's)."""
    try:
        return parse(query, max_tokens=max_tokens, max_source_length=max_length)  # type: ignore[call-arg]
    except GraphQLError:
        return None


_KNOWN_EXTENSIONS = (
    OperationMetrics,
    MaskUnexpectedErrors,
    OperationLimits,
    ParserCache,
    DocumentValidationCache,
)


def known_extensions(extensions: Sequence[Any]) -> bool:
    """Whether the schema's extensions are the ones the lean paths stand in for, each once.
    What they do is what the lean paths do; anything added there (another extension) switches
    them off until they are taught the same (their tests then fail where they expect a lean answer)."""
    kinds = []
    for extension in extensions:
        if isinstance(extension, type):
            kinds.append(extension)
        elif isinstance(extension, SchemaExtension):
            kinds.append(type(extension))
        else:  # a factory (ParserCache's)
            kinds.append(type(extension()))
    return len(kinds) == len(_KNOWN_EXTENSIONS) and set(kinds) == set(_KNOWN_EXTENSIONS)
