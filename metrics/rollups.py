"""Metric rollups: their columns, how a bucket is counted from the raw rows, and the
refresh of the buckets one answer touches.

Rollups are always recomputed from the raw rows of a bucket and replaced, never
incremented, so every function here is safe to run again. The nightly rebuild is in
metrics.rebuild, the check against the raw rows in metrics.check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, DateField, Func, Q, QuerySet
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from surveys.models import COMMENTED, Invitation, Response, Survey

from .funnel import FUNNEL_STEPS, STEP_NAMES
from .models import InvitationRollup, ScoreRollup

DIMENSIONS = ("kind", "agent_id", "team_id", "channel", "category")
# The funnel counts survey emails: every dimension but the question's kind.
FUNNEL_DIMENSIONS = DIMENSIONS[1:]
SCORE_COLUMNS = (
    "day",
    "kind",
    "agent_id",
    "team_id",
    "channel",
    "category",
    "scale_points",
    "score",
    "count",
    "commented",
)
FUNNEL_COLUMNS = ("day", *FUNNEL_DIMENSIONS, "step", "count")


def _local_day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, time.min), tz)
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tz)
    return start, end


class SessionDate(Func):
    """The date of a timestamp in the database session's time zone: on PostgreSQL,
    after SET LOCAL timezone, a plain cast. The same day as TruncDate, which names
    the zone on every row: at a million rows that costs about half a second more."""

    template = "(%(expressions)s)::date"
    output_field = DateField()


# The answers the score rollup counts; of them, COMMENTED (surveys.models) are those
# with a comment, an erased one included.
COUNTED = Q(held=False)


def score_counts(
    responses: QuerySet[Response], *, day: Func | None = None
) -> QuerySet[Response, dict[str, Any]]:
    """Answers per day answered, dimension and score: the rows of ScoreRollup.

    Read from the answers' copies of their invitation's dimensions, without a join.
    Answers held for review (they look automated) stay out until released.
    """
    return (
        responses.filter(COUNTED)
        .annotate(day=day or TruncDate("answered_at"))
        .values(*SCORE_COLUMNS[:-2])
        .annotate(count=Count("pk"), commented=Count("pk", filter=COMMENTED))
        .order_by()
    )


def step_counts(
    surveys: QuerySet[Survey], *, day: Func | None = None
) -> QuerySet[Survey, dict[str, Any]]:
    """Survey emails per day sent and dimension, one column per funnel step."""
    return (
        surveys.filter(sent_at__isnull=False)
        .annotate(day=day or TruncDate("sent_at"))
        .values("day", *FUNNEL_DIMENSIONS)
        .annotate(**{step.name: Count("pk", filter=step.condition) for step in FUNNEL_STEPS})
        .order_by()
    )


def quoted(*names: str) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


Statement = tuple[str, list[Any]]


def score_select(
    responses: QuerySet[Response], *, ordered: bool = False, day: Func | None = None
) -> Statement:
    """SELECT the score counts of these responses, in SCORE_COLUMNS order.

    ordered: in day order, so a report's date range is read from neighbouring pages
    (worth it for a full rebuild).
    """
    sql, params = score_counts(responses, day=day).query.sql_with_params()
    if ordered:  # sort the grouped rows by day only, not the raw rows by every key
        sql = f"SELECT * FROM ({sql}) AS score_counts ORDER BY 1"  # noqa: S608
    return sql, list(params)


def score_insert(
    responses: QuerySet[Response],
    *,
    ordered: bool = False,
    replacing: QuerySet[Any] | None = None,
    day: Func | None = None,
) -> list[Statement]:
    """INSERT ... SELECT the score counts of these responses (score_select).

    replacing: rollup rows to delete first (in the same statement on PostgreSQL).
    """
    sql, params = score_select(responses, ordered=ordered, day=day)
    table = connection.ops.quote_name(ScoreRollup._meta.db_table)
    insert = f"INSERT INTO {table} ({quoted(*SCORE_COLUMNS)}) {sql}"
    return _replacing(replacing, insert, params)


def funnel_select(
    surveys: QuerySet[Survey], *, ordered: bool = False, day: Func | None = None
) -> Statement:
    """SELECT one row per funnel step with a count, in FUNNEL_COLUMNS order, in one
    pass over the rows: each bucket's counts are computed once and unpivoted against
    the list of steps."""
    sql, params = step_counts(surveys, day=day).query.sql_with_params()
    keys = quoted("day", *FUNNEL_DIMENSIONS)
    order = " ORDER BY 1" if ordered else ""
    if connection.vendor == "postgresql":
        # LATERAL: the buckets are grouped once, then each gives its steps.
        pairs = ", ".join(f"(%s, {quoted(name)})" for name in STEP_NAMES)
        steps = f"CROSS JOIN LATERAL (VALUES {pairs}) AS steps (step, step_count)"
        unpivoted = f"SELECT {keys}, step, step_count FROM ({sql}) AS step_counts {steps}"  # noqa: S608
        params = [*params, *STEP_NAMES]
    else:
        count = " ".join(f"WHEN %s THEN {quoted(name)}" for name in STEP_NAMES)
        names = " UNION ALL ".join(["SELECT %s AS step"] * len(STEP_NAMES))
        unpivoted = (
            f"SELECT {keys}, steps.step, CASE steps.step {count} END AS step_count "  # noqa: S608
            f"FROM ({sql}) AS step_counts CROSS JOIN ({names}) AS steps"
        )
        params = [*STEP_NAMES, *params, *STEP_NAMES]
    select = (
        f"SELECT {keys}, step, step_count FROM ({unpivoted}) AS unpivoted "  # noqa: S608
        f"WHERE step_count > 0{order}"
    )
    return select, list(params)


def funnel_insert(
    surveys: QuerySet[Survey],
    *,
    ordered: bool = False,
    replacing: QuerySet[Any] | None = None,
    day: Func | None = None,
) -> list[Statement]:
    """INSERT ... SELECT the funnel counts of these surveys (funnel_select)."""
    sql, params = funnel_select(surveys, ordered=ordered, day=day)
    table = connection.ops.quote_name(InvitationRollup._meta.db_table)
    insert = f"INSERT INTO {table} ({quoted(*FUNNEL_COLUMNS)}) {sql}"
    return _replacing(replacing, insert, params)


def _replacing(replacing: QuerySet[Any] | None, insert: str, params: list[Any]) -> list[Statement]:
    """An INSERT after deleting `replacing`: one statement on PostgreSQL (a
    data-modifying WITH), two elsewhere."""
    if replacing is None:
        return [(insert, params)]
    delete_sql, delete_params = _delete_sql(replacing)
    if connection.vendor == "postgresql":
        return [(f"WITH replaced AS ({delete_sql}) {insert}", [*delete_params, *params])]
    return [(delete_sql, list(delete_params)), (insert, params)]


def _delete_sql(rows: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    where, params = rows.query.get_compiler(connection=connection).compile(rows.query.where)
    table = connection.ops.quote_name(rows.model._meta.db_table)
    return f"DELETE FROM {table} WHERE {where}", params  # noqa: S608


def execute(statements: list[Statement]) -> int:
    written = 0
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            written += cursor.rowcount
    return written


def _same_bucket(rows: QuerySet[Any], bucket: dict[str, Any], *, kind: bool) -> QuerySet[Any]:
    """The rows of one bucket (of one kind, for answers). Agent and team compare
    through COALESCE, which matches a missing one with one SQL shape, and keeps
    PostgreSQL from combining their big indexes with the date index: a day's rows
    are few, an agent's many."""
    if kind:
        rows = rows.filter(kind=bucket["kind"])
    return rows.annotate(
        bucket_agent=Coalesce("agent_id", 0), bucket_team=Coalesce("team_id", 0)
    ).filter(
        channel=bucket["channel"],
        category=bucket["category"],
        bucket_agent=bucket["agent"],
        bucket_team=bucket["team"],
    )


