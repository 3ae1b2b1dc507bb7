"""Categories and attributes in the dashboard: lists with search, create and edit (a category's
parent by slug: moves refuse cycles), through domain.catalog_admin."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette_admin import fields
from starlette_admin.exceptions import ActionFailed, FormValidationError

from dashboard.listing import DomainListView, lines
from domain import catalog_admin


async def _parent_id(conn: AsyncConnection, slug: Any) -> int | None:
    slug = str(slug or "").strip()
    if not slug:
        return None
    parent = await catalog_admin.find_category(conn, slug)
    if parent is None:
        raise FormValidationError({"parent_slug": "There is no category with this slug."})
    return parent.id


class CategoryView(DomainListView):
    kind = "categories"
    key = "categories"
    display_name = "Category"
    menu_label = "Categories"
    icon = "fa fa-sitemap"
    fields = [
        fields.IntegerField("id", exclude_from_create=True, exclude_from_edit=True),
        fields.StringField("name", required=True, maxlength=250),
        fields.StringField("slug", help_text="Empty: made from the name.", maxlength=100),
        fields.StringField("parent_slug", label="Parent (slug)", help_text="Empty: a top-level category."),
        fields.StringField("parent", exclude_from_create=True, exclude_from_edit=True),
        fields.IntegerField("position"),
    ]
    searchable_fields = ["name", "slug"]
    field_names = {"parent_id": "parent_slug"}

    async def create(self, request: Request, data: dict) -> Any:
        async def create(conn: AsyncConnection, staff_id: int) -> Any:
            return await catalog_admin.create_category(
                conn,
                name=str(data.get("name") or ""),
                slug=str(data.get("slug") or "").strip() or None,
                parent_id=await _parent_id(conn, data.get("parent_slug")),
                position=data.get("position") or 0,
            )

        created = await self.write(request, create)
        return await self.find_by_pk(request, created.id)

    async def edit(self, request: Request, pk: Any, data: dict[str, Any]) -> Any:
        async def update(conn: AsyncConnection, staff_id: int) -> Any:
            slug = str(data.get("slug") or "").strip()
            await catalog_admin.update_category(
                conn,
                int(pk),
                name=str(data.get("name") or ""),
                **({"slug": slug} if slug else {}),
                position=data.get("position") or 0,
            )
            parent_id = await _parent_id(conn, data.get("parent_slug"))
            current = await catalog_admin.get_category(conn, int(pk))
            if current is not None and current.parent_id != parent_id:
                await catalog_admin.move_category(conn, int(pk), parent_id=parent_id)

        await self.write(request, update)
        return await self.find_by_pk(request, pk)

    async def find_by_pks(self, request: Request, pks: list[Any]) -> list[Any]:
        return [_Category(row) for row in await super().find_by_pks(request, pks)]

    async def find_all(self, request: Request, *args: Any, **kwargs: Any) -> list[Any]:
        return [_Category(row) for row in await super().find_all(request, *args, **kwargs)]

    async def delete(self, request: Request, pks: list[Any]) -> int | None:
        raise ActionFailed("Categories are not deleted here; move their products first.")

    def can_delete(self, request: Request) -> bool:
        return False


class _Category:
    def __init__(self, row: Any) -> None:
        self.__dict__.update({name: getattr(row, name) for name in row.__dataclass_fields__})
        self.parent_slug = row.parent_slug


INPUT_TYPES = ["DROPDOWN", "MULTISELECT", "SWATCH", "BOOLEAN"]


class AttributeView(DomainListView):
    kind = "attributes"
    key = "attributes"
    display_name = "Attribute"
    menu_label = "Attributes"
    icon = "fa fa-list"
    fields = [
        fields.IntegerField("id", exclude_from_create=True, exclude_from_edit=True),
        fields.StringField("name", required=True, maxlength=250, exclude_from_edit=True),
        fields.StringField(
            "slug", help_text="Empty: made from the name.", maxlength=100, exclude_from_edit=True
        ),
        fields.EnumField("input_type", choices=INPUT_TYPES, exclude_from_edit=True),
        fields.TextAreaField(
            "values_text",
            label="Values",
            help_text="One value name a line; editing adds the new lines as values.",
        ),
        fields.IntegerField("position", exclude_from_edit=True),
    ]
    searchable_fields = ["name", "slug"]
    field_names = {"values": "values_text"}

    async def find_by_pks(self, request: Request, pks: list[Any]) -> list[Any]:
        return [_Attribute(row) for row in await super().find_by_pks(request, pks)]

    async def find_all(self, request: Request, *args: Any, **kwargs: Any) -> list[Any]:
        return [_Attribute(row) for row in await super().find_all(request, *args, **kwargs)]

    async def create(self, request: Request, data: dict) -> Any:
        async def create(conn: AsyncConnection, staff_id: int) -> Any:
            return await catalog_admin.create_attribute(
                conn,
                name=str(data.get("name") or ""),
                slug=str(data.get("slug") or "").strip() or None,
                input_type=str(data.get("input_type") or "DROPDOWN"),
                values=[(name, None) for name in lines(data.get("values_text"))],
                position=data.get("position") or 0,
            )

        created = await self.write(request, create)
        return await self.find_by_pk(request, created.id)

    async def edit(self, request: Request, pk: Any, data: dict[str, Any]) -> Any:
        async def add_values(conn: AsyncConnection, staff_id: int) -> None:
            present = {value.name for value in await catalog_admin.attribute_values(conn, int(pk))}
            for name in lines(data.get("values_text")):
                if name not in present:
                    await catalog_admin.add_attribute_value(conn, int(pk), name=name)
                    present.add(name)

        await self.write(request, add_values)
        return await self.find_by_pk(request, pk)

    async def delete(self, request: Request, pks: list[Any]) -> int | None:
        raise ActionFailed("Attributes are not deleted here.")

    def can_delete(self, request: Request) -> bool:
        return False


class _Attribute:
    def __init__(self, row: Any) -> None:
        self.__dict__.update({name: getattr(row, name) for name in row.__dataclass_fields__})
        self.values_text = "\n".join(row.values)
