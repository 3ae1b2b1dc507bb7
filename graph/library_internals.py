"""Every use of strawberry's and graphql-core's non-public behaviour, in one place.

The plain-fields executor (graph.execution) and the selection reader (graph.selection) rely on
things these libraries do not promise: the execution context's method names and signatures, the
name strawberry gives the resolver of a plain attribute, the extension key that links a GraphQL
field to its strawberry definition, and strawberry's `Info` wrapping graphql-core's. They are
written for the versions in WRITTEN_FOR (pinned in pyproject.toml and requirements.lock), and
tests/test_library_internals.py fails, naming what changed, on any other version or behaviour:
an upgrade must not quietly turn the fast paths off.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLField, GraphQLResolveInfo
from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails, GroupedFieldSet
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

__all__ = [
    "WRITTEN_FOR",
    "ExecutionContextBase",
    "FieldDetailsList",
    "FragmentDetails",
    "GroupedFieldSet",
    "graphql_core_info",
    "reads_plain_attribute",
    "strawberry_field",
]

WRITTEN_FOR = {"strawberry-graphql": "0.341.2", "graphql-core": "3.3.2"}

# strawberry's execution context, itself graphql-core's; graph.execution overrides its
# `complete_object_value` and calls `collect_subfields` and `execute_fields`.
ExecutionContextBase = StrawberryGraphQLCoreExecutionContext

# The key under which strawberry keeps a GraphQL field's StrawberryField in its extensions.
_DEFINITION = "strawberry-definition"
# The name strawberry gives the resolver of a field it reads with plain getattr.
_BASIC_RESOLVER = "_get_basic_result"


def strawberry_field(field_def: GraphQLField) -> StrawberryField | None:
    """The strawberry definition behind a GraphQL field, or None for a field strawberry did not make."""
    definition = field_def.extensions.get(_DEFINITION)
    return definition if isinstance(definition, StrawberryField) else None


def reads_plain_attribute(field_def: GraphQLField, definition: StrawberryField) -> bool:
    """True when the field's value is its object's attribute, read with plain getattr, unchanged."""
    return (
        definition.is_basic_field
        and definition.default_resolver is getattr
        and getattr(field_def.resolve, "__name__", None) == _BASIC_RESOLVER
    )


def graphql_core_info(info: Any) -> GraphQLResolveInfo:
    """graphql-core's resolve info inside strawberry's `Info` (its parsed nodes and fragments)."""
    return info._raw_info
