"""What every dashboard view needs from the application: its engine, payments and settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette_admin.exceptions import ActionFailed

from core.settings import Settings
from domain.access import Viewer, actor_of
from domain.errors import Problem
from domain.payments import PaymentProvider


@dataclass(slots=True)
class Console:
    """The main application, whose lifespan opens the engine the views use."""

    app: Starlette

    @property
    def engine(self) -> AsyncEngine:
        return self.app.state.engine

    @property
    def payments(self) -> PaymentProvider:
        return self.app.state.payments

    @property
    def settings(self) -> Settings:
        return self.app.state.settings


def staff_of(request: Request) -> Viewer:
    """The signed-in staff member (dashboard.auth put them there; every view is behind it)."""
    staff = getattr(request.state, "staff", None)
    if staff is None:  # the auth middleware lets no one else through
        raise ActionFailed("Sign in again.")
    return staff


def actor(request: Request) -> str:
    return actor_of(staff_of(request))


def failed(problems: list[Problem] | tuple[Problem, ...]) -> ActionFailed:
    """A domain refusal as the dashboard shows it: the messages, with their stable codes."""
    return ActionFailed("; ".join(f"{problem.message} ({problem.code})" for problem in problems))


def form_text(form: Any, name: str, limit: int = 1000) -> str:
    value = form.get(name)
    return str(value)[:limit] if isinstance(value, str) else ""
