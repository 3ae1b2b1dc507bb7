"""The SQLModel tables and the migrations agree: a database migrated to head is what the models declare.

alembic's autogenerate comparison (types and server defaults included) must find nothing to do.
It does not compare check constraints, sequences or a table's UNLOGGED prefix, so those are
compared here by name. Triggers and their functions exist only in the migrations (see models/).
"""

from __future__ import annotations

import types
import typing

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, Connection, inspect, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable
from sqlmodel import SQLModel

from models import Cart, Category, Order, OrderLine, OrderStatusChange, User
from models.account_repository import UserRow
from models.cart_repository import CartRow
from models.catalog_repository import CategoryRow
from models.order_repository import OrderLineRow, OrderRow, StatusChangeRow
from models.orders import ORDER_NUMBERS
from tests.support import own_engine

METADATA = SQLModel.metadata
# pgqueuer's own tables (migration 0006 installs them from its SQL; core/queue.py is their only
# reader): the library declares them, not our models.
LIBRARY_TABLES = "pgqueuer"


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    table = getattr(obj, "table", obj) if type_ != "table" else obj
    table_name = name if type_ == "table" else getattr(table, "name", "")
    return not (table_name or "").startswith(LIBRARY_TABLES)


async def _on_database(database_url: str, compare):  # type: ignore[no-untyped-def]
    engine = own_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def test_autogenerate_finds_no_difference(database_url: str) -> None:
    def compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "compare_server_default": True, "include_object": _ours},
        )
        return compare_metadata(context, METADATA)

    assert await _on_database(database_url, compare) == []


async def test_check_constraints_sequences_and_unlogged_tables_agree(database_url: str) -> None:
    def read(connection: Connection) -> tuple[dict[str, set[str]], set[str], set[str]]:
        inspector = inspect(connection)
        checks = {
            table: {check["name"] for check in inspector.get_check_constraints(table)}
            for table in METADATA.tables
        }
        sequences = set(  # those owned by a column (identity, serial) aside
            connection.scalars(
                text(
                    "SELECT relname FROM pg_class s WHERE relkind = 'S' AND NOT EXISTS"
                    " (SELECT FROM pg_depend WHERE objid = s.oid AND deptype IN ('i', 'a'))"
                )
            )
        )
        unlogged = set(connection.scalars(text("SELECT relname FROM pg_class WHERE relpersistence = 'u'")))
        return checks, sequences, unlogged

    checks, sequences, unlogged = await _on_database(database_url, read)
    assert checks == {
        name: {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
        for name, table in METADATA.tables.items()
    }
    assert sequences == {ORDER_NUMBERS.name}
    assert unlogged & set(METADATA.tables) == {
        name
        for name, table in METADATA.tables.items()
        if "CREATE UNLOGGED TABLE" in str(CreateTable(table).compile(dialect=postgresql.dialect()))
    }


def _without_none(annotation: object) -> object:
    arguments = [argument for argument in typing.get_args(annotation) if argument is not type(None)]
    if typing.get_origin(annotation) in (types.UnionType, typing.Union) and len(arguments) == 1:
        return arguments[0]
    return annotation


def test_row_types_are_columns_of_their_tables() -> None:
    # The repositories' row types name the columns they read (their SELECT lists are derived from
    # them); each field is a column of the model, typed as the model types it (not None where the
    # column is NOT NULL, however the model's field is optional before the database fills it).
    for row_type, model in (
        (OrderRow, Order),
        (OrderLineRow, OrderLine),
        (StatusChangeRow, OrderStatusChange),
        (UserRow, User),
        (CartRow, Cart),
        (CategoryRow, Category),
    ):
        table = model.__table__  # type: ignore[attr-defined]
        for field, annotation in typing.get_type_hints(row_type).items():
            column = table.c[field]
            declared = model.model_fields[field].annotation
            expected = declared if column.nullable else _without_none(declared)
            assert annotation == expected, f"{row_type.__name__}.{field}: {annotation} is not {expected}"
