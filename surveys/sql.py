"""Hand-written statements for the customer's path, where building a statement with the
ORM costs more than running it. Table and column names come from the models'
metadata; values go through each field's own conversion (get_db_prep_save) on the way
in and the database's converters on the way out, as the ORM's would. PostgreSQL and
SQLite both take this syntax (SQLite before 3.35 without RETURNING)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def cursor() -> Any:
    """A cursor for the statements here. On PostgreSQL it binds their parameters on the
    server, so psycopg prepares each (from its second run on a connection, OPTIONS
    prepare_threshold) and PostgreSQL plans it once instead of on every request: these
    are the same few statements all day. Elsewhere, or with prepared statements off,
    Django's own. Either way Django's wrapper logs and counts the statements."""
    options = connection.settings_dict.get("OPTIONS", {})
    if connection.vendor != "postgresql" or options.get("prepare_threshold") is None:
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    raw = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)
    return connection.make_cursor(raw)


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
    meta = model._meta
    with cursor() as db:
        if connection.features.can_return_rows_from_bulk_insert:
            db.execute(*insert_statement(model, rows, fields, upsert_on=upsert_on, update=update))
            return db.fetchall()
        sql, returned = _insert_sql(model, tuple(fields), upsert_on, tuple(update), len(rows))
        params = insert_params(model, rows, fields)
        # SQLite before 3.35 has no RETURNING: the rows are read back by their key.
        db.execute(sql, params)
        if not upsert_on:
            return []
        quote = connection.ops.quote_name
        field = meta.get_field(upsert_on)
        keys = [field.get_db_prep_save(getattr(row, field.attname), connection) for row in rows]
        db.execute(
            f"SELECT {returned} FROM {quote(meta.db_table)} "  # noqa: S608
            f"WHERE {quote(field.column)} IN ({', '.join(['%s'] * len(keys))})",
            keys,
        )
        return db.fetchall()


def rows_create(instances: Sequence[models.Model]) -> list[models.Model]:
    """INSERT new instances of one model with all their fields in one statement written
    once per shape, and give each its primary key: what bulk_create does (keys in the
    order of the rows, as it relies on too), without building the statement each time.
    No signals: the models this is used for have none. Where the database cannot
    return keys (SQLite before 3.35), bulk_create itself."""
    model = type(instances[0])
    if not connection.features.can_return_rows_from_bulk_insert:
        return model._default_manager.bulk_create(instances)
    for field in _stamped(model):  # auto_now(_add) fields, as save() sets them
        for instance in instances:
            field.pre_save(instance, True)
    stored = rows_insert(model, instances, _insertable(model))
    for instance, (pk, _key) in zip(instances, stored, strict=True):
        instance.pk = pk
        instance._state.adding = False
    return list(instances)


def row_create(instance: models.Model) -> models.Model:
    """rows_create for one instance."""
    return rows_create([instance])[0]


@functools.cache
def _stamped(model: type[models.Model]) -> list[models.Field]:
    return [
        f
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]


@functools.cache
def _insertable(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(f.name for f in model._meta.concrete_fields if not f.primary_key)


def row_update(instance: models.Model, fields: Sequence[str]) -> None:
    """UPDATE these fields of a stored instance to its values, in a statement written
    once per model and fields: save(update_fields=...) without building it each time
    (and without signals: the models this is used for have none)."""
    model = type(instance)
    statement = _update_sql(model, tuple(fields))
    params = insert_params(model, [instance], fields)
    with cursor() as db:
        db.execute(statement, [*params, instance.pk])


@functools.cache
def _update_sql(model: type[models.Model], fields: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(f.column)} = %s" for f in _fields(model, fields))
    return (
        f"UPDATE {quote(model._meta.db_table)} SET {sets} "  # noqa: S608
        f"WHERE {quote(model._meta.pk.column)} = %s"
    )


def insert_statement(
    model: type[models.Model],
    rows: Sequence[models.Model],
    fields: Sequence[str],
    *,
    upsert_on: str = "",
    update: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> tuple[str, list[Any]]:
    """rows_insert's statement (RETURNING pk, the upsert field and the `returning`
    fields) and its parameters, to run as part of a larger one."""
    sql, returned = _insert_sql(model, tuple(fields), upsert_on, tuple(update), len(rows))
    quote = connection.ops.quote_name
    extra = "".join(f", {quote(f.column)}" for f in _fields(model, tuple(returning)))
    return f"{sql} RETURNING {returned}{extra}", insert_params(model, rows, fields)


def insert_params(
    model: type[models.Model], rows: Sequence[models.Model], fields: Sequence[str]
) -> list[Any]:
    """The rows' values of these fields as the database takes them: through each field's
    get_db_prep_save, except a plain int, str or bool of a field that stores it as it is
    (integers, text, booleans, foreign keys), which is the same and costs nothing."""
    params = []
    for row in rows:
        for field, plain in _conversions(model, tuple(fields)):
            value = getattr(row, field.attname)
            if type(value) is not plain:
                value = field.get_db_prep_save(value, connection)
            params.append(value)
    return params


@functools.cache
def _conversions(
    model: type[models.Model], names: tuple[str, ...]
) -> list[tuple[models.Field, type | None]]:
    """Each field, with the Python type it stores as it is (None: always converted)."""
    return [(f, _stored_as_is(f)) for f in _fields(model, names)]


def _stored_as_is(field: models.Field) -> type | None:
    if isinstance(field, models.ForeignKey):
        return _stored_as_is(field.target_field)
    if isinstance(field, models.JSONField):
        return None
    if isinstance(field, models.BooleanField):
        return bool
    if isinstance(field, (models.IntegerField, models.AutoField)):
        return int
    if isinstance(field, (models.CharField, models.TextField)):
        return str
    return None


@functools.cache
def _fields(model: type[models.Model], names: tuple[str, ...]) -> list[models.Field]:
    return [model._meta.get_field(name) for name in names]


@functools.cache
def _insert_sql(
    model: type[models.Model],
    fields: tuple[str, ...],
    upsert_on: str,
    update: tuple[str, ...],
    count: int,
) -> tuple[str, str]:
    """rows_insert's statement, and its RETURNING list: written once per shape."""
    quote = connection.ops.quote_name
    meta = model._meta
    columns = [f.column for f in _fields(model, fields)]
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    key = meta.get_field(upsert_on).column if upsert_on else meta.pk.column
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES {', '.join([one] * count)}"
    )
    if upsert_on:
        changes = ", ".join(
            f"{quote(f.column)} = excluded.{quote(f.column)}" for f in _fields(model, update)
        )
        sql += f" ON CONFLICT ({quote(key)}) DO UPDATE SET {changes}"
    return sql, f"{quote(meta.pk.column)}, {quote(key)}"


