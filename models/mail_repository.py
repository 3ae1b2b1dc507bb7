"""Claims on outgoing messages, so that each Message-ID is sent once, and the captured mailbox.

A worker claims a message before sending it (a lease of `lease` seconds) and marks it sent after;
a claim that is held, or a message already sent, makes every other attempt stop. A worker that
dies between claim and mark leaves a lease that runs out, after which a retry sends again with
the same Message-ID (at least once, never twice at the same time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from models.mail import MailMessage

messages = MailMessage.__table__


@dataclass(slots=True, frozen=True)
class MailRow:
    id: int
    message_id: str
    kind: str
    order_id: int | None
    recipient: str
    subject: str
    text_body: str
    html_body: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


_columns = [messages.c[name] for name in MailRow.__slots__]  # type: ignore[attr-defined]


async def claim(
    conn: AsyncConnection,
    *,
    message_id: str,
    kind: str,
    order_id: int | None,
    recipient: str,
    subject: str,
    text_body: str,
    html_body: str,
    lease: float,
) -> str:
    """Claim the message for sending: "claimed", or "done" (sent or captured before), or "held"
    (another attempt holds a claim that has not run out)."""
    taken = await _take(
        conn,
        _CLAIM,
        lease=float(lease),
        message_id=message_id,
        kind=kind,
        order_id=order_id,
        recipient=recipient,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
    )
    return "claimed" if taken else await _not_taken(conn, message_id)


async def capture(
    conn: AsyncConnection,
    *,
    message_id: str,
    kind: str,
    order_id: int | None,
    recipient: str,
    subject: str,
    text_body: str,
    html_body: str,
) -> str:
    """Claim and mark captured at once (no transport: nothing leaves the process between the two):
    "captured", or as `claim` says, "done" or "held". One statement where claim and mark are two."""
    taken = await _take(
        conn,
        _CAPTURE,
        message_id=message_id,
        kind=kind,
        order_id=order_id,
        recipient=recipient,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
    )
    return "captured" if taken else await _not_taken(conn, message_id)


def _taking(state: dict[str, Any]) -> Any:
    """Insert the message in `state`, or put an existing one in it when its claim has run out (an
    attempt that died): returns its id when this attempt has it now. Built once (values bound)."""
    message = {name: bindparam(f"m_{name}", type_=messages.c[name].type) for name in _MESSAGE}
    return (
        pg_insert(messages)
        .values(**message, **state, attempts=1)
        .on_conflict_do_update(
            index_elements=[messages.c.message_id],
            set_={**state, "attempts": messages.c.attempts + 1},
            where=(messages.c.status == "sending") & (messages.c.claimed_until < func.now()),
        )
        .returning(messages.c.id)
    )


_MESSAGE = ("message_id", "kind", "order_id", "recipient", "subject", "text_body", "html_body")
_LEASE = func.make_interval(0, 0, 0, 0, 0, 0, bindparam("lease", type_=Float))
_CLAIM = _taking({"status": "sending", "claimed_until": func.now() + _LEASE})
_CAPTURE = _taking({"status": "captured", "sent_at": func.now(), "claimed_until": None})


async def _take(conn: AsyncConnection, statement: Any, lease: float = 0.0, **message: Any) -> bool:
    """Whether this attempt has the message now (`_taking`)."""
    values = {f"m_{name}": value for name, value in message.items()}
    if statement is _CLAIM:
        values["lease"] = lease
    return (await conn.execute(statement, values)).first() is not None


async def _not_taken(conn: AsyncConnection, message_id: str) -> str:
    current = select(messages.c.status).where(messages.c.message_id == message_id)
    status = (await conn.execute(current)).scalar()
    return "held" if status == "sending" else "done"


async def mark_sent(conn: AsyncConnection, message_id: str, *, captured: bool) -> None:
    await conn.execute(
        update(messages)
        .where(messages.c.message_id == message_id)
        .values(status="captured" if captured else "sent", sent_at=func.now(), claimed_until=None)
    )


async def release(conn: AsyncConnection, message_id: str, error: str) -> None:
    """Give the claim back after a failed send, so that the job's retry may claim it at once."""
    await conn.execute(
        update(messages)
        .where(messages.c.message_id == message_id, messages.c.status == "sending")
        .values(claimed_until=func.now() - text("interval '1 second'"), last_error=error[:1000])
    )


async def recent(conn: AsyncConnection, limit: int) -> list[MailRow]:
    rows = await conn.execute(select(*_columns).order_by(messages.c.id.desc()).limit(limit))
    return [MailRow(**row._mapping) for row in rows]


async def by_id(conn: AsyncConnection, message_pk: int) -> MailRow | None:
    row = (await conn.execute(select(*_columns).where(messages.c.id == message_pk))).first()
    return MailRow(**row._mapping) if row else None
