"""The nightly rollup rebuild: the rollup tables made equal to the raw rows.

Safe to run again: every day is checked against the raw rows and only what differs is
written (metrics.rollups says how a bucket is counted). The full check, bucket by
bucket, that reports what differs without writing is in metrics.check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, CharField, ExpressionWrapper, Func, Model, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from surveys.leases import last_done, lease_held
from surveys.models import Response, Survey

from .funnel import FUNNEL_STEPS, STEP_NAMES
from .models import InvitationRollup, ScoreRollup
from .rollups import (
    COMMENTED,
    COUNTED,
    FUNNEL_COLUMNS,
    FUNNEL_DIMENSIONS,
    SCORE_COLUMNS,
    SessionDate,
    Statement,
    execute,
    funnel_insert,
    funnel_select,
    quoted,
    score_insert,
    score_select,
)

logger = logging.getLogger(__name__)


@contextmanager
def _indexes_rebuilt_after(model: type[Model]) -> Iterator[None]:
    """Drop the table's primary key and indexes, and build them again after the block:
    one sorted build is cheaper than hundreds of thousands of single inserts.
    PostgreSQL only (there the table is truncated first and locked until commit)."""
    if connection.vendor != "postgresql":
        yield
        return
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
            [model._meta.db_table],
        )
        primary = [name for (name,) in cursor.fetchall()]
        for name in primary:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quoted(name)}")
    with connection.schema_editor(atomic=False) as editor:
        for index in model._meta.indexes:
            editor.remove_index(model, index)
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for name in primary:  # the ids come from the table's identity: unique already
            pk = quoted(model._meta.pk.column)
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quoted(name)} PRIMARY KEY ({pk})")
    with connection.schema_editor(atomic=False) as editor:
        for index in model._meta.indexes:
            editor.add_index(model, index)


def _rebuilt_scores(day: Func | None) -> list[Statement]:
    return score_insert(Response.objects.all(), ordered=True, day=day)


def _rebuilt_steps(day: Func | None) -> list[Statement]:
    return funnel_insert(Survey.objects.all(), ordered=True, day=day)


_REBUILDS: tuple[tuple[type[Model], Callable[[Func | None], list[Statement]], str], ...] = (
    (ScoreRollup, _rebuilt_scores, "answered_at"),
    (InvitationRollup, _rebuilt_steps, "sent_at"),
)


@dataclass(frozen=True)
class TableRebuild:
    """What a full rebuild did to one rollup table."""

    table: str
    rows: int  # in the table afterwards
    deleted: int
    inserted: int
    from_empty: bool  # truncated and refilled instead of reconciled
    # Days whose rows were matched one by one: their checksum differed (reconciled).
    days_matched: int = 0


def _fresh_select(model: type[Model], day: Func | None) -> Statement:
    if model is ScoreRollup:
        return score_select(Response.objects.all(), day=day)
    return funnel_select(Survey.objects.all(), day=day)


def _columns(model: type[Model]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The key columns of a rollup table's bucket, and its counted columns."""
    if model is ScoreRollup:
        return SCORE_COLUMNS[:-2], SCORE_COLUMNS[-2:]
    return FUNNEL_COLUMNS[:-1], FUNNEL_COLUMNS[-1:]


def _same(model: type[Model], columns: tuple[str, ...], left: str, right: str) -> str:
    """left and right agree on these columns. A missing agent or team compares as -1
    (no id is negative): a plain equality on both sides, so PostgreSQL can hash it."""
    out = []
    for name in columns:
        column = quoted(name)
        if model._meta.get_field(name).null:
            out.append(f"COALESCE({left}.{column}, -1) = COALESCE({right}.{column}, -1)")
        else:
            out.append(f"{left}.{column} = {right}.{column}")
    return " AND ".join(out)


def _key_hash(model: type[Model], columns: tuple[str, ...]) -> str:
    """SQL for a 64-bit hash of a row's bucket key: each column's hash, seeded by its
    place so equal values in two columns do not cancel, combined with XOR. A raw row
    and the rollup row of its bucket hash alike (same names, same values)."""
    table = connection.ops.quote_name(model._meta.db_table)
    parts = []
    for seed, name in enumerate(columns, start=1):
        field = model._meta.get_field(name)
        column = f"{table}.{quoted(name)}"
        if isinstance(field, CharField):
            parts.append(f"hashtextextended({column}, {seed})")
        else:
            value = f"COALESCE({column}, -1)" if field.null else column
            parts.append(f"hashint8extended({value}::bigint, {seed})")
    return " # ".join(parts)


