"""Reads of the metric rollups: exact counts per group and the scores from them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from surveys import scoring
from surveys.models import Agent, Category, Team

from . import formulas
from .funnel import STEP_NAMES
from .models import InvitationRollup, ScoreRollup, Target

GROUPS = ("agent", "team", "channel", "category", "day", "week", "month")
DIMENSIONS = ("team", "agent", "channel", "category")
KINDS = ("csat", "ces", "nps")
METRICS = (*KINDS, "response_rate")
# What pages call each metric, in the reader's language.
METRIC_LABELS = {
    "csat": "CSAT",
    "ces": "CES",
    "nps": "NPS",
    "response_rate": gettext_lazy("Response rate"),
}
# The same names in English, for the exports (they stay English and stable).
METRIC_NAMES = {"csat": "CSAT", "ces": "CES", "nps": "NPS", "response_rate": "Response rate"}
# The positive answers of each kind: a page's words, and the API's keys (never translated).
POSITIVE_LABELS = {
    "csat": gettext_lazy("satisfied"),
    "ces": gettext_lazy("easy"),
    "nps": gettext_lazy("promoters"),
}
POSITIVE_KEYS = {"csat": "satisfied", "ces": "easy", "nps": "promoters"}
# Below this many answers (FEW_ANSWERS, METRICS.md) a group's score is shown but marked
# as having few answers, and not ranked on its point value alone.
MIN_ANSWERS = settings.FEW_ANSWERS
# Every scale a question can be asked on (NPS is 0-10, stored as 11 points).
SCALES = {"csat": (3, 5, 7), "ces": (5, 7), "nps": (11,)}


@dataclass(frozen=True)
class ReportFilters:
    """What a report looks at: a date range (inclusive) and optional dimensions."""

    start: date
    end: date
    team: int | None = None
    agent: int | None = None
    channel: str | None = None
    category: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> ReportFilters:
        """The period of equal length just before this one, same dimensions."""
        return replace(
            self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1)
        )

    def narrowed(self, **dimensions: Any) -> ReportFilters:
        return replace(self, **dimensions)

    def lookups(self, prefix: str = "", agent: str = "agent_id") -> dict[str, Any]:
        """The dimensions that are set, as field lookups: team_id, agent_id, channel,
        category, each after `prefix` (e.g. "invitation__survey__"); `agent` names the agent's
        field where it is not agent_id (a ticket's assignee_id)."""
        names = {"team": "team_id", "agent": agent, "channel": "channel", "category": "category"}
        return {
            prefix + names[name]: getattr(self, name)
            for name in DIMENSIONS
            if getattr(self, name) is not None
        }

    def rollup_q(self) -> Q:
        return Q(day__gte=self.start, day__lte=self.end, **self.lookups())

    def params(self) -> dict[str, str]:
        """As query parameters, for links and exports."""
        out = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        for name in DIMENSIONS:
            value = getattr(self, name)
            if value is not None:
                out[name] = str(value)
        return out

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as aware datetimes [start, end) in the site's time zone."""
        tz = timezone.get_current_timezone()
        return (
            timezone.make_aware(datetime.combine(self.start, time.min), tz),
            timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min), tz),
        )


@dataclass
class Counts:
    """Exact answer counts of one kind in one group."""

    kind: str
    answers: int = 0
    positive: int = 0
    detractors: int = 0
    score_sum: int = 0
    commented: int = 0
    by_score: dict[int, int] = field(default_factory=dict)

    def add(self, *, scale_points: int, score: int, n: int, commented: int = 0) -> None:
        self.answers += n
        self.score_sum += score * n
        self.commented += commented
        self.by_score[score] = self.by_score.get(score, 0) + n
        if scoring.is_positive(kind=self.kind, score=score, scale_points=scale_points):
            self.positive += n
        elif self.kind == "nps" and scoring.is_detractor(score=score):
            self.detractors += n

    def merge(self, other: Counts) -> None:
        """Add another group's counts of the same kind (a rolling week of days)."""
        self.answers += other.answers
        self.positive += other.positive
        self.detractors += other.detractors
        self.score_sum += other.score_sum
        self.commented += other.commented
        for score, n in other.by_score.items():
            self.by_score[score] = self.by_score.get(score, 0) + n

    @property
    def passives(self) -> int:
        return self.answers - self.positive - self.detractors if self.kind == "nps" else 0


