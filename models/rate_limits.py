"""Rate-limit counters: attempts per (bucket, key) in fixed time windows, shared by every server process.

The key is a keyed digest (HMAC-SHA-256 with the PII index key) of what is limited (a client
address, an e-mail address), so no address or e-mail is kept in clear or can be found by hashing a
guess, and any input, however long or odd, fits. Rows are disposable:
the table is UNLOGGED (no WAL per attempt) and windows that have ended are deleted now and then.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Integer, LargeBinary, Text
from sqlmodel import Field, SQLModel


class RateLimitCounter(SQLModel, table=True):
    __tablename__ = "rate_limit_counters"
    __table_args__ = (
        Index("ix_rate_limit_counters_expires_at", "expires_at"),
        {"prefixes": ["UNLOGGED"]},
    )

    bucket: str = Field(sa_column=Column(Text, primary_key=True))
    key: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    window_start: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    hits: int = Field(sa_column=Column(Integer, nullable=False))