def row_insert_capped(
    model: type[models.Model], row: models.Model, fields: Sequence[str], *, per: str, cap: int
) -> bool:
    """INSERT this instance's `fields` in one statement, unless `cap` rows already share
    its `per` field's value (the count and the insert in one round trip). Returns
    whether it was stored."""
    chosen, key = _fields(model, tuple(fields)), model._meta.get_field(per)
    sql = _insert_capped_sql(model, tuple(fields), per, cap)
    params = [f.get_db_prep_save(getattr(row, f.attname), connection) for f in chosen]
    params.append(key.get_db_prep_save(getattr(row, key.attname), connection))
    with cursor() as db:
        db.execute(sql, params)
        return db.rowcount == 1


@functools.cache
def _insert_capped_sql(
    model: type[models.Model], fields: tuple[str, ...], per: str, cap: int
) -> str:
    quote = connection.ops.quote_name
    chosen, table = _fields(model, fields), quote(model._meta.db_table)
    postgres = connection.vendor == "postgresql"
    # A bare parameter in a SELECT list has no type on PostgreSQL: each says its own.
    values = ", ".join(f"CAST(%s AS {f.db_type(connection)})" if postgres else "%s" for f in chosen)
    return (
        f"INSERT INTO {table} ({', '.join(quote(f.column) for f in chosen)}) "  # noqa: S608
        f"SELECT {values} WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM {table} "
        f"WHERE {quote(model._meta.get_field(per).column)} = %s LIMIT {int(cap)}) kept) "
        f"< {int(cap)}"
    )


def first(model: type[models.Model], *, lock: bool = False, **equal: Any) -> Any:
    """The first row whose fields equal these values (plain ones: ints, text), as a
    model instance, or None; with `lock`, locked for this transaction (FOR UPDATE,
    where the database has it). The statement is written once per shape."""
    statement, columns = _first_sql(model, tuple(equal), lock)
    with cursor() as db:
        db.execute(statement, list(equal.values()))
        row = db.fetchone()
    return columns.build(row) if row is not None else None


@functools.cache
def _first_sql(
    model: type[models.Model], names: tuple[str, ...], lock: bool
) -> tuple[str, Columns]:
    quote = connection.ops.quote_name
    columns = Columns(model, "m", 0)
    where = " AND ".join(f"m.{quote(f.column)} = %s" for f in _fields(model, names))
    statement = (
        f"SELECT {columns.select} FROM {quote(model._meta.db_table)} m "  # noqa: S608
        f"WHERE {where} LIMIT 1"
    )
    if lock and connection.features.has_select_for_update:
        statement += " FOR UPDATE"
    return statement, columns


def converted(field: models.Field, value: Any, alias: str = "x") -> Any:
    """A value a hand-written statement read for this field, converted as the ORM
    would (SQLite hands back datetimes as text, for one)."""
    column = field.get_col(alias)
    for convert in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
        value = convert(value, column, connection)
    return value


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
