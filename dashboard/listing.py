"""A starlette-admin model view whose rows come from domain.staff_catalog (no ORM, no models)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette_admin.exceptions import FormValidationError
from starlette_admin.filters import FilterGroup
from starlette_admin.views import BaseModelView

from dashboard.console import Console, staff_of
from domain import staff_catalog
from domain.errors import Rejected

T = TypeVar("T")


def pk_number(pk: Any) -> int | None:
    """A page's pk as a row id or number (decimal digits that fit a bigint), else None."""
    text = str(pk)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def pk_numbers(pks: list[Any]) -> list[int]:
    return [number for number in map(pk_number, pks) if number is not None]


class ConsoleView(BaseModelView):
    """What every dashboard list shares: no ORM (`rows` and `total` read through domain/), pages of
    25/50/100, no sorting, import or export, a detail page found through `find_by_pks`."""

    pk_attr = "id"
    exporters: Sequence[Any] = []
    importers: Sequence[Any] = []
    sortable_fields: Sequence[str] = []
    page_size = 25
    page_size_options = [25, 50, 100]

    def __init__(self, console: Console) -> None:
        self.console = console
        super().__init__()

    async def rows(self, q: str | None, filters: FilterGroup | None, skip: int, limit: int) -> Sequence[Any]:
        raise NotImplementedError

    async def total(self, q: str | None, filters: FilterGroup | None) -> int:
        raise NotImplementedError

    async def find_all(
        self,
        request: Request,
        skip: int = 0,
        limit: int = 100,
        q: str | None = None,
        sorts: Sequence[tuple[str, str]] | None = None,
        filters: FilterGroup | None = None,
    ) -> Sequence[Any]:
        return await self.rows(q, filters, skip, limit)

    async def count(self, request: Request, q: str | None = None, filters: FilterGroup | None = None) -> int:
        return await self.total(q, filters)

    async def find_by_pk(self, request: Request, pk: Any) -> Any:
        found = await self.find_by_pks(request, [pk])
        return found[0] if found else None


class DomainListView(ConsoleView):
    """Lists, search and pages through domain.staff_catalog; writes are the subclasses', each one a
    domain.catalog_admin function in a transaction (`write`)."""

    kind = ""
    # Form field a problem's first path element stands for (catalog_admin names them in domain terms).
    field_names: dict[str, str] = {}

    async def rows(self, q: str | None, filters: FilterGroup | None, skip: int, limit: int) -> Sequence[Any]:
        return await staff_catalog.page(self.console.engine, self.kind, q, skip, limit)

    async def total(self, q: str | None, filters: FilterGroup | None) -> int:
        return await staff_catalog.count(self.console.engine, self.kind, q)

    async def find_by_pks(self, request: Request, pks: list[Any]) -> Sequence[Any]:
        return await staff_catalog.by_ids(self.console.engine, self.kind, pk_numbers(pks))

    async def get_row_actions_for_obj(self, request: Request, obj: Any) -> list[dict[str, Any]]:
        """Restore is offered on what is deleted (soft: `deleted_at`), delete on what is not."""
        deleted = getattr(obj, "deleted_at", None) is not None
        shown = await super().get_row_actions_for_obj(request, obj)
        return [action for action in shown if action["name"] != ("delete" if deleted else "restore")]

    async def write(self, request: Request, change: Callable[[AsyncConnection, int], Awaitable[T]]) -> T:
        """One catalog_admin write in its own transaction, by the signed-in staff member; its
        problems shown on the form's fields."""
        staff = staff_of(request)
        try:
            return await staff_catalog.in_transaction(
                self.console.engine, lambda conn: change(conn, staff.id)
            )
        except Rejected as rejected:
            errors: dict[str | int, Any] = {}
            for problem in rejected.problems:
                field = self.field_names.get(problem.field[0], problem.field[0]) if problem.field else "_"
                errors.setdefault(field, f"{problem.message} ({problem.code})")
            raise FormValidationError(errors) from None


def lines(value: Any) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]
