"""checkoutCreate answered without strawberry's view, executor and argument conversion, when that is safe.

When many buyers race for few units, most checkouts are refused (OUT_OF_STOCK, domain.checkout_precheck)
after one statement; on strawberry's path such a refusal cost about 1.0 ms of server CPU, of which
the statement and the checkout's own rules were under half: the rest was the HTTP view, the
extensions, the conversion of the arguments into strawberry's input types and the executor's
completion of a payload of a few fields. This handler runs the same resolver function
(resolvers.orders.mutations.checkout_payload) itself, after the same checks (app/lean_request.py),
and writes the answer: about 0.55 ms for the same refusal (README, issue 18).

It takes a request only when it can answer it exactly as the standard path would, decided before
anything runs:

- the operation is a mutation whose one root field is `checkoutCreate` (besides `__typename`),
  without directives or fragments;
- the selection asks only for fields that are plain attributes of the payload, read as the
  executor reads them (checked against the schema when the application starts): the payload's
  `order { id number email }`, `checkoutUrl`, `orderToken`, `userErrors { field message code }`,
  and `__typename` anywhere, under any alias, each response key once;
- the variables and arguments coerce (graphql-core, as the executor coerces them), and the field
  still has exactly the arguments the resolver function takes.

Anything else goes to the standard path unchanged (another selection, a second root field, an
invalid variable: it answers the error). Once the resolver function runs, this handler answers,
whatever happens: an exception is answered as the standard path answers it (a PublicError with
its code, anything else logged and masked, graph.errors.client_errors), never handed to the
standard path, which would run the checkout again. Headers the resolver sets (Retry-After) are
sent as strawberry's view sends them; metrics record the operation as graph.metrics does.
`CHECKOUT_LEAN_PATH` (default on) switches it off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    SelectionNode,
    get_named_type,
    located_error,
)
from graphql.execution import get_argument_values, get_variable_values
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from app.graphql import request_context
from app.lean_request import Operation
from core.settings import Settings
from graph.common.types import AddressInput, address_input_of
from graph.context import PlainInfo
from graph.errors import client_errors
from graph.library_internals import reads_plain_attribute, strawberry_field
from graph.metrics import record
from resolvers.orders.mutations import CHECKOUT_ARGUMENTS, checkout_payload

FIELD = "checkoutCreate"
# The fields answered here, by type: each must be a plain attribute (reads_plain_attribute) of a
# built-in scalar, or (the payload's `order` and `userErrors`) of the object type named here.
_ANSWERED: dict[str, tuple[str, ...]] = {
    "CheckoutPayload": ("order", "checkoutUrl", "orderToken", "userErrors"),
    "Order": ("id", "number", "email"),
    "UserError": ("field", "message", "code"),
}
_SCALARS = frozenset(("String", "Int", "ID"))

answered = [0]  # requests this path answered, in this process (tests look)


@dataclass(frozen=True, slots=True)
class _Field:
    """One selected field: its response key, and the attribute it reads (None: `__typename`)."""

    key: str
    attribute: str | None
    typename: str = ""
    fields: tuple[_Field, ...] | None = None  # an object's (or each list item's) selection


def _complete(fields: tuple[_Field, ...], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in fields:
        if field.attribute is None:
            out[field.key] = field.typename
            continue
        found = getattr(value, field.attribute)
        if field.fields is not None and found is not None:
            found = (
                [_complete(field.fields, item) for item in found]
                if isinstance(found, list)
                else _complete(field.fields, found)
            )
        out[field.key] = found
    return out


class CheckoutMutation:
    def __init__(self, schema: GraphQLSchema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        mutation = schema.mutation_type
        self.mutation_name = mutation.name if mutation else "Mutation"
        self.field = mutation.fields.get(FIELD) if mutation else None
        # {type name: {field name: (attribute, object type name or None)}}
        self.fields: dict[str, dict[str, tuple[str, str | None]]] = {}
        self.payload_name = ""
        self.usable = self._learn()

    def _learn(self) -> bool:
        """Whether the schema's checkoutCreate is the one this handler answers exactly."""
        if self.field is None or set(self.field.args) != set(CHECKOUT_ARGUMENTS):
            return False
        definition = strawberry_field(self.field)
        if (
            definition is None
            or definition.extensions
            or definition.permission_classes
            or definition.directives
        ):
            return False
        payload = get_named_type(self.field.type)
        if not isinstance(payload, GraphQLObjectType) or payload.name != "CheckoutPayload":
            return False
        self.payload_name = payload.name
        for type_name, names in _ANSWERED.items():
            kind = self.schema.get_type(type_name)
            if not isinstance(kind, GraphQLObjectType):
                return False
            known: dict[str, tuple[str, str | None]] = {}
            for name in names:
                field_def = kind.fields.get(name)
                if field_def is None:
                    return False
                field_definition = strawberry_field(field_def)
                if field_definition is None or not reads_plain_attribute(field_def, field_definition):
                    return False
                named = get_named_type(field_def.type)
                if named.name in _SCALARS:
                    known[name] = (field_definition.python_name, None)
                elif named.name in _ANSWERED and _object_or_list_of_objects(field_def.type):
                    known[name] = (field_definition.python_name, named.name)
                else:
                    return False
            self.fields[type_name] = known
        return True

    def takes(self, operation: Operation) -> bool:
        return (
            self.usable
            and self.settings.checkout_lean_path
            and operation.node.operation is OperationType.MUTATION
        )

    def _selection(self, nodes: tuple[SelectionNode, ...], type_name: str) -> tuple[_Field, ...] | None:
        known = self.fields[type_name]
        fields: list[_Field] = []
        keys: set[str] = set()
        for node in nodes:
            if not isinstance(node, FieldNode) or node.directives or node.arguments:
                return None
            name = node.name.value
            key = node.alias.value if node.alias else name
            if key in keys:  # the executor merges repeated fields; not done here
                return None
            keys.add(key)
            if name == "__typename":
                fields.append(_Field(key, None, type_name))
                continue
            found = known.get(name)
            if found is None:
                return None
            attribute, object_type = found
            if object_type is None:
                fields.append(_Field(key, attribute))
                continue
            if node.selection_set is None:
                return None
            inner = self._selection(node.selection_set.selections, object_type)
            if inner is None:
                return None
            fields.append(_Field(key, attribute, fields=inner))
        return tuple(fields)

    def prepare(self, scope: Scope, operation: Operation) -> _Prepared | None:
        """The checkout this request asks for, ready to run; None when the standard path answers it.
        Runs nothing (reads no database, changes nothing): whatever it raises, the standard path answers."""
        fields = operation.root_fields()
        if fields is None or len(fields) != 1 or fields[0].name.value != FIELD:
            return None
        node = fields[0]
        if node.selection_set is None:
            return None
        selection = self._selection(node.selection_set.selections, self.payload_name)
        if selection is None:
            return None
        operation_node = operation.node
        coerced = get_variable_values(
            self.schema, operation_node.variable_definitions or (), operation.variables or {}
        )
        if isinstance(coerced, list):  # the variables' errors
            return None
        assert self.field is not None
        arguments = get_argument_values(self.field, node, coerced)  # raises on a wrong argument
        root: list[tuple[str, str | None]] = []
        for root_node in operation_node.selection_set.selections:
            assert isinstance(root_node, FieldNode)
            key = root_node.alias.value if root_node.alias else root_node.name.value
            root.append((key, None if root_node is node else self.mutation_name))
        return _Prepared(scope, operation, node, selection, root, arguments)


