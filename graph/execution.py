"""An executor that completes resolver-free fields straight from their objects.

Most of a catalog answer is plain data: names, prices, images, the variants' skus and stock.
graphql-core executes every such field on its own (a path, a resolve info, the resolver, then
completion), and for a page of 20 products with their variants that was most of the request's CPU.

For each object it completes, this executor uses a plan made once per selection: the fields that
are plain (strawberry fields with no resolver, arguments or field extensions, whose whole
sub-selection is plain too) are read off the object and completed in one pass; the others go
through graphql-core as before. Plans are keyed by the selection's parsed nodes, which the parser
cache reuses across requests, and hold those nodes, so a key cannot be reused by another document.

Nothing about the answer changes. A selection with directives, @defer or fragment arguments gets
no plan, since variables could change what it collects. Whenever a plain value is not what the
plan completes without fuss (a null in a non-null field, a scalar that does not serialise, a
value of another type), the whole object is completed the standard way instead, so that errors
carry graphql-core's messages and paths. Plain fields only read attributes, so completing an
object again has no side effects.

The executor also gives resolvers their `async_helpers` without a reference cycle. graphql-core
makes them of the executor's own bound methods (executor -> helpers -> method -> executor), so
every finished operation stayed alive, and with it everything it reached (its context and
request, the response, the request's task), until a collection of the oldest generation found
the cycle: under load such collections walked and freed a few hundred requests at once, pausing
every request in flight for tens of milliseconds (`tests/test_request_garbage.py`). The helpers
here hold the executor weakly: while it executes, something else holds it (the operation
awaiting it), so they work exactly as graphql-core's.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLString,
    InlineFragmentNode,
    SelectionSetNode,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Path, Undefined
from orjson import Fragment

from graph.library_internals import (
    ExecutionContextBase,
    FieldDetailsList,
    FragmentDetails,
    GroupedFieldSet,
    reads_plain_attribute,
    strawberry_field,
)

READ_AHEAD = "read_ahead"
"""Metadata of a field with a resolver: the attribute that, when not None, already holds its value."""

_MAX_PLANS = 4096

Complete = Callable[[Any], Any]


class _Fallback(Exception):
    """A plain value the plan does not complete: graphql-core completes the object instead."""


class _NoPlan:
    __slots__ = ("nodes",)

    def __init__(self, nodes: tuple[FieldNode, ...]) -> None:
        self.nodes = nodes


class ObjectPlan:
    __slots__ = ("nodes", "ordered", "plain", "standard")

    def __init__(
        self,
        nodes: tuple[FieldNode, ...],
        plain: tuple[tuple[str, str, Complete], ...],
        standard: GroupedFieldSet | None,
        ordered: tuple[str, ...],
    ) -> None:
        self.nodes = nodes  # held so that the ids in the plan's key stay theirs
        self.plain = plain  # (response name, attribute, completion)
        self.standard = standard  # fields graphql-core executes, or None when all are plain
        self.ordered = ordered  # response names in the order of the query


# Keyed by the object type and the ids of the selection's nodes. Each value holds those nodes (a
# plan in `nodes`, no plan in `_NoPlan`), so while it is cached, no other object can take their ids.
_plans: dict[tuple[Any, ...], ObjectPlan | _NoPlan] = {}


def helpers_holding_weakly(executor: ExecutionContextBase) -> GraphQLResolveInfoHelpers:
    """The executor's `async_helpers` (gather and track its asynchronous work), holding it weakly."""
    gather_of = weakref.WeakMethod(executor.gather_async_work)
    track_of = weakref.WeakMethod(executor.track_async_work)

    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        method = gather_of()
        assert method is not None, "a resolver kept graphql-core's helpers past its operation"
        return method(values)

    def track(values: Sequence[Any]) -> None:
        method = track_of()
        assert method is not None, "a resolver kept graphql-core's helpers past its operation"
        method(values)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)


class PlainFieldsExecutionContext(ExecutionContextBase):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = helpers_holding_weakly(self)
        manager = self.middleware_manager
        self._plans_on = not (manager and manager.middlewares)
        self._plan_of_list: dict[
            tuple[GraphQLObjectType, int], tuple[FieldDetailsList, ObjectPlan | None]
        ] = {}

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if type(result) is Fragment:  # JSON text a resolver built for this value (graph.catalog.page_json)
            return result
        if self._plans_on and position_context is None:
            plan = self._object_plan(return_type, field_details_list)
            if plan is not None and (
                return_type.is_type_of is None or return_type.is_type_of(result, info) is True
            ):
                try:
                    values = {name: complete(getattr(result, attr)) for name, attr, complete in plan.plain}
                except (_Fallback, AttributeError):  # graphql-core reports it at the field
                    pass
                else:
                    if plan.standard is None:
                        return values
                    return self._with_standard_fields(return_type, result, path, plan, values)
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _with_standard_fields(
        self,
        return_type: GraphQLObjectType,
        source: Any,
        path: Path,
        plan: ObjectPlan,
        values: dict[str, Any],
    ) -> Any:
        assert plan.standard is not None
        executed = self.execute_fields(return_type, source, path, plan.standard, None)
        if not self.is_awaitable(executed):
            return _in_query_order(plan.ordered, values, executed)

        async def merged() -> dict[str, Any]:
            return _in_query_order(plan.ordered, values, await executed)

        return merged()

    def _object_plan(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> ObjectPlan | None:
        # The items of a list share one field_details_list: look it up once per execution (per
        # runtime type, which may differ between the items of a list of an interface or union).
        known = self._plan_of_list.get((object_type, id(field_details_list)))
        if known is not None:
            return known[1]
        nodes = tuple(details.node for details in field_details_list)
        key = (object_type, *map(id, nodes))
        if key in _plans:
            plan = _plans[key]
        else:
            plan = self._build_plan(object_type, field_details_list, nodes)
            if len(_plans) >= _MAX_PLANS:
                _plans.clear()
            _plans[key] = plan or _NoPlan(nodes)
        if isinstance(plan, _NoPlan):
            plan = None
        self._plan_of_list[object_type, id(field_details_list)] = (field_details_list, plan)
        return plan

    def _build_plan(
        self,
        object_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        nodes: tuple[FieldNode, ...],
    ) -> ObjectPlan | None:
        if any(
            details.fragment_variable_values is not None
            or (node.selection_set and _has_directives(node.selection_set, self.fragments, set()))
            for details, node in zip(field_details_list, nodes, strict=True)
        ):
            return None
        grouped, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        plain: list[tuple[str, str, Complete]] = []
        standard: GroupedFieldSet = {}
        for response_name, details in grouped.items():
            field = self._plain_field(object_type, details)
            if field is None:
                standard[response_name] = details
            else:
                plain.append((response_name, *field))
        if not plain:
            return None
        return ObjectPlan(nodes, tuple(plain), standard or None, tuple(grouped))

    def _plain_field(
        self, parent_type: GraphQLObjectType, details: FieldDetailsList
    ) -> tuple[str, Complete] | None:
        """The attribute and completion of a plain field, or None when graphql-core must run it."""
        if any(item.fragment_variable_values is not None or item.node.arguments for item in details):
            return None
        field_def = self.schema.get_field(parent_type, details[0].node.name.value)
        if field_def is None or field_def.args:
            return None
        definition = strawberry_field(field_def)
        if definition is None or definition.extensions:
            return None
        if definition.base_resolver is not None:
            # A resolver that hands back what a list read ahead for its items: read that instead.
            attribute = definition.metadata.get(READ_AHEAD)
            complete = attribute and self._completion(field_def.type, details)
            return None if not complete else (attribute, _read_ahead(complete))
        if not reads_plain_attribute(field_def, definition):
            return None
        complete = self._completion(field_def.type, details)
        return None if complete is None else (definition.python_name, complete)

    def _completion(self, output_type: GraphQLOutputType, details: FieldDetailsList) -> Complete | None:
        nullable = not is_non_null_type(output_type)
        named = output_type if nullable else output_type.of_type  # type: ignore[union-attr]
        if is_leaf_type(named):
            return _leaf(named.coerce_output_value, nullable, _AS_IS.get(named))  # type: ignore[union-attr]
        if is_list_type(named):
            item = self._completion(named.of_type, details)  # type: ignore[union-attr]
            return None if item is None else _list(item, nullable)
        if is_object_type(named):
            assert isinstance(named, GraphQLObjectType)
            nodes = tuple(item.node for item in details)
            plan = self._build_plan(named, details, nodes)
            if plan is None or plan.standard is not None:
                return None
            return _object(plan, named.is_type_of, nullable)
        return None  # interfaces and unions: graphql-core resolves the runtime type


# The standard scalars whose values of this exact Python type complete as they are (an Int only
# within 32 bits): those skip the coercion call, which a page makes some 700 times.
_AS_IS: dict[Any, type] = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool, GraphQLInt: int}


def _leaf(coerce: Callable[[Any], Any], nullable: bool, as_is: type | None = None) -> Complete:
    def complete(value: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise _Fallback
        try:
            coerced = coerce(value)
        except Exception as error:
            raise _Fallback from error
        if coerced is None or coerced is Undefined:
            raise _Fallback
        return coerced

    def complete_int(value: Any) -> Any:
        if type(value) is int and -0x80000000 <= value <= 0x7FFFFFFF:
            return value
        return complete(value)

    def complete_as_is(value: Any) -> Any:
        return value if type(value) is as_is else complete(value)

    if as_is is None:
        return complete
    return complete_int if as_is is int else complete_as_is


def _read_ahead(complete_value: Complete) -> Complete:
    def complete(value: Any) -> Any:
        if value is None:  # not read ahead: the resolver loads it
            raise _Fallback
        return complete_value(value)

    return complete


def _list(item: Complete, nullable: bool) -> Complete:
    def complete(value: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise _Fallback
        if type(value) is not list and type(value) is not tuple:
            raise _Fallback
        return [item(element) for element in value]

    return complete


def _object(plan: ObjectPlan, is_type_of: Callable[[Any, Any], Any] | None, nullable: bool) -> Complete:
    fields = plan.plain

    def complete(value: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise _Fallback
        if is_type_of is not None and is_type_of(value, None) is not True:
            raise _Fallback
        return {name: complete_field(getattr(value, attr)) for name, attr, complete_field in fields}

    return complete


def _in_query_order(
    ordered: tuple[str, ...], plain: dict[str, Any], executed: Mapping[str, Any]
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name in ordered:
        if name in plain:
            merged[name] = plain[name]
        elif name in executed:
            merged[name] = executed[name]
    return merged


def _has_directives(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDetails],
    seen: set[str],
) -> bool:
    for selection in selection_set.selections:
        if selection.directives:
            return True
        if isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen:
                continue
            seen.add(name)
            details = fragments.get(name)
            fragment = details.definition if details else None
            if (
                fragment is None
                or fragment.directives
                or _has_directives(fragment.selection_set, fragments, seen)
            ):
                return True
        elif isinstance(selection, (FieldNode, InlineFragmentNode)) and selection.selection_set:
            if _has_directives(selection.selection_set, fragments, seen):
                return True
    return False
