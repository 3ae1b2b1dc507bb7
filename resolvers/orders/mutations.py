"""Checkout and order mutations: checkoutCreate; orderCancel, orderUpdateStatus, orderRefund."""

from __future__ import annotations

from typing import Annotated

import strawberry

from domain import order_actions, rate_limits
from domain.access import actor_of, may_read_order
from domain.checkout import CheckoutInput, CheckoutSettings, checkout
from domain.checkout_precheck import first_look
from domain.errors import OrderCode, Problem
from domain.holding_limits import HoldingLimits
from domain.orders import OrderStatus
from domain.quotes import TotalsSettings
from domain.self_service import unverified_checkout
from graph.auth import current_user, viewer
from graph.common.types import UserError, address_dict, user_errors
from graph.context import Info, PlainInfo
from graph.errors import Unauthenticated
from graph.ids import pk_of
from graph.orders.types import (
    AddressInput,
    CheckoutPayload,
    Order,
    OrderPayload,
)
from graph.orders.types import OrderStatus as OrderStatusType
from graph.rate_limits import answer, client_address
from resolvers.orders.lookup import load_order, require_staff, shipping_address_of


def not_found() -> list[UserError]:
    return user_errors([Problem(OrderCode.NOT_FOUND, "There is no such order.", ("id",))])


# checkoutCreate's arguments, by their schema names: what `checkout_payload` takes (app/lean_checkout.py
# answers with it only while the field has exactly these).
CHECKOUT_ARGUMENTS = (
    "shippingAddress",
    "cartToken",
    "email",
    "successUrl",
    "cancelUrl",
    "shippingMethodId",
    "vatNumber",
    "billingAddress",
    "shippingAddressId",
)


