"""Errors a client may see, and the masking of every other exception.

A `PublicError` is a GraphQL error meant for the client, with a stable
`extensions.code`. Anything else raised while executing is logged in full with the
request id and reaches the client only as a generic message carrying that id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import StreamExecutionResult

from core.request_id import current_request_id

logger = logging.getLogger("graph.errors")

# Raised through the schema for strawberry's HTTP view to answer with a 400 itself.
_REQUEST_ERRORS = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)


class PublicError(Exception):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, code: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {"code": code or self.code, **extensions}


class Unauthenticated(PublicError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "Sign in to do this.") -> None:
        super().__init__(message)


class Forbidden(PublicError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "You are not allowed to do this.") -> None:
        super().__init__(message)


def is_unexpected(error: GraphQLError) -> bool:
    """Errors without an original exception come from parsing and validation: they are the client's."""
    original = error.original_error
    return original is not None and not isinstance(original, (PublicError, GraphQLError))


def log_unexpected_errors(errors: list[GraphQLError]) -> None:
    for error in errors:
        if is_unexpected(error):
            original = error.original_error
            assert original is not None
            logger.error(
                "unexpected error in %s (request id %s)",
                ".".join(str(part) for part in error.path or ()) or "operation",
                current_request_id(),
                exc_info=(type(original), original, original.__traceback__),
            )


def _answered(error: GraphQLError) -> GraphQLError:
    """An error for the client, without the frames it was raised through: they referred to the
    operation that holds the error (a reference cycle, which would keep the whole request alive
    until a full garbage collection; tests/test_request_garbage.py). Nothing logs these."""
    error.__traceback__ = None
    if error.original_error is not None:
        error.original_error.__traceback__ = None
    return error


def client_errors(errors: list[GraphQLError]) -> list[GraphQLError]:
    """What a path that executes without strawberry's schema (app/lean_checkout.py) answers for
    errors raised while executing: logged as the schema logs them (resolvers.schema), then masked
    as MaskUnexpectedErrors masks them."""
    log_unexpected_errors(errors)
    return [
        MaskUnexpectedErrors.mask(error) if is_unexpected(error) else _answered(error) for error in errors
    ]


class MaskUnexpectedErrors(SchemaExtension):
    """Replace unexpected errors with a generic message and the request id."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except _REQUEST_ERRORS:
            raise
        except Exception as raised:
            # Raised while parsing or validating: strawberry answers it after this hook has ended.
            error = (
                raised
                if isinstance(raised, GraphQLError)
                else GraphQLError(str(raised), original_error=raised)
            )
            if not is_unexpected(error):
                raise
            log_unexpected_errors([error])
            raise self.mask(error) from None
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [
            self.mask(error) if is_unexpected(error) else _answered(error) for error in result.errors
        ]

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        # Each event of a subscription is sent before the operation ends: mask it on its way out.
        # (Logged already: the schema's process_errors sees every result first, resolvers.schema.)
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [  # type: ignore[union-attr]
                self.mask(error) if is_unexpected(error) else _answered(error) for error in errors
            ]
        yield

    @staticmethod
    def mask(error: GraphQLError) -> GraphQLError:
        request_id = current_request_id()
        return GraphQLError(
            f"Internal server error. Quote request id {request_id} when reporting it.",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )
