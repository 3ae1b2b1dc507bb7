"""What one GraphQL document may ask for, checked before anything executes.

- Size (QUERY_TOO_LARGE): characters and tokens, enforced by graphql-core's parser while it reads.
- Depth (QUERY_TOO_DEEP), aliases (TOO_MANY_ALIASES) and cost (QUERY_TOO_COMPLEX): one validation
  rule. Each field costs 1; a field that pages with `first` multiplies the cost of what it selects
  by its page size: the literal given, 20 when absent, and the maximum of 100 when it is a variable
  (whose value validation cannot see). Other lists are bounded by the data (a product's variants,
  a cart's lines) and count once.
- Introspection: allowed unless INTROSPECTION is off (INTROSPECTION_DISABLED), never recursing into
  the schema deeper than graphql-core's MaxIntrospectionDepthRule allows (QUERY_TOO_DEEP; that rule
  is among graphql-core's standard rules, here it also gets the code).
- Subscriptions only over WebSocket; over HTTP they answer SUBSCRIPTION_NEEDS_WEBSOCKET.
- Field selections (TOO_MANY_FIELDS), counted on the parsed document before validation
  (`graph/selections.py`): in total, and sharing one response name at one place. They bound the
  work of graphql-core's overlapping-fields rule, which compares such fields pairwise. That rule's
  own work budget is lowered too, as a second line: a document that still exhausts it answers
  QUERY_TOO_COMPLEX.
- Lists (TOO_MANY_ITEMS): none in the document or its variables may hold more than MAX_LIST_ITEMS
  items (`graph/list_arguments.py`); each list argument has its own, smaller cap in the domain.
- A document of several operations must name the one to run (`operationName`), as the GraphQL
  spec says (OPERATION_NAME_REQUIRED); strawberry would otherwise run the first.

Strawberry's QueryDepthLimiter and MaxAliasesLimiter walk a fragment again at every spread of it,
so a few hundred tokens of fragments that each spread the next one twice keep them busy for
seconds, doubling with every fragment (and the depth limiter raises on an unknown fragment). The
rule here measures every fragment once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    ValidationContext,
    ValidationRule,
)
from graphql.validation import MaxIntrospectionDepthRule, NoSchemaIntrospectionCustomRule
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from core.settings import Settings
from graph.library_internals import (
    is_parser_limit_error,
    is_validation_aborted,
    provided_operation_name,
    set_overlap_budget,
    set_parse_limits,
)
from graph.list_arguments import longest_in_document, longest_in_variables
from graph.operation_measure import Measurer
from graph.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from graph.selections import measure_selections

# The work graphql-core's overlapping-fields rule may do on one document before it aborts the
# validation. Its default, 500,000, is about a second of CPU; documents within MAX_QUERY_FIELDS and
# MAX_QUERY_FIELD_REPEATS stay far below this.
OVERLAP_BUDGET = 50_000
set_overlap_budget(OVERLAP_BUDGET)


@dataclass(slots=True, frozen=True)
class QueryLimits:
    max_length: int
    max_tokens: int
    max_depth: int
    max_aliases: int
    max_cost: int
    max_fields: int
    max_field_repeats: int
    max_list_items: int
    introspection: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryLimits:
        return cls(
            max_length=settings.max_query_length,
            max_tokens=settings.max_query_tokens,
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_query_aliases,
            max_cost=settings.max_query_cost,
            max_fields=settings.max_query_fields,
            max_field_repeats=settings.max_query_field_repeats,
            max_list_items=settings.max_list_items,
            introspection=settings.introspection,
        )


DEFAULT_LIMITS = QueryLimits.from_settings(Settings.model_construct())


# ---------------------------------------------------------------- validation rules


def _limit_error(message: str, code: str, node: OperationDefinitionNode, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": code, **extensions})


def _operation_limits_rule(limits: QueryLimits) -> type[ASTValidationRule]:
    class OperationLimitsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.measurer = Measurer(context.schema, context.document)

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> object:
            try:
                measure = self.measurer.operation(node)
            except RecursionError:
                self.report_error(
                    _limit_error("The query nests fragments too deeply.", "QUERY_TOO_DEEP", node)
                )
                return self.SKIP
            if measure.depth > limits.max_depth:
                self.report_error(
                    _limit_error(
                        f"The query is {measure.depth} fields deep; at most {limits.max_depth} are allowed.",
                        "QUERY_TOO_DEEP",
                        node,
                    )
                )
            if measure.aliases > limits.max_aliases:
                self.report_error(
                    _limit_error(
                        f"The query uses {measure.aliases} aliases;"
                        f" at most {limits.max_aliases} are allowed.",
                        "TOO_MANY_ALIASES",
                        node,
                    )
                )
            if measure.cost > limits.max_cost:
                cost = str(measure.cost) if measure.cost < 10**9 else "more than a billion"
                self.report_error(
                    _limit_error(
                        f"The query would cost {cost}; the budget is {limits.max_cost}. Each field costs 1,"
                        " and a field paged with `first` multiplies what it selects by its page size"
                        f" ({DEFAULT_PAGE_SIZE} by default, {MAX_PAGE_SIZE} when given as a variable).",
                        "QUERY_TOO_COMPLEX",
                        node,
                        cost=min(measure.cost, 2**31 - 1),
                        budget=limits.max_cost,
                    )
                )
            return self.SKIP

    return OperationLimitsRule


def _with_code(rule: type[ASTValidationRule], code: str) -> type[ASTValidationRule]:
    """`rule`, its errors carrying `extensions.code`."""

    class CodedRule(rule):  # type: ignore[valid-type, misc]
        def report_error(self, error: GraphQLError) -> None:
            error.extensions = {**(error.extensions or {}), "code": code}
            super().report_error(error)

    CodedRule.__name__ = rule.__name__
    return CodedRule


_INTROSPECTION_DEPTH_RULE = _with_code(MaxIntrospectionDepthRule, "QUERY_TOO_DEEP")
_NO_INTROSPECTION_RULE = _with_code(NoSchemaIntrospectionCustomRule, "INTROSPECTION_DISABLED")


@lru_cache(maxsize=8)
def validation_rules(
    standard: tuple[type[ASTValidationRule], ...], limits: QueryLimits
) -> tuple[type[ASTValidationRule], ...]:
    """The same classes for the same limits, so that strawberry's ValidationCache keeps hitting."""
    rules = [_INTROSPECTION_DEPTH_RULE if rule is MaxIntrospectionDepthRule else rule for rule in standard]
    rules.append(_operation_limits_rule(limits))
    if not limits.introspection:
        rules.append(_NO_INTROSPECTION_RULE)
    return tuple(rules)


# ---------------------------------------------------------------- the extension


class OperationLimits(SchemaExtension):
    """Applies the limits of the app's settings to every operation, before it executes."""

    _operation_limits: QueryLimits | None = None  # this operation's, read once (a new extension each)

    def _limits(self) -> QueryLimits:
        if self._operation_limits is None:
            settings = getattr(self.execution_context.context, "settings", None)
            limits = QueryLimits.from_settings(settings) if isinstance(settings, Settings) else DEFAULT_LIMITS
            self._operation_limits = limits
        return self._operation_limits

    def on_operation(self) -> Iterator[None]:
        limits = self._limits()
        context = self.execution_context
        set_parse_limits(context, max_tokens=limits.max_tokens, max_source_length=limits.max_length)
        context.validation_rules = validation_rules(tuple(context.validation_rules), limits)
        try:
            yield
        except GraphQLSyntaxError as error:  # how a parse error leaves strawberry's ParserCache
            raise _too_large(error, limits) from None
        result = context.result
        if result is not None and result.errors:
            result.errors = [_too_large(error, limits) for error in result.errors]

    def on_validate(self) -> Iterator[None]:
        # Before the validation (and its cache) runs: an error raised here is the answer.
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            _require_operation_name(context, document)
            limits = self._limits()
            items = max(_checked_document(document, limits), longest_in_variables(context.variables))
            if items > limits.max_list_items:
                raise GraphQLError(
                    f"A list in the request has {items} items; at most {limits.max_list_items} are allowed.",
                    extensions={"code": "TOO_MANY_ITEMS"},
                )
        yield

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        request = getattr(context.context, "request", None)
        if context.operation_type is OperationType.SUBSCRIPTION and not isinstance(request, WebSocket):
            raise GraphQLError(
                "Subscriptions are served over WebSocket at /graphql"
                " (graphql-transport-ws or graphql-ws), not over HTTP.",
                extensions={"code": "SUBSCRIPTION_NEEDS_WEBSOCKET"},
            )
        yield


# Documents that passed the checks below, with their longest list: the parser cache hands the same
# document to every request with the same query text, so each is walked once, not per request.
# Keyed by the document's id, holding the document so that the id stays its own.
_MAX_CHECKED = 256
_checked: dict[tuple[int, QueryLimits], tuple[DocumentNode, int]] = {}


def _checked_document(document: DocumentNode, limits: QueryLimits) -> int:
    """Checks the document's selections (raises GraphQLError); the most items of a list in it."""
    key = (id(document), limits)
    known = _checked.get(key)
    if known is not None and known[0] is document:
        return known[1]
    _check_selections(document, limits)
    longest = longest_in_document(document)
    if len(_checked) >= _MAX_CHECKED:
        _checked.clear()
    _checked[key] = (document, longest)
    return longest


def _require_operation_name(context: Any, document: DocumentNode) -> None:
    operations = sum(isinstance(node, OperationDefinitionNode) for node in document.definitions)
    if operations > 1 and provided_operation_name(context) is None:
        raise GraphQLError(
            "Must provide operation name if query contains multiple operations.",
            extensions={"code": "OPERATION_NAME_REQUIRED"},
        )


def _check_selections(document: DocumentNode, limits: QueryLimits) -> None:
    try:
        selections = measure_selections(document, limits.max_fields)
    except RecursionError:
        raise GraphQLError("The query nests too deeply.", extensions={"code": "QUERY_TOO_DEEP"}) from None
    if selections.bad_fragment is not None:
        # Validation would refuse it too (unused or cyclic), after comparing its fields.
        raise GraphQLError(
            f"Fragment '{selections.bad_fragment}' is never used or spreads itself.",
            extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
        )
    if selections.fields > limits.max_fields:
        raise GraphQLError(
            f"The query selects {selections.fields} fields (each fragment counted where it is spread);"
            f" at most {limits.max_fields} are allowed.",
            extensions={"code": "TOO_MANY_FIELDS"},
        )
    if selections.repeats > limits.max_field_repeats:
        place = ".".join(selections.repeated)[:200]
        raise GraphQLError(
            f"The query selects `{place}` {selections.repeats} times;"
            f" at most {limits.max_field_repeats} fields may share one response name at one place.",
            extensions={"code": "TOO_MANY_FIELDS"},
        )


def _too_large(error: GraphQLError, limits: QueryLimits) -> GraphQLError:
    """A parser limit's syntax error as QUERY_TOO_LARGE, an aborted validation as
    QUERY_TOO_COMPLEX; any other error as it is."""
    if is_validation_aborted(error):
        return GraphQLError(
            "The query is too complex to validate; select fewer fields.",
            extensions={"code": "QUERY_TOO_COMPLEX"},
        )
    if not is_parser_limit_error(error):
        return error
    return GraphQLError(
        f"The query is too large: at most {limits.max_tokens} tokens"
        f" and {limits.max_length} characters are allowed.",
        extensions={"code": "QUERY_TOO_LARGE"},
    )


def passes_before_validation(
    document: DocumentNode, variables: object, operation_name: str | None, limits: QueryLimits
) -> bool:
    """Whether OperationLimits.on_validate lets this request through to validation (app.lean_request:
    a request it would refuse takes the standard path, which answers the error)."""
    operations = sum(isinstance(node, OperationDefinitionNode) for node in document.definitions)
    if operations > 1 and operation_name is None:
        return False
    try:
        items = max(_checked_document(document, limits), longest_in_variables(variables))
    except GraphQLError:
        return False
    return items <= limits.max_list_items
