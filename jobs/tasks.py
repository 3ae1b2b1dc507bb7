"""The jobs workers run, by name: each one idempotent, so that a retry or a redelivery is harmless."""

from __future__ import annotations

from dataclasses import dataclass

from pgqueuer.models import Job
from sqlalchemy.ext.asyncio import AsyncEngine

from core.queue import payload_of
from core.settings import Settings
from domain.catalog_import_runs import IMPORT_CATALOG, run_import
from domain.late_payments import REFUND_LATE_PAYMENT, refund_kept_charge
from domain.notifications import (
    SEND_ACCOUNT_EMAIL,
    SEND_ORDER_EMAIL,
    Mailer,
    send_order_email,
    send_sealed_account_email,
)
from domain.payments import PaymentProvider
from mail.render import MessageKind


@dataclass(slots=True)
class Resources:
    """What a worker's jobs share: their own database engine, the payment provider, the mailer."""

    settings: Settings
    engine: AsyncEngine
    payments: PaymentProvider
    mailer: Mailer


def handlers(resources: Resources) -> dict[str, object]:
    async def send_email(job: Job) -> None:
        payload = payload_of(job.payload)
        await send_order_email(
            resources.engine, resources.mailer, int(payload["order_id"]), MessageKind(payload["kind"])
        )

    async def refund_late_payment(job: Job) -> None:
        # PaymentProviderUnavailable propagates: the job is retried with backoff.
        order_id = int(payload_of(job.payload)["order_id"])
        await refund_kept_charge(resources.engine, resources.payments, order_id)

    async def import_catalog(job: Job) -> None:
        await run_import(resources.engine, int(payload_of(job.payload)["run_id"]))

    async def send_account_email(job: Job) -> None:
        await send_sealed_account_email(resources.engine, resources.mailer, payload_of(job.payload))

    return {
        SEND_ORDER_EMAIL: send_email,
        REFUND_LATE_PAYMENT: refund_late_payment,
        IMPORT_CATALOG: import_catalog,
        SEND_ACCOUNT_EMAIL: send_account_email,
    }