@dataclass(frozen=True)
class Score:
    """One metric of one group: the value, its 95 % interval and the exact counts."""

    metric: str
    value: float | None
    interval: formulas.Interval | None
    numerator: int
    denominator: int
    mean: float | None = None
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def too_few(self) -> bool:
        return self.metric != "response_rate" and self.denominator < MIN_ANSWERS

    @property
    def formula(self) -> str:
        """How the value is computed, with its inputs, e.g. '81.3 % = 523 / 643', in the
        reader's language (the API and the exports use formula_en)."""
        if self.value is None:
            if self.metric == "response_rate":
                return _("no delivered yet")
            return _("no answers yet")
        if self.metric == "nps":
            n = self.denominator
            return _(
                "NPS %(nps)s = %(promoters_percent)s %% promoters (%(promoters)s) - "
                "%(detractors_percent)s %% detractors (%(detractors)s) of %(answers)s answers"
            ) % {
                "nps": _figure(self.value, "+.1f"),
                "promoters_percent": _figure(self.promoters * 100 / n, ".1f"),
                "promoters": _figure(self.promoters, "d"),
                "detractors_percent": _figure(self.detractors * 100 / n, ".1f"),
                "detractors": _figure(self.detractors, "d"),
                "answers": _figure(n, "d"),
            }
        return _(
            "%(value)s %% = %(numerator)s %(numerator_label)s / "
            "%(denominator)s %(denominator_label)s"
        ) % {
            "value": _figure(self.value, ".1f"),
            "numerator": _figure(self.numerator, "d"),
            "numerator_label": self.numerator_label,
            "denominator": _figure(self.denominator, "d"),
            "denominator_label": self.denominator_label,
        }

    @property
    def formula_en(self) -> str:
        """The formula in English, for the API and the exports."""
        with translation.override("en"):
            return self.formula

    @property
    def numerator_label(self) -> str:
        if self.metric == "response_rate":
            return _("answered")
        return str(POSITIVE_LABELS[self.metric])

    @property
    def denominator_label(self) -> str:
        return _("delivered") if self.metric == "response_rate" else _("answers")


def _figure(value: float, spec: str) -> str:
    """A number as format(value, spec) writes it, with the reader's decimal mark."""
    text = format(value, spec)
    sign = text[0] if text[0] in "+-" else ""
    return sign + number_format(text.lstrip("+-"))


def score_of(counts: Counts | None, kind: str) -> Score:
    counts = counts or Counts(kind)
    mean = formulas.mean(counts.score_sum, counts.answers)
    if kind == "nps":
        split = {
            "promoters": counts.positive,
            "passives": counts.passives,
            "detractors": counts.detractors,
        }
        return Score(
            metric=kind,
            value=formulas.nps(**split),
            interval=formulas.nps_interval(**split),
            numerator=counts.positive,
            denominator=counts.answers,
            mean=mean,
            **split,
        )
    return Score(
        metric=kind,
        value=formulas.percent(counts.positive, counts.answers),
        interval=formulas.wilson(counts.positive, counts.answers),
        numerator=counts.positive,
        denominator=counts.answers,
        mean=mean,
    )


def rate_of(steps: dict[str, int] | None) -> Score:
    steps = steps or {}
    answered, delivered = steps.get("answered", 0), steps.get("delivered", 0)
    return Score(
        metric="response_rate",
        value=formulas.response_rate(answered=answered, delivered=delivered),
        interval=formulas.wilson(answered, delivered),
        numerator=answered,
        denominator=delivered,
    )


# --- Counting ---------------------------------------------------------------------------


def _group_fields(group_by: str | None) -> tuple[dict[str, Any], list[str]]:
    """Annotations and value names that group rollup rows by a dimension or period."""
    if group_by is None:
        return {}, []
    if group_by in ("agent", "team"):
        return {}, [f"{group_by}_id"]
    if group_by == "week":
        return {"period": TruncWeek("day")}, ["period"]
    if group_by == "month":
        return {"period": TruncMonth("day")}, ["period"]
    return {}, [group_by]


def _key(row: dict[str, Any], names: list[str]) -> Any:
    if not names:
        return "all"
    value = row[names[0]]
    return value.date() if isinstance(value, datetime) else value


def score_counts(
    *, filters: ReportFilters, group_by: str | None = None, kinds: tuple[str, ...] = KINDS
) -> dict[Any, dict[str, Counts]]:
    """Exact answer counts per group and kind, for answers given in the period."""
    annotations, names = _group_fields(group_by)
    rows = (
        ScoreRollup.objects.filter(filters.rollup_q(), kind__in=kinds)
        .annotate(**annotations)
        .values(*names, "kind", "scale_points", "score")
        .annotate(n=Sum("count"), commented=Sum("commented"))
        .order_by()
    )
    groups: dict[Any, dict[str, Counts]] = defaultdict(dict)
    for row in rows:
        kind = row["kind"]
        counts = groups[_key(row, names)].setdefault(kind, Counts(kind))
        counts.add(
            scale_points=row["scale_points"],
            score=row["score"],
            n=row["n"],
            commented=row["commented"],
        )
    return dict(groups)