def _object_or_list_of_objects(kind: Any) -> bool:
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    if isinstance(kind, GraphQLList):
        kind = kind.of_type
        if isinstance(kind, GraphQLNonNull):
            kind = kind.of_type
    return isinstance(kind, GraphQLObjectType)


@dataclass(frozen=True, slots=True)
class _Prepared:
    scope: Scope
    operation: Operation
    node: FieldNode
    selection: tuple[_Field, ...]
    root: list[tuple[str, str | None]]  # the root's response keys and `__typename`s (None: checkoutCreate)
    arguments: dict[str, Any]

    async def run(self) -> Response:
        """Run the checkout and answer it. Raises only where the standard path's view would too."""
        request = Request(self.scope)
        sub_response = Response()  # as strawberry's view makes it (strawberry.asgi.GraphQL.get_sub_response)
        sub_response.status_code = None  # type: ignore[assignment]
        del sub_response.headers["content-length"]
        context = request_context(request, sub_response)
        given = self.arguments
        key = self.node.alias.value if self.node.alias else self.node.name.value
        errors: list[GraphQLError] = []
        data: dict[str, Any] | None
        try:
            payload = await checkout_payload(
                PlainInfo(context),
                shipping_address=_address(given.get("shippingAddress")),
                cart_token=given.get("cartToken"),
                email=given.get("email"),
                success_url=given.get("successUrl"),
                cancel_url=given.get("cancelUrl"),
                shipping_method_id=given.get("shippingMethodId"),
                vat_number=given.get("vatNumber"),
                billing_address=_address(given.get("billingAddress")),
                shipping_address_id=given.get("shippingAddressId"),
            )
            data = {}
            for root_key, typename in self.root:
                data[root_key] = _complete(self.selection, payload) if typename is None else typename
        except Exception as raised:
            # checkoutCreate is non-null: the whole `data` is null, as the executor answers
            errors = client_errors([located_error(raised, [self.node], [key])])
            data = None
        record(self.operation.name, "mutation", errors, data)
        answered[0] += 1
        body: dict[str, Any] = {"data": data}
        if errors:
            body["errors"] = [error.formatted for error in errors]
        # As strawberry.asgi.GraphQL.create_response writes it.
        response = Response(orjson.dumps(body), status_code=200, media_type="application/json")
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response


def _address(value: Any) -> AddressInput | None:
    return None if value is None else address_input_of(value)
