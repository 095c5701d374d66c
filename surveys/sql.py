"""Hand-written statements for the customer's path, where building a statement with the
ORM costs more than running it. Table and column names come from the models'
metadata; values go through each field's own conversion (get_db_prep_save) on the way
in and the database's converters on the way out, as the ORM's would. PostgreSQL and
SQLite both take this syntax (SQLite before 3.35 without RETURNING)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def rows_insert(
    model: type[models.Model],
    rows: Sequence[models.Model],
    fields: Sequence[str],
    *,
    upsert_on: str = "",
    update: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """INSERT these instances' `fields` in one statement; with `upsert_on` (a unique
    field), a row that exists has its `update` fields replaced instead. Returns each
    row's (pk, upsert_on value) as stored, in no particular order (nothing for a plain
    INSERT on SQLite before 3.35)."""
    quote = connection.ops.quote_name
    meta = model._meta
    columns = [meta.get_field(name).column for name in fields]
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    key = meta.get_field(upsert_on).column if upsert_on else meta.pk.column
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES {', '.join([one] * len(rows))}"
    )
    if upsert_on:
        changes = ", ".join(
            f"{quote(meta.get_field(n).column)} = excluded.{quote(meta.get_field(n).column)}"
            for n in update
        )
        sql += f" ON CONFLICT ({quote(key)}) DO UPDATE SET {changes}"
    params = [
        meta.get_field(name).get_db_prep_save(
            getattr(row, meta.get_field(name).attname), connection
        )
        for row in rows
        for name in fields
    ]
    returned = f"{quote(meta.pk.column)}, {quote(key)}"
    with connection.cursor() as cursor:
        if connection.features.can_return_rows_from_bulk_insert:
            cursor.execute(f"{sql} RETURNING {returned}", params)
            return cursor.fetchall()
        # SQLite before 3.35 has no RETURNING: the rows are read back by their key.
        cursor.execute(sql, params)
        if not upsert_on:
            return []
        field = meta.get_field(upsert_on)
        keys = [field.get_db_prep_save(getattr(row, field.attname), connection) for row in rows]
        cursor.execute(
            f"SELECT {returned} FROM {quote(meta.db_table)} "  # noqa: S608
            f"WHERE {quote(key)} IN ({', '.join(['%s'] * len(keys))})",
            keys,
        )
        return cursor.fetchall()


class Columns:
    """One model's columns in a hand-written SELECT, and how a slice of a row becomes
    the model instance (with the database's converters, as the ORM applies them)."""

    def __init__(self, model: type[models.Model], alias: str, start: int) -> None:
        quote = connection.ops.quote_name
        fields = model._meta.concrete_fields
        self.model, self.start, self.end = model, start, start + len(fields)
        self.attnames = [f.attname for f in fields]
        self.select = ", ".join(f"{alias}.{quote(f.column)}" for f in fields)
        self.converters = []
        for f in fields:
            column = f.get_col(alias)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            self.converters.append((found, column))

    def build(self, row: tuple) -> models.Model | None:
        values = list(row[self.start : self.end])
        if values[0] is None:  # the primary key: no row on an outer join
            return None
        for index, (converters, column) in enumerate(self.converters):
            for convert in converters:
                values[index] = convert(values[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)