def _bucket_statements(bucket: dict[str, Any]) -> dict[str, list[Statement]]:
    """The statements that recompute one score bucket and one funnel bucket."""
    answers = Response.objects.filter(
        answered_at__gte=bucket["answered_from"], answered_at__lt=bucket["answered_to"]
    )
    sent = Survey.objects.filter(sent_at__gte=bucket["sent_from"], sent_at__lt=bucket["sent_to"])
    scores = ScoreRollup.objects.filter(day=bucket["answered_day"])
    steps = InvitationRollup.objects.filter(day=bucket["sent_day"])
    return {
        "scores": score_insert(
            _same_bucket(answers, bucket, kind=True),
            replacing=_same_bucket(scores, bucket, kind=True),
        ),
        "steps": funnel_insert(
            _same_bucket(sent, bucket, kind=False),
            replacing=_same_bucket(steps, bucket, kind=False),
        ),
    }


# Stand-ins for a bucket's values: the statements are compiled once with these, and
# each refresh swaps in its own values (building them with the ORM each time took
# longer than running them).
_STAND_INS: dict[str, Any] = {
    "kind": "\x00kind",
    "channel": "\x00channel",
    "category": "\x00category",
    "agent": -1_000_001,
    "team": -1_000_002,
    "answered_day": date(1901, 1, 1),
    "sent_day": date(1901, 1, 2),
    "answered_from": datetime(1901, 1, 3, tzinfo=UTC),
    "answered_to": datetime(1901, 1, 4, tzinfo=UTC),
    "sent_from": datetime(1901, 1, 5, tzinfo=UTC),
    "sent_to": datetime(1901, 1, 6, tzinfo=UTC),
}
_compiled: dict[tuple[str, str], dict[str, list[tuple[str, list[Any]]]]] = {}  # per backend, zone


def _refresh_statements(bucket: dict[str, Any]) -> dict[str, list[Statement]]:
    key = (connection.vendor, timezone.get_current_timezone_name())
    if key not in _compiled:
        _compiled[key] = _compile_with_stand_ins()
    return {
        part: [(sql, [param.value_for(bucket) for param in params]) for sql, params in stmts]
        for part, stmts in _compiled[key].items()
    }


