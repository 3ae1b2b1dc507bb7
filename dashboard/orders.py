"""Orders in the dashboard: the list with filters, the order page with lines and status history,
and the staff actions (processing, ship with tracking, deliver, complete, refund, cancel) through
domain.order_actions, the functions the GraphQL mutations call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from markupsafe import escape
from starlette.requests import Request
from starlette_admin import fields
from starlette_admin.actions import row_action
from starlette_admin.exceptions import ActionFailed
from starlette_admin.filters import FilterApplyContext, FilterGroup, FilterRule
from starlette_admin.filters.date import DateTimeBetweenFilter
from starlette_admin.filters.enum import InFilter
from starlette_admin.filters.string import ContainsFilter
from starlette_admin.flash import flash

from dashboard.console import actor, failed, form_text
from dashboard.listing import ConsoleView, pk_number, pk_numbers
from domain import order_actions, staff_console
from domain.addresses import address_lines
from domain.order_actions import OrderActionResult
from domain.order_breakdown import OrderBreakdown, breakdown_of
from domain.orders import OrderStatus, can_change
from domain.staff_console import OrderFilter, OrderRow, StatusChangeRow

STATUSES = [(status.value, status.value.replace("_", " ").title()) for status in OrderStatus]
LABELS = dict(STATUSES)


def money(amount: int, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount) / 100:,.2f} {currency.upper()}"


@dataclass
class LinesField(fields.BaseField):
    """Text lines one under another (an address, the order's lines, its history), autoescaped."""

    detail_template: str = "fields/detail/lines.html"
    exclude_from_list: bool | None = True


@dataclass
class BreakdownField(fields.BaseField):
    """The order's totals, part by part (domain.order_breakdown)."""

    detail_template: str = "fields/detail/breakdown.html"
    exclude_from_list: bool | None = True


def _breakdown(found: OrderBreakdown) -> dict[str, Any]:
    return {
        "parts": [
            {
                "label": part.label,
                "amount": part.amount,
                "counts": part.counts,
                "note": part.note,
                "shown": money(part.amount, found.currency),
            }
            for part in found.parts
        ],
        "total": found.total,
        "total_shown": money(found.total, found.currency),
    }


@dataclass(slots=True)
class OrderItem:
    number: int
    email: str
    status: str
    total: str
    tracking_number: str | None
    created_at: datetime
    paid_at: datetime | None
    shipping_address: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    totals: dict[str, Any] | None = None
    billing_address: list[str] = field(default_factory=list)
    vat_number: str | None = None
    history: list[str] = field(default_factory=list)
    refundable: bool = False  # a payment the provider can refund (domain.order_actions refuses others)

    @classmethod
    def of(cls, row: OrderRow) -> OrderItem:
        return cls(
            number=row.number,
            email=row.email,
            status=row.status,
            total=money(row.total, row.currency),
            tracking_number=row.tracking_number,
            created_at=row.created_at,
            paid_at=row.paid_at,
            shipping_address=address_lines(row.shipping_address),
            refundable=row.payment_intent_id is not None,
        )


class _NoQuery:
    """starlette-admin's filter classes apply themselves to an ORM query; these views translate the
    parsed filter tree into a domain OrderFilter instead (see _order_filter)."""

    def apply(self, ctx: FilterApplyContext) -> Any:
        return ctx.query


class StatusIn(_NoQuery, InFilter):
    pass


class EmailContains(_NoQuery, ContainsFilter):
    pass


class CreatedBetween(_NoQuery, DateTimeBetweenFilter):
    pass


def _rules(group: FilterGroup | None) -> list[FilterRule]:
    if group is None or group.is_empty():
        return []
    if group.logic != "and":
        raise ActionFailed("Order filters combine with AND only.")
    found: list[FilterRule] = []
    for rule in group.rules:
        found.extend(_rules(rule) if isinstance(rule, FilterGroup) else [rule])
    return found


def _order_filter(q: str | None, group: FilterGroup | None) -> OrderFilter:
    statuses: tuple[str, ...] = ()
    search = q or None
    created_from = created_to = None
    for rule in _rules(group):
        if rule.field == "status":
            statuses = tuple(str(value) for value in rule.value)
        elif rule.field == "email":
            search = str(rule.value)
        elif rule.field == "created_at":
            created_from, created_to = rule.value, rule.value2
    return OrderFilter(statuses=statuses, search=search, created_from=created_from, created_to=created_to)


def _input_form(
    name: str, label: str, maxlength: int, *, required: bool = False
) -> Callable[[Request, Any], str]:
    """A row action's one-field form (starlette-admin shows it in the action's dialog)."""
    html = (
        f'<form><div class="mt-3"><label class="form-label" for="{name}">{label}</label>'
        f'<input type="text" class="form-control" id="{name}" name="{name}" '
        f'maxlength="{maxlength}"{" required" if required else ""}></div></form>'
    )
    return lambda request, obj: html


_tracking_form = _input_form("tracking_number", "Tracking number", 100, required=True)
_reason_form = _input_form("reason", "Reason (optional)", 500)

# The status each order action moves an order to; whether an order's page offers the action is the
# state machine's answer (domain.orders.can_change), asked from the order's current status.
ACTION_TARGETS = {
    "processing": OrderStatus.PROCESSING,
    "ship": OrderStatus.SHIPPED,
    "deliver": OrderStatus.DELIVERED,
    "complete": OrderStatus.COMPLETED,
    "refund": OrderStatus.REFUNDED,
    "cancel": OrderStatus.CANCELLED,
}


def offers(status: OrderStatus, action: str) -> bool:
    """Whether an order in `status` is offered `action` (actions that move no status, "view", are)."""
    target = ACTION_TARGETS.get(action)
    if target is None or can_change(status, target):
        return True
    # Ship takes a paid order through processing first (OrderView.ship_action): two allowed steps.
    via = OrderStatus.PROCESSING
    return target is OrderStatus.SHIPPED and can_change(status, via) and can_change(via, target)


class OrderView(ConsoleView):
    key = "orders"
    display_name = "Order"
    menu_label = "Orders"
    icon = "fa fa-receipt"
    pk_attr = "number"
    fields = [
        fields.IntegerField("number", label="Number"),
        fields.StringField("email", label="E-mail", filters=[EmailContains]),
        fields.EnumField("status", choices=STATUSES, filters=[StatusIn]),
        fields.StringField("total", label="Total"),
        fields.StringField("tracking_number", label="Tracking"),
        fields.DateTimeField("created_at", label="Placed", filters=[CreatedBetween]),
        fields.DateTimeField("paid_at", label="Paid", exclude_from_list=True),
        LinesField("shipping_address", label="Shipping address"),
        LinesField("lines", label="Lines"),
        BreakdownField("totals", label="Totals"),
        LinesField("billing_address", label="Billing address"),
        fields.StringField("vat_number", label="VAT number", exclude_from_list=True),
        LinesField("history", label="Status history"),
    ]
    searchable_fields = ["number", "email"]
    row_actions = ["view", "processing", "ship", "deliver", "complete", "refund", "cancel"]

    def can_create(self, request: Request) -> bool:
        return False

    def can_edit(self, request: Request) -> bool:
        return False

    def can_delete(self, request: Request) -> bool:
        return False

    async def get_row_actions_for_obj(self, request: Request, obj: Any) -> list[dict[str, Any]]:
        """The list row's and the order page's buttons: only the moves the order's status allows.
        A stale page may still post another one: the action runs and the state machine refuses it
        with its message (is_row_action_allowed_for_obj is left alone, it would answer "Forbidden")."""
        shown = await super().get_row_actions_for_obj(request, obj)
        return [
            action
            for action in shown
            if offers(OrderStatus(obj.status), action["name"])
            and (action["name"] != "refund" or obj.refundable)
        ]

    async def rows(self, q: str | None, filters: FilterGroup | None, skip: int, limit: int) -> Sequence[Any]:
        limit = staff_console.MAX_PAGE if limit <= 0 else limit
        rows, _ = await staff_console.order_list(self.console.engine, _order_filter(q, filters), skip, limit)
        return [OrderItem.of(row) for row in rows]

    async def total(self, q: str | None, filters: FilterGroup | None) -> int:
        _, total = await staff_console.order_list(self.console.engine, _order_filter(q, filters), 0, 1)
        return total

    async def find_by_pk(self, request: Request, pk: Any) -> Any:
        number = pk_number(pk)
        detail = await staff_console.order_detail(self.console.engine, number) if number else None
        if detail is None:
            return None
        item = OrderItem.of(detail.order)
        currency = detail.order.currency
        item.lines = [
            f"{line.quantity} x {line.product_name} / {line.variant_name} ({line.sku}) at"
            f" {money(line.unit_price, currency)} = {money(line.line_total, currency)}"
            for line in detail.lines
        ]
        breakdown = breakdown_of(detail.order)
        item.totals = _breakdown(breakdown)
        item.billing_address = list(breakdown.billing_address)
        item.vat_number = detail.order.vat_number or "none given"  # not starlette-admin's "-null-"
        item.history = [_history_line(change, detail.actors[change.actor]) for change in detail.history]
        return item

    async def find_by_pks(self, request: Request, pks: list[Any]) -> Sequence[Any]:
        numbers = [number for number in pk_numbers(pks) if number]
        return [
            OrderItem.of(row) for row in await staff_console.orders_numbered(self.console.engine, numbers)
        ]

    async def create(self, request: Request, data: dict) -> Any:
        raise ActionFailed("Orders are placed by checkout.")

    async def edit(self, request: Request, pk: Any, data: dict[str, Any]) -> Any:
        raise ActionFailed("Orders change through their actions.")

    async def delete(self, request: Request, pks: list[Any]) -> int | None:
        raise ActionFailed("Orders are never deleted.")

    # ------------------------------------------------------------ actions: domain.order_actions

    async def _order(self, pk: Any) -> OrderRow:
        number = pk_number(pk)
        found = await staff_console.orders_numbered(self.console.engine, [number]) if number else []
        if not found:
            raise ActionFailed("No such order.")
        return found[0]

    async def _order_id(self, pk: Any) -> int:
        return (await self._order(pk)).id

    async def _step(
        self, request: Request, order_id: int, target: OrderStatus, tracking: str | None = None
    ) -> OrderActionResult:
        return await order_actions.update_status(
            self.console.engine, order_id, target, actor=actor(request), reason=None, tracking_number=tracking
        )

    async def _move(self, request: Request, pk: Any, target: OrderStatus, tracking: str | None = None) -> str:
        result = await self._step(request, await self._order_id(pk), target, tracking)
        return _done(request, result, f"Order {escape(str(pk))} is {LABELS[target.value].lower()}.")

    @row_action(
        name="processing",
        text="Mark processing",
        confirmation="Start processing this order?",
        submit_btn_text="Mark processing",
        icon_class="fa fa-box-open",
    )
    async def processing_action(self, request: Request, pk: Any) -> str:
        return await self._move(request, pk, OrderStatus.PROCESSING)

    @row_action(
        name="ship",
        text="Ship",
        confirmation="Ship this order?",
        form=_tracking_form,
        submit_btn_text="Ship",
        icon_class="fa fa-truck",
    )
    async def ship_action(self, request: Request, pk: Any) -> str:
        """Ships a paid order too: PROCESSING then SHIPPED, two steps of the state machine (the
        tracking number is checked first, so a refused shipment leaves the order as it was)."""
        tracking = form_text(await request.form(), "tracking_number", 200)
        order = await self._order(pk)
        if (
            order.status == OrderStatus.PAID
            and 0 < len(tracking.strip()) <= order_actions.MAX_TRACKING_LENGTH
        ):
            started = await self._step(request, order.id, OrderStatus.PROCESSING)
            if started.problems:
                raise failed(started.problems)
        return await self._move(request, pk, OrderStatus.SHIPPED, tracking)

    @row_action(
        name="deliver",
        text="Mark delivered",
        confirmation="Mark this order delivered?",
        submit_btn_text="Mark delivered",
        icon_class="fa fa-house-circle-check",
    )
    async def deliver_action(self, request: Request, pk: Any) -> str:
        return await self._move(request, pk, OrderStatus.DELIVERED)

    @row_action(
        name="complete",
        text="Complete",
        confirmation="Complete this order?",
        submit_btn_text="Complete",
        icon_class="fa fa-circle-check",
    )
    async def complete_action(self, request: Request, pk: Any) -> str:
        return await self._move(request, pk, OrderStatus.COMPLETED)

    @row_action(
        name="refund",
        text="Refund",
        confirmation="Refund the whole payment of this order?",
        form=_reason_form,
        submit_btn_text="Refund",
        submit_btn_class="btn btn-danger",
        icon_class="fa fa-rotate-left",
    )
    async def refund_action(self, request: Request, pk: Any) -> str:
        return await self._with_reason(request, pk, order_actions.refund_order, "refunded")

    @row_action(
        name="cancel",
        text="Cancel order",  # not "Cancel": the dialog's button that closes it says that
        confirmation="Cancel this order? A paid order is refunded.",
        form=_reason_form,
        submit_btn_text="Cancel order",
        submit_btn_class="btn btn-danger",
        icon_class="fa fa-ban",
    )
    async def cancel_action(self, request: Request, pk: Any) -> str:
        return await self._with_reason(request, pk, order_actions.cancel_order, "cancelled", by_staff=True)

    async def _with_reason(
        self,
        request: Request,
        pk: Any,
        act: Callable[..., Awaitable[OrderActionResult]],
        done: str,
        **options: Any,
    ) -> str:
        """Refund or cancel (domain.order_actions, which refunds through the payment provider),
        with the reason given in the action's form."""
        reason = form_text(await request.form(), "reason", 600) or None
        result = await act(
            self.console.engine,
            self.console.payments,
            await self._order_id(pk),
            actor=actor(request),
            reason=reason,
            **options,
        )
        return _done(request, result, f"Order {escape(str(pk))} is {done}.")


def _history_line(change: StatusChangeRow, by: str) -> str:
    """One change as staff read it:
    "2026-12-05 09:30:00 UTC Paid → Processing by Ada Admin <ada@shop.example> (staff): reason"."""
    moved = f"{LABELS[change.from_status]} → " if change.from_status else ""
    return f"{change.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC {moved}{LABELS[change.to_status]} by {by}" + (
        f": {change.reason}" if change.reason else ""
    )


def _done(request: Request, result: OrderActionResult, message: str) -> str:
    if result.problems:
        raise failed(result.problems)
    flash(request, message, "success")
    return message