def _expressions_sql(model: type[Model], **annotations: Any) -> list[Statement]:
    """The SQL of these expressions (conditions as Q) over the model's own table;
    fails loudly if one needs a join, which the day sums below cannot take."""
    query = model._default_manager.annotate(
        **{
            name: ExpressionWrapper(e, BooleanField()) if isinstance(e, Q) else e
            for name, e in annotations.items()
        }
    ).query
    compiler = query.get_compiler(connection=connection)
    out = [compiler.compile(query.annotations[name]) for name in annotations]
    if len(query.alias_map) > 1:
        raise RuntimeError(f"rollup day sums need {model.__name__}'s own columns only")
    return [(sql, list(params)) for sql, params in out]


# Each day's rollup rows are compared with the raw rows through sums both can give:
# per day, the rows counted and the sum of their buckets' key hashes (a rollup row
# gives count x hash), and the same for comments and for each funnel step (the step's
# own hash mixed in). The raw side groups by day only, so it is a fraction of the
# bucket aggregation; a day whose sums differ is recomputed bucket by bucket. A
# changed, missing or extra bucket changes a sum, as does a bucket stored twice with
# its count, unless the hashes of the rows that differ cancel to the last bit: about
# one chance in 2^64. A bucket split into rows whose counts add up to its own leaves
# the sums as they are (the reports' totals too): rollups_check, which compares every
# bucket, finds it, and rollups_rebuild(exact=True) repairs it.
SCORE_KEY = SCORE_COLUMNS[1:-2]  # a score bucket's key without the day


def _score_day_sums(day: Func | None) -> Statement:
    """SELECT day, answers, hash sum, commented, commented hash sum: raw, then stored."""
    table = connection.ops.quote_name(Response._meta.db_table)
    rollups = connection.ops.quote_name(ScoreRollup._meta.db_table)
    (day_sql, day_params), (counted, c_params), (commented, m_params) = _expressions_sql(
        Response, day=day or TruncDate("answered_at"), counted=COUNTED, commented=COMMENTED
    )
    mark = "hashtextextended('commented', 0)"
    raw = (
        f"SELECT day, count(*), sum(h), count(*) FILTER (WHERE commented), "  # noqa: S608
        f"COALESCE(sum(h # {mark}) FILTER (WHERE commented), 0) "
        f"FROM (SELECT {day_sql} AS day, {_key_hash(Response, SCORE_KEY)} AS h, "
        f"{commented} AS commented FROM {table} WHERE {counted}) AS raw GROUP BY 1"
    )
    stored = (
        f"SELECT day, count(*), sum(count), sum(count::numeric * h), sum(commented), "  # noqa: S608
        f"sum(commented::numeric * (h # {mark})) "
        f"FROM (SELECT day, count, commented, {_key_hash(ScoreRollup, SCORE_KEY)} AS h "
        f"FROM {rollups}) AS stored GROUP BY 1"
    )
    return _day_sums_compared(raw, stored, ScoreRollup, [*day_params, *m_params, *c_params])


