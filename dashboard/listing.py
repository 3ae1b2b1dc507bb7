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


class DomainListView(BaseModelView):
    """Lists, search and pages through domain.staff_catalog; writes are the subclasses', each one a
    domain.catalog_admin function in a transaction (`write`)."""

    kind = ""
    pk_attr = "id"
    exporters: Sequence[Any] = []
    importers: Sequence[Any] = []
    sortable_fields: Sequence[str] = []
    page_size = 25
    page_size_options = [25, 50, 100]
    # Form field a problem's first path element stands for (catalog_admin names them in domain terms).
    field_names: dict[str, str] = {}

    def __init__(self, console: Console) -> None:
        self.console = console
        super().__init__()

    async def find_all(
        self,
        request: Request,
        skip: int = 0,
        limit: int = 100,
        q: str | None = None,
        sorts: Sequence[tuple[str, str]] | None = None,
        filters: FilterGroup | None = None,
    ) -> Sequence[Any]:
        return await staff_catalog.page(self.console.engine, self.kind, q, skip, limit)

    async def count(self, request: Request, q: str | None = None, filters: FilterGroup | None = None) -> int:
        return await staff_catalog.count(self.console.engine, self.kind, q)

    async def find_by_pk(self, request: Request, pk: Any) -> Any:
        found = await self.find_by_pks(request, [pk])
        return found[0] if found else None

    async def find_by_pks(self, request: Request, pks: list[Any]) -> Sequence[Any]:
        ids = [int(pk) for pk in map(str, pks) if pk.isascii() and pk.isdigit() and len(pk) < 19]
        return await staff_catalog.by_ids(self.console.engine, self.kind, ids)

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
