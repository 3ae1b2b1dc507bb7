"""Products and variants in the dashboard: lists with search, create and edit, soft delete, stock
adjustments with a reason. Every write is domain.catalog_admin's (the staff API's own functions)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette_admin import fields
from starlette_admin.actions import row_action
from starlette_admin.exceptions import ActionFailed, FormValidationError
from starlette_admin.flash import flash

from dashboard.console import failed, form_text, staff_of
from dashboard.listing import DomainListView, lines
from domain import catalog_admin, staff_catalog
from domain.errors import Rejected


def images_text(images: list[dict[str, Any]]) -> str:
    return "\n".join(f"{image['url']} {image.get('alt') or ''}".strip() for image in images or [])


def images_of(value: Any) -> list[dict[str, Any]]:
    """One image a line: the URL, then (after a space) its alt text."""
    images = []
    for line in lines(value):
        url, _, alt = line.partition(" ")
        images.append({"url": url, "alt": alt.strip() or None})
    return images


async def _category_id(conn: AsyncConnection, slug: Any) -> int | None:
    slug = str(slug or "").strip()
    if not slug:
        return None
    category = await catalog_admin.find_category(conn, slug)
    if category is None:
        raise FormValidationError({"category_slug": "There is no category with this slug."})
    return category.id


class ProductView(DomainListView):
    kind = "products"
    key = "products"
    display_name = "Product"
    menu_label = "Products"
    icon = "fa fa-box"
    fields = [
        fields.IntegerField(
            "id", label="Id", read_only=True, exclude_from_create=True, exclude_from_edit=True
        ),
        fields.StringField("name", required=True, maxlength=250),
        fields.StringField("slug", help_text="Empty: made from the name.", maxlength=100),
        fields.TextAreaField("description", exclude_from_list=True),
        fields.StringField("category_slug", label="Category (slug)", exclude_from_list=True),
        fields.StringField("category", label="Category", exclude_from_create=True, exclude_from_edit=True),
        fields.TextAreaField(
            "images_text",
            label="Images",
            help_text="One a line: the URL, a space, the alt text.",
            exclude_from_list=True,
        ),
        fields.BooleanField("is_active", label="Active"),
        fields.IntegerField("variants", exclude_from_create=True, exclude_from_edit=True),
        fields.IntegerField("stock", exclude_from_create=True, exclude_from_edit=True),
        fields.DateTimeField("deleted_at", label="Deleted", exclude_from_create=True, exclude_from_edit=True),
    ]
    searchable_fields = ["name", "slug"]
    field_names = {"category_id": "category_slug", "images": "images_text"}
    row_actions = ["view", "edit", "restore", "delete"]

    async def find_by_pks(self, request: Request, pks: list[Any]) -> list[Any]:
        return [_ProductItem(row) for row in await super().find_by_pks(request, pks)]

    async def find_all(self, request: Request, *args: Any, **kwargs: Any) -> list[Any]:
        return [_ProductItem(row) for row in await super().find_all(request, *args, **kwargs)]

    async def create(self, request: Request, data: dict) -> Any:
        async def create(conn: AsyncConnection, staff_id: int) -> Any:
            return await catalog_admin.create_product(
                conn,
                name=str(data.get("name") or ""),
                slug=str(data.get("slug") or "").strip() or None,
                description=str(data.get("description") or ""),
                category_id=await _category_id(conn, data.get("category_slug")),
                images=images_of(data.get("images_text")),
                is_active=bool(data.get("is_active")),
            )

        created = await self.write(request, create)
        return await self.find_by_pk(request, created.id)

    async def edit(self, request: Request, pk: Any, data: dict[str, Any]) -> Any:
        async def update(conn: AsyncConnection, staff_id: int) -> Any:
            slug = str(data.get("slug") or "").strip()
            return await catalog_admin.update_product(
                conn,
                int(pk),
                name=str(data.get("name") or ""),
                **({"slug": slug} if slug else {}),
                description=str(data.get("description") or ""),
                category_id=await _category_id(conn, data.get("category_slug")),
                images=images_of(data.get("images_text")),
                is_active=bool(data.get("is_active")),
            )

        await self.write(request, update)
        return await self.find_by_pk(request, pk)

    async def delete(self, request: Request, pks: list[Any]) -> int | None:
        """Soft delete: hidden from the storefront, kept for order history and re-activation."""
        for pk in pks:
            await _active(self, request, pk, False)
        return len(pks)

    @row_action(
        name="restore",
        text="Restore",
        confirmation="Put this product back in the store?",
        icon_class="fa fa-trash-arrow-up",  # a row action without an icon shows nothing on the list
    )
    async def restore_action(self, request: Request, pk: Any) -> str:
        await _active(self, request, pk, True)
        flash(request, "The product is back in the store.", "success")
        return "restored"


async def _active(view: DomainListView, request: Request, pk: Any, active: bool) -> None:
    staff_of(request)
    try:
        await staff_catalog.in_transaction(
            view.console.engine, lambda conn: catalog_admin.set_product_active(conn, int(pk), active)
        )
    except Rejected as rejected:
        raise failed(rejected.problems) from None


class _ProductItem:
    """A product as the form shows it (categories by slug, images as lines of text)."""

    def __init__(self, row: staff_catalog.ProductListRow) -> None:
        self.__dict__.update({name: getattr(row, name) for name in row.__dataclass_fields__})
        self.images_text = images_text(row.images)
        self.category_slug = row.category_slug


STOCK_REASONS = [
    (reason, reason.capitalize()) for reason in catalog_admin.STOCK_REASONS if reason != "initial"
]


def _stock_form(request: Request, obj: Any) -> str:
    options = "".join(f'<option value="{value}">{label}</option>' for value, label in STOCK_REASONS)
    return (
        '<form><div class="mt-3"><label class="form-label" for="quantity">New stock (units on hand)</label>'
        '<input type="number" min="0" class="form-control" id="quantity" name="quantity" required></div>'
        '<div class="mt-3"><label class="form-label" for="reason">Reason</label>'
        f'<select class="form-select" id="reason" name="reason">{options}</select></div>'
        '<div class="mt-3"><label class="form-label" for="note">Note</label>'
        '<input type="text" class="form-control" id="note" name="note" maxlength="500"></div></form>'
    )


class VariantView(DomainListView):
    kind = "variants"
    key = "variants"
    display_name = "Variant"
    menu_label = "Variants"
    icon = "fa fa-tags"
    fields = [
        fields.IntegerField("id", label="Id", exclude_from_create=True, exclude_from_edit=True),
        fields.StringField("product_slug", label="Product (slug)", required=True, exclude_from_edit=True),
        fields.StringField("product", exclude_from_create=True, exclude_from_edit=True),
        fields.StringField("sku", label="SKU", required=True, maxlength=64),
        fields.StringField("name", required=True, maxlength=250),
        fields.IntegerField("price", help_text="In minor units: 1999 is 19.99.", required=True),
        fields.IntegerField(
            "stock", help_text="Units on hand; later changes: Adjust stock.", exclude_from_edit=True
        ),
        fields.IntegerField("reserved", exclude_from_create=True, exclude_from_edit=True),
        fields.IntegerField("position"),
        fields.DateTimeField("deleted_at", label="Deleted", exclude_from_create=True, exclude_from_edit=True),
    ]
    searchable_fields = ["sku", "name", "product"]
    row_actions = ["view", "edit", "stock", "restore", "delete"]

    async def create(self, request: Request, data: dict) -> Any:
        async def create(conn: AsyncConnection, staff_id: int) -> Any:
            product = await catalog_admin.find_product(conn, str(data.get("product_slug") or "").strip())
            if product is None:
                raise FormValidationError({"product_slug": "There is no product with this slug."})
            return await catalog_admin.create_variant(
                conn,
                product_id=product.id,
                sku=str(data.get("sku") or "").strip(),
                name=str(data.get("name") or ""),
                price=_number(data.get("price"), "price"),
                stock=_number(data.get("stock") or 0, "stock"),
                position=data.get("position"),
                actor_user_id=staff_id,
            )

        created = await self.write(request, create)
        return await self.find_by_pk(request, created.id)

    async def edit(self, request: Request, pk: Any, data: dict[str, Any]) -> Any:
        async def update(conn: AsyncConnection, staff_id: int) -> Any:
            return await catalog_admin.update_variant(
                conn,
                int(pk),
                sku=str(data.get("sku") or "").strip(),
                name=str(data.get("name") or ""),
                price=_number(data.get("price"), "price"),
                **({"position": data["position"]} if data.get("position") is not None else {}),
            )

        await self.write(request, update)
        return await self.find_by_pk(request, pk)

    async def delete(self, request: Request, pks: list[Any]) -> int | None:
        for pk in pks:
            await self._deleted(request, pk, True)
        return len(pks)

    async def _deleted(self, request: Request, pk: Any, deleted: bool) -> None:
        staff_of(request)
        change = catalog_admin.delete_variant if deleted else catalog_admin.restore_variant
        try:
            await staff_catalog.in_transaction(self.console.engine, lambda conn: change(conn, int(pk)))
        except Rejected as rejected:
            raise failed(rejected.problems) from None

    @row_action(
        name="restore",
        text="Restore",
        confirmation="Put this variant back in the store?",
        icon_class="fa fa-trash-arrow-up",
    )
    async def restore_action(self, request: Request, pk: Any) -> str:
        await self._deleted(request, pk, False)
        flash(request, "The variant is back in the store.", "success")
        return "restored"

    @row_action(
        name="stock",
        text="Adjust stock",
        confirmation="Set the stock of this variant (recorded in the inventory ledger).",
        form=_stock_form,
        submit_btn_text="Save",
        icon_class="fa fa-warehouse",
    )
    async def stock_action(self, request: Request, pk: Any) -> str:
        form = await request.form()
        quantity = form_text(form, "quantity", 12).strip()
        if not (quantity.isascii() and quantity.isdigit()):
            raise ActionFailed("The new stock is a whole number of 0 or more.")
        staff = staff_of(request)
        try:
            adjusted = await staff_catalog.in_transaction(
                self.console.engine,
                lambda conn: catalog_admin.adjust_stock(
                    conn,
                    int(pk),
                    quantity=int(quantity),
                    reason=form_text(form, "reason", 40),
                    note=form_text(form, "note", 600),
                    actor_user_id=staff.id,
                ),
            )
        except Rejected as rejected:
            raise failed(rejected.problems) from None
        flash(request, f"Stock of {adjusted.variant.sku} is {adjusted.variant.stock}.", "success")
        return "adjusted"


def _number(value: Any, field: str) -> int:
    if isinstance(value, int):
        return value
    raise FormValidationError({field: "A whole number is needed."})