def _adapters() -> dict[type, Any]:
    ops = connection.ops
    return {datetime: ops.adapt_datetimefield_value, date: ops.adapt_datefield_value}


@dataclass(frozen=True)
class _Param:
    """A statement parameter: a bucket value by name, or the same for every bucket
    (a time zone, a step name)."""

    name: str | None = None
    adapted: bool = False
    value: Any = None

    def value_for(self, bucket: dict[str, Any]) -> Any:
        if self.name is None:
            return self.value
        value = bucket[self.name]
        return _adapters()[type(value)](value) if self.adapted else value


def _compile_with_stand_ins() -> dict[str, list[tuple[str, list[_Param]]]]:
    """The bucket statements, each parameter either fixed or the name of a bucket
    value (found by the stand-in the ORM put there, as the database receives it)."""
    known: dict[str, _Param] = {}
    for name, value in _STAND_INS.items():
        known[repr(value)] = _Param(name=name)
        adapt = _adapters().get(type(value))
        if adapt is not None:
            known[repr(adapt(value))] = _Param(name=name, adapted=True)
    compiled = {
        part: [
            (sql, [known.get(repr(p), _Param(value=p)) for p in params]) for sql, params in stmts
        ]
        for part, stmts in _bucket_statements(_STAND_INS).items()
    }
    used = {p.name for stmts in compiled.values() for _sql, params in stmts for p in params}
    if not set(_STAND_INS) <= used:  # the ORM changed how it passes a value: fail loudly
        raise RuntimeError(f"rollup statements lost bucket values: {set(_STAND_INS) - used}")
    return compiled


def funnel_bucket(survey: Survey) -> tuple[Any, ...]:
    """The funnel bucket a sent survey counts in: its agent, team, channel and
    category, and the local day it was sent (what rollups_refresh recomputes)."""
    dimensions = (survey.agent_id or 0, survey.team_id or 0, survey.channel, survey.category)
    return (*dimensions, timezone.localdate(survey.sent_at))


def rollups_refresh(
    *,
    survey: Survey,
    invitation: Invitation | None = None,
    answered_at: datetime | None = None,
) -> None:
    """Recompute the funnel bucket of a survey and, given one of its questions, the
    score bucket of that question's answer.

    Each bucket (a day and the survey's agent, team, channel and category, and for
    answers the question's kind) is deleted and recomputed from the raw rows, so
    running it twice is harmless and two runs never double-count. answered_at: when
    an answer since deleted was given, so the score bucket it was in is recomputed
    without it.
    """
    if invitation is not None:
        if Invitation.response.is_cached(invitation):
            response = invitation.response
        else:
            response = Response.objects.filter(invitation=invitation).only("answered_at").first()
        if response is not None:
            answered_at = response.answered_at
    else:
        answered_at = None
    bucket: dict[str, Any] = {
        "agent": survey.agent_id or 0,
        "team": survey.team_id or 0,
        "channel": survey.channel,
        "category": survey.category,
    }
    dimensions = tuple(bucket.values())
    if invitation is not None:
        bucket["kind"] = invitation.kind
    for name, at in (("answered", answered_at), ("sent", survey.sent_at)):
        if at is not None:
            day = timezone.localdate(at)
            bucket[f"{name}_day"] = day
            bucket[f"{name}_from"], bucket[f"{name}_to"] = _local_day_bounds(day)
    statements = _refresh_statements({**_STAND_INS, **bucket})
    parts = [
        *(statements["scores"] if answered_at is not None else []),
        *(statements["steps"] if survey.sent_at is not None else []),
    ]
    if connection.vendor == "postgresql":
        _execute_at_once(parts, lock=_lock_key(dimensions))
    else:  # SQLite lets one writer in at a time
        with transaction.atomic():
            execute(parts)


def _lock_key(dimensions: tuple[Any, ...]) -> int:
    """A 64-bit advisory lock key for a bucket's dimensions."""
    digest = hashlib.blake2b(repr(("rollup", *dimensions)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _execute_at_once(statements: list[Statement], *, lock: int) -> None:
    """Run the statements in one round trip to PostgreSQL, as one transaction (or in
    the caller's), holding the advisory lock `lock` to its end.

    The lock makes two refreshes of the same bucket take turns: without it, the
    second one's delete would wait for the first one's rows, find them gone, and not
    see the rows the first one inserted, so the bucket would be stored twice. Each
    statement after the lock reads what committed before it.

    Rollups are derived data: a crash may lose this commit, never corrupt it, and
    the nightly rebuild redoes it, so a transaction of its own need not wait for the
    disk. A caller's transaction keeps its durable commit."""
    if not statements:
        return
    sqls = ["SELECT pg_advisory_xact_lock(%s)", *(sql for sql, _params in statements)]
    if not connection.in_atomic_block:
        sqls.insert(0, "SET LOCAL synchronous_commit = off")
    sql = "; ".join(sqls)
    with connection.cursor() as cursor:
        # The client binds the values, so several statements can go in one message.
        cursor.execute(sql, [lock, *(param for _sql, params in statements for param in params)])