def _step_day_sums(day: Func | None) -> Statement:
    """The same for the funnel: per day, survey emails per step and their hash sums."""
    table = connection.ops.quote_name(Survey._meta.db_table)
    rollups = connection.ops.quote_name(InvitationRollup._meta.db_table)
    compiled = _expressions_sql(
        Survey,
        day=day or TruncDate("sent_at"),
        sent=Q(sent_at__isnull=False),
        **{f"step_{step.name}": step.condition for step in FUNNEL_STEPS},
    )
    (day_sql, day_params), (sent, sent_params), *steps = compiled
    flags = ", ".join(f"{sql} AS s{i}" for i, (sql, _p) in enumerate(steps))
    counts = " + ".join(f"count(*) FILTER (WHERE s{i})" for i in range(len(steps)))
    sums = " + ".join(
        f"COALESCE(sum(h # hashtextextended(%s, 0)) FILTER (WHERE s{i}), 0)"
        for i in range(len(steps))
    )
    params = [*STEP_NAMES, *day_params, *(p for _sql, ps in steps for p in ps), *sent_params]
    raw = (
        f"SELECT day, {counts}, {sums} "  # noqa: S608
        f"FROM (SELECT {day_sql} AS day, {_key_hash(Survey, FUNNEL_DIMENSIONS)} AS h, {flags} "
        f"FROM {table} WHERE {sent}) AS raw GROUP BY 1"
    )
    stored = (
        f"SELECT day, count(*), sum(count), "  # noqa: S608
        f"sum(count::numeric * (h # hashtextextended(step, 0))) "
        f"FROM (SELECT day, step, count, {_key_hash(InvitationRollup, FUNNEL_DIMENSIONS)} AS h "
        f"FROM {rollups}) AS stored GROUP BY 1"
    )
    return _day_sums_compared(raw, stored, InvitationRollup, params)


def _day_sums_compared(raw: str, stored: str, model: type[Model], params: list[Any]) -> Statement:
    """SELECT, for every day with raw or stored rows: the day, the stored rows, and
    whether the sums differ. raw gives the day and the sums; stored the day, its
    rows, and the same sums. A stored row without a count (which no raw row gives)
    makes its day differ too."""
    rollups = connection.ops.quote_name(model._meta.db_table)
    sums = ("n", "h", "commented", "commented_h")
    if model is InvitationRollup:
        sums = sums[:2]
    names = ", ".join(sums)
    sql = (
        f"WITH raw (day, {names}) AS ({raw}), "  # noqa: S608
        f"stored (day, stored_rows, {names}) AS ({stored}), "
        f"empty AS (SELECT DISTINCT day FROM {rollups} WHERE count <= 0) "
        f"SELECT COALESCE(r.day, s.day, e.day), COALESCE(s.stored_rows, 0), "
        f"ROW({', '.join(f'r.{n}' for n in sums)}) IS DISTINCT FROM "
        f"ROW({', '.join(f's.{n}' for n in sums)}) OR e.day IS NOT NULL "
        f"FROM raw AS r FULL JOIN stored AS s ON r.day = s.day "
        f"FULL JOIN empty AS e ON e.day = COALESCE(r.day, s.day)"
    )
    return sql, params


def _reconcile_sql(model: type[Model], day: Func | None, days: list[date] | None) -> Statement:
    """One statement that makes these days' rows (all with None) equal to a fresh
    computation from the raw rows, writing only the rows that differ.

    The days' buckets are recomputed and matched to the stored rows with the same
    key and counts (a hash full join). A stored row without a match (a changed
    count, a bucket gone) is deleted, a fresh row without one (a changed count, a
    missing bucket) inserted: all parts see the same snapshot. Returns one row: the
    days' fresh rows, the rows deleted, inserted.
    """
    keys, counts = _columns(model)
    columns = (*keys, *counts)
    table = connection.ops.quote_name(model._meta.db_table)
    fields = quoted(*columns)
    fresh, params = _fresh_select(model, day)
    same = _same(model, columns, "f", "r")
    first = quoted(keys[0])  # the day: never NULL in a fresh row
    # The day is a grouping key, so PostgreSQL filters the raw rows before grouping.
    on_days = f"WHERE {first} = ANY(%s)" if days is not None else ""
    sql = (
        f"WITH fresh AS MATERIALIZED (SELECT * FROM ({fresh}) AS fresh ({fields}) "  # noqa: S608
        f"{on_days}), "
        f"diff AS MATERIALIZED (SELECT f.*, r.id AS stored_id FROM fresh AS f "
        f"FULL JOIN (SELECT * FROM {table} {on_days}) AS r "
        f"ON {same} WHERE f.{first} IS NULL OR r.id IS NULL), "
        f"gone AS (DELETE FROM {table} WHERE id IN "
        f"(SELECT stored_id FROM diff WHERE {first} IS NULL) RETURNING 1), "
        f"added AS (INSERT INTO {table} ({fields}) "
        f"SELECT {fields} FROM diff WHERE stored_id IS NULL RETURNING 1) "
        f"SELECT (SELECT count(*) FROM fresh), (SELECT count(*) FROM gone), "
        f"(SELECT count(*) FROM added)"
    )
    return sql, [*params, days, days] if days is not None else params


