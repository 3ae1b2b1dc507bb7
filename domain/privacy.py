"""The customer's rights over their data: a copy of everything held (myDataExport) and erasure
(accountDelete).

Erasure, in one transaction: the user row is kept as a tombstone (soft delete, `deleted_at`) with
its e-mail, name and password replaced; saved addresses and pending tokens go; every session is
revoked (live subscriptions end); carts are soft-deleted; orders stay for accounting (tax law
keeps invoices for years) with the e-mail replaced and the address reduced to its country (what
the tax of the sale depends on). A confirmation goes to the address the account had, sealed in
its job (core.pii) until it is sent. README: "What is kept after accountDelete".
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from domain.errors import AccountCode, Problem
from domain.notifications import ERASED_DOMAIN, enqueue_account_email
from domain.self_service import current_password_ok, revoke_sessions
from mail.render import MessageKind
from models import address_repository as addresses
from models import cart_repository as carts
from models import order_repository as orders
from models import profile_repository as profiles
from models import review_repository as reviews
from models.account_repository import UserRow

MAX_EXPORTED_ORDERS = 10_000


def erased_email(user_id: int) -> str:
    return f"deleted-{user_id}-{uuid.uuid4().hex[:8]}@{ERASED_DOMAIN}"


def is_erased(email: str) -> bool:
    return email.endswith("@" + ERASED_DOMAIN)


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def export(engine: AsyncEngine, user: UserRow) -> dict[str, Any]:
    """Everything held about the user, as one JSON-ready document."""
    async with engine.connect() as conn:
        book = await addresses.addresses_of(conn, user.id)
        logins = await profiles.live_sessions(conn, user.id)
        tokens = await profiles.tokens_of_user(conn, user.id)
        order_ids = (await orders.order_ids_of_user(conn, user.id))[:MAX_EXPORTED_ORDERS]
        by_id = await orders.orders_by_ids(conn, order_ids)
        lines = await orders.lines_of_orders(conn, order_ids)
        history = await orders.history_of_orders(conn, order_ids)
        written = await reviews.reviews_of_user(conn, user.id)
    return {
        "format": "storefront-data-export/1",
        "user": {
            "email": user.email,
            "name": user.name,
            "isStaff": user.is_staff,
            "emailVerifiedAt": _when(user.email_verified_at),
        },
        "addresses": [
            {
                "address": row.address,
                "isDefaultShipping": row.is_default_shipping,
                "isDefaultBilling": row.is_default_billing,
            }
            for row in book
        ],
        "sessions": [
            {
                "createdAt": _when(login.created_at),
                "lastUsedAt": _when(login.last_used_at),
                "clientAddress": login.client_address,
                "userAgent": login.user_agent,
            }
            for login in logins
        ],
        "emailTokens": [
            {
                "purpose": token["purpose"],
                "createdAt": _when(token["created_at"]),
                "expiresAt": _when(token["expires_at"]),
                "usedAt": _when(token["used_at"]),
            }
            for token in tokens
        ],
        "orders": [
            {
                "number": order.number,
                "status": order.status,
                "email": order.email,
                "currency": order.currency,
                "subtotal": order.subtotal,
                "total": order.total,
                "shippingAddress": order.shipping_address,
                "billingAddress": order.billing_address,
                "vatNumber": order.vat_number,
                "discount": order.discount,
                "shipping": order.shipping,
                "tax": order.tax,
                "trackingNumber": order.tracking_number,
                "createdAt": _when(order.created_at),
                "paidAt": _when(order.paid_at),
                "lines": [
                    {
                        "sku": line.sku,
                        "productName": line.product_name,
                        "variantName": line.variant_name,
                        "quantity": line.quantity,
                        "unitPrice": line.unit_price,
                        "lineTotal": line.line_total,
                    }
                    for line in lines.get(order.id, [])
                ],
                "statusHistory": [
                    {"from": change.from_status, "to": change.to_status, "at": _when(change.at)}
                    for change in history.get(order.id, [])
                ],
            }
            for order in (by_id[order_id] for order_id in order_ids if order_id in by_id)
        ],
        "reviews": [
            {
                "productId": review.product_id,
                "rating": review.rating,
                "title": review.title,
                "body": review.body,
                "hidden": review.is_hidden,
                "createdAt": _when(review.created_at),
                "updatedAt": _when(review.updated_at),
            }
            for review in written
        ],
    }


async def delete_account(
    engine: AsyncEngine, settings: Settings, user: UserRow, password: str
) -> tuple[Problem, ...]:
    if not await current_password_ok(engine, user, password, settings.bcrypt_rounds):
        return (Problem(AccountCode.WRONG_PASSWORD, "The password is wrong.", ("password",)),)
    placeholder = erased_email(user.id)
    async with engine.begin() as conn:
        if not await profiles.soft_delete_user(conn, user.id, placeholder):
            return (Problem(AccountCode.NOT_FOUND, "This account does not exist.", None),)
        await addresses.delete_all_of(conn, user.id)
        await revoke_sessions(conn, user.id, keep=None)
        await carts.soft_delete_carts_of_user(conn, user.id)
        await reviews.delete_reviews_of_user(conn, user.id)
        for order_id in await orders.order_ids_of_user(conn, user.id):
            order = (await orders.orders_by_ids(conn, [order_id]))[order_id]
            country = order.shipping_address.get("country")
            await orders.erase_order(
                conn,
                order_id,
                placeholder,
                _erased_address(country),
                had_billing_address=order.billing_address is not None,
            )
        await enqueue_account_email(
            conn,
            MessageKind.ACCOUNT_DELETED,
            key=f"deleted-{user.id}",
            recipient=user.email,
            name=user.name,
            link=f"{settings.storefront_base_url}/",
        )
    return ()


def _erased_address(country: str | None) -> dict[str, Any]:
    return {
        "name": "(erased)",
        "line1": "(erased)",
        "line2": None,
        "city": "(erased)",
        "state": None,
        "postal_code": "(erased)",
        "country": country or "ZZ",
    }
