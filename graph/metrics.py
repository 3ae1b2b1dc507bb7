"""The GraphQL side of the metrics: each operation's name, type, error codes and userError codes,
handed to core.metrics (no query text, no variables)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from core import metrics

VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


class OperationMetrics(SchemaExtension):
    """First in the schema's extensions, so it sees the errors after they were masked."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            self._record()

    def _record(self) -> None:
        context = self.execution_context
        try:
            operation_type = context.operation_type.value
        except Exception:  # no document, or no such operation: strawberry answers 400
            operation_type = "unknown"
        errors: list[GraphQLError] = list(context.pre_execution_errors or [])
        result = context.result
        data = None
        if result is not None:
            errors += list(getattr(result, "errors", None) or [])
            data = getattr(result, "data", None)
        record(context.operation_name, operation_type, errors, data)


def record(operation_name: str | None, operation_type: str, errors: list[GraphQLError], data: Any) -> None:
    """One executed operation's metrics, from its errors (as answered) and its data."""
    user_errors = _user_error_codes(data) if operation_type == "mutation" else []
    metrics.graphql_operation(operation_name, operation_type, (_code(error) for error in errors), user_errors)


def _code(error: GraphQLError) -> object:
    code = (error.extensions or {}).get("code")
    if code is None and error.original_error is None:
        return VALIDATION_FAILED  # parsing and validation errors carry no code of their own
    return code or "INTERNAL_SERVER_ERROR"


def _user_error_codes(data: Any) -> list[object]:
    """The `code` of every userError in a mutation's answer (each payload's top level)."""
    codes: list[object] = []
    if isinstance(data, dict):
        for payload in data.values():
            if isinstance(payload, dict):
                for error in payload.get("userErrors") or ():
                    if isinstance(error, dict) and "code" in error:
                        codes.append(error["code"])
    return codes
