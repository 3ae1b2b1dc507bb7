"""Messages sent (or captured) for customers, one row per Message-ID."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, Text, func
from sqlmodel import Field, SQLModel

from core.pii import EncryptedText


class MailMessage(SQLModel, table=True):
    __tablename__ = "mail_messages"
    __table_args__ = (
        Index("ix_mail_messages_order_id", "order_id"),
        Index("ix_mail_messages_created_at", "created_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    message_id: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    order_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("orders.id", ondelete="SET NULL"))
    )
    recipient: str = Field(sa_column=Column(EncryptedText("mail_messages.recipient"), nullable=False))
    subject: str = Field(sa_column=Column(Text, nullable=False))
    text_body: str = Field(sa_column=Column(EncryptedText("mail_messages.text_body"), nullable=False))
    html_body: str = Field(sa_column=Column(EncryptedText("mail_messages.html_body"), nullable=False))
    # sending (claimed until claimed_until), sent (over SMTP), captured (kept here, not sent)
    status: str = Field(sa_column=Column(Text, nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