def _duplicates_delete(model: type[Model], days: list[date] | None) -> int:
    """Delete all but one row of each bucket of these days (all with None) stored
    more than once (with the right counts, or the reconcile would have replaced
    them)."""
    keys, _counts = _columns(model)
    table = connection.ops.quote_name(model._meta.db_table)
    fields = quoted(*keys)
    on_days = f"WHERE {quoted(keys[0])} = ANY(%s)" if days is not None else ""
    sql = (
        f"DELETE FROM {table} AS r USING (SELECT {fields}, min(id) AS kept FROM {table} "  # noqa: S608
        f"{on_days} GROUP BY {fields} HAVING count(*) > 1) AS d "
        f"WHERE {_same(model, keys, 'r', 'd')} AND r.id <> d.kept"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [days] if days is not None else [])
        return cursor.rowcount


@contextmanager
def _local_settings(**values: str) -> Iterator[None]:
    """PostgreSQL settings for the rest of the block, in this transaction only; put
    back afterwards, for a caller's transaction."""
    before: dict[str, str] = {}
    with connection.cursor() as cursor:
        for name, value in values.items():
            cursor.execute("SELECT current_setting(%s)", [name])
            before[name] = cursor.fetchone()[0]
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
    yield
    with connection.cursor() as cursor:
        for name, value in before.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def _table_reconcile(model: type[Model], day: Func | None, *, exact: bool) -> TableRebuild:
    """Reconcile one PostgreSQL rollup table with the raw rows, inside the current
    transaction. Every day's raw rows are compared with its stored rows through
    their sums (_score_day_sums, _step_day_sums); the days that differ are then
    recomputed bucket by bucket and put right (_reconcile_sql). exact: every day is
    recomputed bucket by bucket, without comparing sums first. Readers go on reading
    the old rows meanwhile; writers wait for the lock the caller holds."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        if exact:
            cursor.execute(f"SELECT NULL, count(*), true FROM {table}")  # noqa: S608
        else:
            day_sums = _score_day_sums if model is ScoreRollup else _step_day_sums
            cursor.execute(*day_sums(day))
        days = cursor.fetchall()
    changed = [d for d, _stored, differs in days if differs]
    rows = sum(stored for _d, stored, _differs in days)
    deleted = inserted = 0
    if changed:
        stored = sum(stored for d, stored, differs in days if differs)
        on_days = None if exact else changed
        # Hash the buckets: sorting their text keys costs seconds at this size.
        with _local_settings(enable_mergejoin="off"), connection.cursor() as cursor:
            cursor.execute(*_reconcile_sql(model, day, on_days))
            fresh, deleted, inserted = cursor.fetchone()
        if stored - deleted + inserted > fresh:  # a bucket is stored twice
            deleted += _duplicates_delete(model, on_days)
    return TableRebuild(
        model._meta.db_table,
        rows - deleted + inserted,
        deleted,
        inserted,
        from_empty=False,
        days_matched=0 if exact else len(changed),
    )


def _table_rebuild(
    model: type[Model],
    statements: Callable[[Func | None], list[Statement]],
    day: Func | None = None,
    *,
    exact: bool = False,
) -> TableRebuild:
    """Make one rollup table equal to rows computed from the raw rows, inside the
    current transaction.

    On PostgreSQL the table is locked against writers first (readers go on): an
    answer refreshed meanwhile waits, then is recomputed from its rows. A table with
    rows is reconciled, writing only the rows that differ; an empty one is filled in
    bulk with its key and index built afterwards, which is faster then. Elsewhere the
    table is emptied and refilled.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor != "postgresql":
        deleted, _by_model = model._default_manager.all().delete()
        inserted = execute(statements(day))
        return TableRebuild(model._meta.db_table, inserted, deleted, inserted, from_empty=False)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"SELECT EXISTS (SELECT FROM {table})")  # noqa: S608
        (filled,) = cursor.fetchone()
    # Room to group a million rows in memory instead of spilling to disk. Compiling
    # these statements (JIT) costs more than it saves: measured at a million rows.
    with _local_settings(work_mem="256MB", jit="off"):
        if filled:
            return _table_reconcile(model, day, exact=exact)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table}")  # takes the table from readers until commit
        with _indexes_rebuilt_after(model):
            inserted = execute(statements(day))
    return TableRebuild(model._meta.db_table, inserted, 0, inserted, from_empty=True)


