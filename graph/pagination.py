"""Relay cursor pagination helpers: page sizes and opaque keyset cursors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from graph.errors import PublicError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise PublicError(f"`first` must be between 0 and {MAX_PAGE_SIZE}, got {first}.", field=["first"])
    return first


def encode_cursor(kind: str, key: Sequence[Any]) -> str:
    values = [value.isoformat() if isinstance(value, datetime) else value for value in key]
    return base64.urlsafe_b64encode(orjson.dumps([kind, values])).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, types: Sequence[type]) -> tuple[Any, ...]:
    """The keyset values in a cursor made by `encode_cursor` for the same kind of list."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_kind, values = orjson.loads(raw)
        if cursor_kind != kind or len(values) != len(types):
            raise ValueError(cursor_kind)
        return tuple(_coerce(value, expected) for value, expected in zip(values, types, strict=True))
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError) as error:
        raise PublicError(
            "`after` is not a cursor of this list (was the sort or the search changed?).", field=["after"]
        ) from error


def _coerce(value: Any, expected: type) -> Any:
    if expected is datetime:
        return datetime.fromisoformat(value)
    if expected is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, int) and not isinstance(value, bool):
        if not -(2**63) <= value < 2**63:
            raise ValueError(value)
        return value
    if expected is str and isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL in a cursor")  # no sort key holds one, and PostgreSQL refuses it
    if isinstance(value, expected):
        return value
    raise TypeError(value)
