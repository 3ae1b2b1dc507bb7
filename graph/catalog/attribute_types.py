"""Attributes and their values (the contract's "catalog: attributes and facets"), read through loaders."""

from __future__ import annotations

import strawberry

from domain.attributes import AttributeRow, AttributeValueRow, SelectedRow
from graph.common.types import Money, Node
from graph.context import Info
from graph.ids import to_global_id


@strawberry.type
class AttributeValue:
    slug: str
    name: str
    pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: AttributeValueRow) -> AttributeValue:
        return cls(slug=row.slug, name=row.name, pk=row.id)


@strawberry.type
class Attribute(Node):
    id: strawberry.ID
    slug: str
    name: str
    input_type: str = strawberry.field(description="DROPDOWN, MULTISELECT, SWATCH or BOOLEAN.")
    values: list[AttributeValue]
    pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: AttributeRow) -> Attribute:
        return cls(
            id=strawberry.ID(to_global_id("Attribute", row.id)),
            slug=row.slug,
            name=row.name,
            input_type=row.input_type,
            values=[AttributeValue.from_row(value) for value in row.values],
            pk=row.id,
        )


@strawberry.type(description="The values an item has for one attribute (a product may have several colours).")
class SelectedAttribute:
    values: list[AttributeValue]
    attribute_id: strawberry.Private[int]

    @strawberry.field
    async def attribute(self, info: Info) -> Attribute:
        row = await info.context.loaders.attribute.load(self.attribute_id)
        if row is None:
            raise LookupError(f"attribute {self.attribute_id} is gone")
        return Attribute.from_row(row)


def selected_attributes(rows: list[SelectedRow]) -> list[SelectedAttribute]:
    return [
        SelectedAttribute(
            values=[AttributeValue.from_row(value) for value in row.values], attribute_id=row.attribute_id
        )
        for row in rows
    ]


@strawberry.input
class AttributeFilter:
    attribute: str = strawberry.field(description="Attribute slug.")
    values: list[str] = strawberry.field(description="Value slugs; an item matches when it has any of them.")


@strawberry.type
class FacetValueCount:
    value: AttributeValue
    count: int


@strawberry.type
class AttributeFacet:
    attribute: Attribute
    values: list[FacetValueCount]


@strawberry.type
class PriceBucket:
    min: Money = strawberry.field(description="Lowest variant price from (inclusive).")
    max: Money | None = strawberry.field(description="Up to (exclusive); null for the last, open bucket.")
    count: int