async def checkout_payload(
    info: Info | PlainInfo,
    *,
    shipping_address: AddressInput | None,
    cart_token: str | None,
    email: str | None,
    success_url: str | None,
    cancel_url: str | None,
    shipping_method_id: str | None,
    vat_number: str | None,
    billing_address: AddressInput | None,
    shipping_address_id: str | None,
) -> CheckoutPayload:
    """checkoutCreate: strawberry's resolver, and the lean path for the same request (app/lean_checkout)."""
    context = info.context
    settings = context.settings
    reader = await viewer(info)
    user_id = reader.id if reader else None
    limits = HoldingLimits(
        max_line_quantity=settings.order_max_line_quantity,
        max_units=settings.order_max_units,
        max_open=settings.order_max_open,
        stock_share=settings.order_max_stock_share,
        share_floor=settings.order_stock_share_floor,
    )
    # The rate limit's count and the pre-check's read of the cart, in one statement.
    attempt = rate_limits.checkout_attempt(settings, client_address(info), user_id)
    look = await first_look(context.engine, limits, attempt, cart_token=cart_token, user_id=user_id)
    if problems := answer(info, look.refusal):
        return CheckoutPayload(order=None, checkout_url=None, order_token=None, user_errors=problems)
    if unverified := unverified_checkout(settings, await current_user(info)):  # issue 17
        return CheckoutPayload(
            order=None, checkout_url=None, order_token=None, user_errors=user_errors(unverified)
        )
    shipping_address, missing = await shipping_address_of(info, shipping_address, shipping_address_id)
    if shipping_address is None:
        return CheckoutPayload(
            order=None, checkout_url=None, order_token=None, user_errors=user_errors(missing)
        )
    result = await checkout(
        context.engine,
        context.payments,
        CheckoutSettings(
            currency=settings.currency,
            reservation_ttl=settings.reservation_ttl,
            price_lock_ttl=settings.cart_price_lock_ttl,
            storefront_url=settings.storefront_base_url,
            allowed_redirect_origins=[
                settings.storefront_base_url,
                settings.base_url,
                *settings.cors_origin_list,
            ],
            token_secret=context.order_token_secret,
            limits=limits,
            totals=TotalsSettings(settings.prices_include_tax, settings.shop_country),
        ),
        CheckoutInput(
            user_id=user_id,
            user_email=reader.email if reader else None,
            cart_token=cart_token,
            email=email,
            shipping_address=address_dict(shipping_address),
            success_url=success_url,
            cancel_url=cancel_url,
            client_address=client_address(info),
            shipping_method_id=(pk_of(shipping_method_id, "ShippingMethod") or 0)
            if shipping_method_id is not None
            else None,
            vat_number=vat_number if vat_number and vat_number.strip() else None,
            billing_address=address_dict(billing_address) if billing_address is not None else None,
        ),
        look,
    )
    return CheckoutPayload(
        order=Order.from_row(result.order) if result.order else None,
        checkout_url=result.payment_url,
        order_token=result.order_token,
        user_errors=user_errors(result.problems),
    )


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description=(
            "Turns the cart into an order awaiting payment, reserves its stock, and opens a payment session."
        )
    )
    async def checkout_create(
        self,
        info: Info,
        shipping_address: AddressInput | None = None,  # required unless shippingAddressId (issue 17)
        cart_token: str | None = None,
        email: str | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
        shipping_method_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description=(
                    "One of Cart.shippingMethods for the shipping address. Omitted (as version-1 clients do):"
                    " the cheapest method that delivers there; none delivers there: userError"
                    " NO_SHIPPING_METHOD."
                )
            ),
        ] = None,
        vat_number: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "An EU VAT number for a business purchase (validated; may make the order reverse-charge)."
                )
            ),
        ] = None,
        billing_address: Annotated[
            AddressInput | None, strawberry.argument(description="Defaults to the shipping address.")
        ] = None,
        shipping_address_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="A saved address of the signed-in customer, instead of shippingAddress."
            ),
        ] = None,
    ) -> CheckoutPayload:
        return await checkout_payload(
            info,
            shipping_address=shipping_address,
            cart_token=cart_token,
            email=email,
            success_url=success_url,
            cancel_url=cancel_url,
            shipping_method_id=shipping_method_id,
            vat_number=vat_number,
            billing_address=billing_address,
            shipping_address_id=shipping_address_id,
        )

    @strawberry.mutation(
        description="The owner may cancel before payment; staff may cancel where the order lifecycle allows."
    )
    async def order_cancel(
        self, info: Info, id: strawberry.ID, reason: str | None = None, order_token: str | None = None
    ) -> OrderPayload:
        reader = await viewer(info)
        if reader is None and not order_token:
            raise Unauthenticated()
        order = await load_order(info, id)
        if order is None or not may_read_order(order, reader, order_token, info.context.order_token_secret):
            return OrderPayload(order=None, user_errors=not_found())
        result = await order_actions.cancel_order(
            info.context.engine,
            info.context.payments,
            order.id,
            actor=actor_of(reader),
            by_staff=bool(reader and reader.is_staff),
            reason=reason,
        )
        return _payload(result)

    @strawberry.mutation(
        description=(
            "Staff only: moves an order along its lifecycle "
            "(PROCESSING, SHIPPED with a tracking number, DELIVERED, COMPLETED)."
        )
    )
    async def order_update_status(
        self,
        info: Info,
        id: strawberry.ID,
        status: OrderStatusType,  # type: ignore[valid-type]
        reason: str | None = None,
        tracking_number: str | None = None,
    ) -> OrderPayload:
        staff = await require_staff(info)
        order = await load_order(info, id)
        if order is None:
            return OrderPayload(order=None, user_errors=not_found())
        result = await order_actions.update_status(
            info.context.engine,
            order.id,
            OrderStatus(status.value),
            actor=actor_of(staff),
            reason=reason,
            tracking_number=tracking_number,
        )
        return _payload(result)

    @strawberry.mutation(description="Staff only: refunds the order's payment through the payment provider.")
    async def order_refund(self, info: Info, id: strawberry.ID, reason: str | None = None) -> OrderPayload:
        staff = await require_staff(info)
        order = await load_order(info, id)
        if order is None:
            return OrderPayload(order=None, user_errors=not_found())
        result = await order_actions.refund_order(
            info.context.engine, info.context.payments, order.id, actor=actor_of(staff), reason=reason
        )
        return _payload(result)


def _payload(result: order_actions.OrderActionResult) -> OrderPayload:
    return OrderPayload(
        order=Order.from_row(result.order) if result.order else None, user_errors=user_errors(result.problems)
    )
