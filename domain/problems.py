"""Business failures reported back to the caller as userErrors."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Problem:
    code: str
    message: str
    field: tuple[str, ...] | None = None