def step_counts(
    *, filters: ReportFilters, group_by: str | None = None
) -> dict[Any, dict[str, int]]:
    """Survey emails per funnel step and group, for surveys sent in the period."""
    annotations, names = _group_fields(group_by)
    rows = (
        InvitationRollup.objects.filter(filters.rollup_q())
        .annotate(**annotations)
        .values(*names, "step")
        .annotate(n=Sum("count"))
        .order_by()
    )
    groups: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STEP_NAMES, 0))
    for row in rows:
        groups[_key(row, names)][row["step"]] = row["n"]
    return dict(groups)


_PERIOD_SQL = {
    "day": "day",
    "week": "CAST(date_trunc('week', day) AS date)",
    "month": "CAST(date_trunc('month', day) AS date)",
}


def _grouping_sql(
    filters: ReportFilters, group_bys: tuple[str | None, ...]
) -> tuple[list[str], str, list[Any]]:
    """The grouping expressions and WHERE clause of one GROUPING SETS query."""
    expressions = [
        _PERIOD_SQL.get(g) or (f"{g}_id" if g in ("agent", "team") else str(g))
        for g in group_bys
        if g is not None
    ]
    where, params = ["day >= %s", "day <= %s"], [filters.start, filters.end]
    for column, value in filters.lookups().items():
        where.append(f"{column} = %s")
        params.append(value)
    return expressions, " AND ".join(where), params


def grouped_counts(
    *, filters: ReportFilters, group_bys: tuple[str | None, ...]
) -> tuple[
    dict[str | None, dict[Any, dict[str, Counts]]], dict[str | None, dict[Any, dict[str, int]]]
]:
    """Answer and funnel counts for several groupings at once: {group_by: {key: ...}}.

    On PostgreSQL each rollup table is read once with GROUPING SETS; elsewhere one
    query per grouping.
    """
    if connection.vendor != "postgresql":
        answers = {g: score_counts(filters=filters, group_by=g) for g in group_bys}
        steps = {g: step_counts(filters=filters, group_by=g) for g in group_bys}
        return answers, steps
    expressions, where, params = _grouping_sql(filters, group_bys)
    keys = ", ".join(expressions)
    sets = ", ".join(
        [f"({expr}, {{extra}})" for expr in expressions]
        + (["({extra})"] if None in group_bys else [])
    )
    grouping = f"GROUPING({keys})" if keys else "0"
    answers: dict[str | None, dict[Any, dict[str, Counts]]] = {g: {} for g in group_bys}
    steps: dict[str | None, dict[Any, dict[str, int]]] = {g: {} for g in group_bys}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {grouping}, {keys + ', ' if keys else ''}kind, scale_points, score, "  # noqa: S608
            f"SUM(count), SUM(commented) FROM {ScoreRollup._meta.db_table} WHERE {where} "
            f"GROUP BY GROUPING SETS ({sets.format(extra='kind, scale_points, score')})",
            params,
        )
        for row in cursor.fetchall():
            group_by, key = _grouping_key(row, group_bys)
            kind = row[len(expressions) + 1]
            counts = answers[group_by].setdefault(key, {}).setdefault(kind, Counts(kind))
            scale, score, n, commented = row[len(expressions) + 2 :]
            counts.add(scale_points=scale, score=score, n=n, commented=commented)
        cursor.execute(
            f"SELECT {grouping}, {keys + ', ' if keys else ''}step, SUM(count) "  # noqa: S608
            f"FROM {InvitationRollup._meta.db_table} WHERE {where} "
            f"GROUP BY GROUPING SETS ({sets.format(extra='step')})",
            params,
        )
        for row in cursor.fetchall():
            group_by, key = _grouping_key(row, group_bys)
            step, n = row[len(expressions) + 1 :]
            steps[group_by].setdefault(key, dict.fromkeys(STEP_NAMES, 0))[step] = n
    return answers, steps