def _table_rebuild_alone(
    model: type[Model],
    statements: Callable[[Func | None], list[Statement]],
    moment: str,
    zone: str,
    exact: bool,
) -> TableRebuild:
    """_table_rebuild in a transaction of its own on this thread's own connection
    (PostgreSQL), counting days in the session's time zone, set for this transaction
    only. Derived data, so the commit need not wait for the disk (see
    _execute_at_once)."""
    try:
        with timezone.override(zone), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone])
                cursor.execute("SET LOCAL synchronous_commit = off")
            return _table_rebuild(model, statements, SessionDate(moment), exact=exact)
    finally:
        connection.close()


def rollups_reconcile(*, exact: bool = False) -> tuple[TableRebuild, TableRebuild]:
    """Check every rollup against the raw rows and repair what differs (nightly);
    safe to re-run.

    On PostgreSQL each day is checked by its sums and the days that differ are
    recomputed bucket by bucket, writing only the rows that differ; exact: every
    bucket is recomputed and compared, which also repairs a bucket split into rows
    whose counts add up. An empty table is filled in bulk. Elsewhere the tables are
    emptied and refilled. Each table is
    done inside a transaction: readers see the old rollups until it commits, never a
    half-done table. On PostgreSQL, outside a transaction, the score and funnel tables
    are done at the same time, each on a connection (and a transaction) of its own.
    An answer refreshed meanwhile waits for the table and is then recomputed from its
    rows. If one table fails, the other may be done already; each is whole either way.
    Returns what was done to the score table and to the funnel table.
    """
    # Autocommit is off inside any atomic block, so this also means "not in one".
    if connection.vendor == "postgresql" and connection.get_autocommit():
        zone = timezone.get_current_timezone_name()
        with ThreadPoolExecutor(max_workers=len(_REBUILDS)) as pool:
            futures = [pool.submit(_table_rebuild_alone, *part, zone, exact) for part in _REBUILDS]
        scores, invitations = (future.result() for future in futures)
        return scores, invitations
    with transaction.atomic():
        scores, invitations = (
            _table_rebuild(model, statements, exact=exact) for model, statements, _ in _REBUILDS
        )
    return scores, invitations


def rollups_rebuild(*, exact: bool = False) -> tuple[int, int]:
    """rollups_reconcile; returns the rows then in the score and funnel tables."""
    scores, invitations = rollups_reconcile(exact=exact)
    return scores.rows, invitations.rows


REBUILD_LEASE = "rollups-rebuild"
# Longer than any rebuild takes (a million answers: well under a minute).
REBUILD_LEASE_SECONDS = 3 * 3600
# The nightly rebuild runs at most once in this time, however many beats queue it.
NIGHTLY_GAP = timedelta(hours=20)


def rollups_rebuild_nightly(*, now: datetime) -> tuple[int, int] | None:
    """The nightly rebuild: never two at once, and once a night even when a beat that
    took over queues it again. None when it was not run."""
    done = last_done(REBUILD_LEASE)
    if done is not None and now - done < NIGHTLY_GAP:
        logger.info("rollups rebuild: done at %s already; not run again", done)
        return None
    rebuilt = rollups_rebuild_alone()
    if rebuilt is None:
        logger.info("rollups rebuild: another process is rebuilding; not run")
    return rebuilt


def rollups_rebuild_alone(*, exact: bool = False) -> tuple[int, int] | None:
    """rollups_rebuild holding the rebuild lease; None (nothing done) while another
    process rebuilds."""
    with lease_held(REBUILD_LEASE, seconds=REBUILD_LEASE_SECONDS) as held:
        return rollups_rebuild(exact=exact) if held else None
