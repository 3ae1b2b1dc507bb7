"""Finding the order a root field names (the staff check, require_staff, is graph.auth's)."""

from __future__ import annotations

from domain.errors import CheckoutCode, Problem
from domain.order_reads import OrderRow
from domain.self_service import saved_address_of
from graph.auth import current_user, require_staff
from graph.common.types import AddressInput
from graph.context import Info
from graph.ids import pk_of


async def load_order(info: Info, global_id: str) -> OrderRow | None:
    pk = pk_of(global_id, "Order")
    return await info.context.loaders.order.load(pk) if pk is not None else None


__all__ = ["load_order", "require_staff", "shipping_address_of"]


async def shipping_address_of(
    info: Info, given: AddressInput | None, saved_id: str | None
) -> tuple[AddressInput | None, tuple[Problem, ...]]:
    """checkoutCreate's shipping address: the customer's saved one named by `saved_id` (which wins),
    else the one given; (None, problems) when neither is usable."""
    if saved_id is None:
        if given is None:
            message = "Give a shipping address, or the id of a saved one."
            return None, (Problem(CheckoutCode.INVALID_ADDRESS, message, ("shipping_address",)),)
        return given, ()
    user = await current_user(info)
    pk = pk_of(saved_id, "CustomerAddress")
    saved = await saved_address_of(info.context.engine, user.id, pk) if user and pk else None
    if saved is None:
        message = "You have no saved address with this id."
        return None, (Problem(CheckoutCode.ADDRESS_NOT_FOUND, message, ("shipping_address_id",)),)
    address = AddressInput(
        name=saved["name"],
        line1=saved["line1"],
        line2=saved.get("line2"),
        city=saved["city"],
        state=saved.get("state"),
        postal_code=saved["postal_code"],
        country=saved["country"],
    )
    return address, ()
