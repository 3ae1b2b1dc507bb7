"""Global object ids: opaque base64 of `TypeName:primary key`, as Relay and Saleor do."""

from __future__ import annotations

import base64
import binascii


def to_global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def from_global_id(global_id: str) -> tuple[str, int] | None:
    """The type name and primary key of a global id, or None when it is not one of ours."""
    try:
        decoded = base64.b64decode(global_id.encode(), validate=True).decode()
        type_name, _, pk = decoded.partition(":")
        number = int(pk)
    except (binascii.Error, UnicodeError, ValueError):
        return None
    if not type_name or number <= 0 or number >= 2**63 or pk != str(number):
        return None
    return type_name, number


def pk_of(global_id: str, type_name: str) -> int | None:
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]


def to_global_key_id(type_name: str, key: str) -> str:
    """A global id whose key is not a number (a session's uuid)."""
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def key_of(global_id: str, type_name: str) -> str | None:
    try:
        decoded = base64.b64decode(global_id.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return None
    name, _, key = decoded.partition(":")
    return key if name == type_name and key else None
