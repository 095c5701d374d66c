"""Hand-written INSERTs for the customer's path, where building the statement with the
ORM costs more than running it. Table and column names come from the models'
metadata and values go through each field's own conversion (get_db_prep_save), so the
rows are the ones the ORM would write; PostgreSQL and SQLite (3.35 and later) both
take this syntax."""

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