def _grouping_key(
    row: tuple[Any, ...], group_bys: tuple[str | None, ...]
) -> tuple[str | None, Any]:
    """Which grouping a GROUPING SETS row belongs to (its one non-aggregated key)."""
    named = [g for g in group_bys if g is not None]
    mask = row[0]
    for index, group_by in enumerate(named):
        if not mask & (1 << (len(named) - 1 - index)):
            return group_by, row[1 + index]
    return None, "all"


def scores_by_group(
    *, filters: ReportFilters, group_by: str | None = None
) -> dict[Any, dict[str, Score]]:
    """Every metric per group: CSAT, CES, NPS and response rate."""
    scores = scores_from_counts(
        score_counts(filters=filters, group_by=group_by),
        step_counts(filters=filters, group_by=group_by),
    )
    return {key: scores[key] for key in sorted(scores, key=_sort_key)}


def scores_from_counts(
    answers: dict[Any, dict[str, Counts]], steps: dict[Any, dict[str, int]]
) -> dict[Any, dict[str, Score]]:
    """Every metric per group key, from answer and funnel counts (unsorted)."""
    return {
        key: {
            **{kind: score_of(answers.get(key, {}).get(kind), kind) for kind in KINDS},
            "response_rate": rate_of(steps.get(key)),
        }
        for key in set(answers) | set(steps)
    }


def _sort_key(key: Any) -> tuple[int, str]:
    return (key is None or key == "", str(key))


def group_labels(group_by: str | None, keys: list[Any]) -> dict[Any, str]:
    if group_by == "agent":
        users = get_user_model().objects.filter(pk__in=[k for k in keys if k])
        names = {u.pk: u.get_full_name() or u.email for u in users}
        return {k: names.get(k, _("(no agent)")) for k in keys}
    if group_by == "team":
        teams = dict(Team.objects.filter(pk__in=[k for k in keys if k]).values_list("pk", "name"))
        return {k: teams.get(k, _("(no team)")) for k in keys}
    if group_by == "month":
        return {k: k.strftime("%Y-%m") if isinstance(k, date) else str(k) for k in keys}
    if group_by == "category":
        names = Category.names()
        return {k: names.get(k, k) if k not in ("", None) else _("(none)") for k in keys}
    return {k: str(k) if k not in ("", None) else _("(none)") for k in keys}


# --- The API's table --------------------------------------------------------------------


def metric_summary(score: Score) -> dict[str, Any]:
    """A score as the API shows it: the counts, the value and its interval."""
    if score.metric == "response_rate":
        summary: dict[str, Any] = {"delivered": score.denominator, "answered": score.numerator}
    elif score.metric == "nps":
        summary = {
            "answers": score.denominator,
            "promoters": score.promoters,
            "passives": score.passives,
            "detractors": score.detractors,
        }
    else:
        summary = {"answers": score.denominator, POSITIVE_KEYS[score.metric]: score.numerator}
    summary["score"] = score.value
    if score.metric != "response_rate":
        summary["mean"] = score.mean
    summary["interval"] = [score.interval.low, score.interval.high] if score.interval else None
    summary["too_few_to_compare"] = score.too_few
    summary["formula"] = score.formula_en
    return summary


def metric_table(
    *, metric: str, filters: ReportFilters, group_by: str | None = None
) -> list[dict[str, Any]]:
    """One metric per group, with its exact counts (the API's /metrics)."""
    if metric == "response_rate":
        steps = step_counts(filters=filters, group_by=group_by)
        scores = {key: rate_of(s) for key, s in steps.items()}
    else:
        answers = score_counts(filters=filters, group_by=group_by, kinds=(metric,))
        scores = {key: score_of(c.get(metric), metric) for key, c in answers.items()}
    with translation.override("en"):  # the API stays English
        labels = group_labels(group_by, list(scores))
    table = [
        {"group": labels[key], "key": key, **metric_summary(score)} for key, score in scores.items()
    ]
    periodic = group_by in ("day", "week", "month")
    return sorted(table, key=lambda row: str(row["key"]) if periodic else row["group"])


def targets_for(filters: ReportFilters) -> dict[str, float]:
    """The target of each metric for what the report looks at: the team's own (the
    filtered team, or the filtered agent's), else everyone's."""
    team = filters.team
    if team is None and filters.agent is not None:
        team = Agent.objects.filter(user_id=filters.agent).values_list("team_id", flat=True).first()
    wanted = Q(team__isnull=True) | Q(team_id=team) if team else Q(team__isnull=True)
    rows = Target.objects.filter(wanted)
    found: dict[str, float] = {}
    for row in sorted(rows, key=lambda r: r.team_id is not None):  # a team's own wins
        found[row.metric] = float(row.value)
    return found
