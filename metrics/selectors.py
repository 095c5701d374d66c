"""Reads of the metric rollups: exact counts per group and the scores from them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Sum

from surveys.models import Team

from . import formulas
from .models import InvitationRollup, ScoreRollup

GROUPS = ("agent", "team", "channel", "category", "day", "month")
METRICS = ("csat", "ces", "nps", "response_rate")
# Below this many answers a group's score is shown but marked as too few to compare.
MIN_ANSWERS = 30


@dataclass
class Counts:
    answers: int = 0
    positive: int = 0
    detractors: int = 0
    score_sum: int = 0
    delivered: int = 0
    answered: int = 0
    by_score: dict[int, int] = field(default_factory=dict)


def _group_key(row: dict[str, Any], group_by: str | None) -> Any:
    if group_by is None:
        return "all"
    if group_by in ("agent", "team"):
        return row[f"{group_by}_id"]
    if group_by == "month":
        return row["day"].strftime("%Y-%m")
    return row[group_by]


def _fields_for(group_by: str | None) -> list[str]:
    if group_by in ("agent", "team"):
        return [f"{group_by}_id"]
    if group_by in ("day", "month"):
        return ["day"]
    return [group_by] if group_by else []


def metric_counts(
    *, metric: str, start: date, end: date, group_by: str | None = None
) -> dict[Any, Counts]:
    """Exact counts per group for answers given (or invitations sent) from start to end."""
    groups: dict[Any, Counts] = defaultdict(Counts)
    if metric == "response_rate":
        rows = (
            InvitationRollup.objects.filter(day__gte=start, day__lte=end, kind="csat")
            .values(*_fields_for(group_by))
            .annotate(delivered=Sum("delivered"), answered=Sum("answered"))
            .order_by()
        )
        for row in rows:
            counts = groups[_group_key(row, group_by)]
            counts.delivered += row["delivered"]
            counts.answered += row["answered"]
        return dict(groups)
    rows = (
        ScoreRollup.objects.filter(day__gte=start, day__lte=end, kind=metric)
        .values(*_fields_for(group_by), "scale_points", "score")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for row in rows:
        counts = groups[_group_key(row, group_by)]
        n, score, scale = row["n"], row["score"], row["scale_points"]
        counts.answers += n
        counts.score_sum += score * n
        counts.by_score[score] = counts.by_score.get(score, 0) + n
        if formulas.is_positive(kind=metric, score=score, scale_points=scale):
            counts.positive += n
        elif metric == "nps" and formulas.is_detractor(score=score):
            counts.detractors += n
    return dict(groups)


def metric_summary(metric: str, counts: Counts) -> dict[str, Any]:
    """The score, its interval and the counts it comes from."""
    if metric == "response_rate":
        interval = formulas.wilson(counts.answered, counts.delivered)
        return {
            "delivered": counts.delivered,
            "answered": counts.answered,
            "score": formulas.percent(counts.answered, counts.delivered),
            "interval": [interval.low, interval.high] if interval else None,
        }
    if metric == "nps":
        passives = counts.answers - counts.positive - counts.detractors
        interval = formulas.nps_interval(
            promoters=counts.positive, passives=passives, detractors=counts.detractors
        )
        summary: dict[str, Any] = {
            "answers": counts.answers,
            "promoters": counts.positive,
            "passives": passives,
            "detractors": counts.detractors,
            "score": formulas.nps(
                promoters=counts.positive, passives=passives, detractors=counts.detractors
            ),
        }
    else:
        interval = formulas.wilson(counts.positive, counts.answers)
        label = "satisfied" if metric == "csat" else "easy"
        summary = {
            "answers": counts.answers,
            label: counts.positive,
            "score": formulas.percent(counts.positive, counts.answers),
        }
    summary["mean"] = formulas.mean(counts.score_sum, counts.answers)
    summary["interval"] = [interval.low, interval.high] if interval else None
    summary["too_few_to_compare"] = counts.answers < MIN_ANSWERS
    return summary


def group_labels(group_by: str | None, keys: list[Any]) -> dict[Any, str]:
    if group_by == "agent":
        users = get_user_model().objects.filter(pk__in=[k for k in keys if k])
        names = {u.pk: u.get_full_name() or u.email for u in users}
        return {k: names.get(k, "(no agent)") for k in keys}
    if group_by == "team":
        teams = dict(Team.objects.filter(pk__in=[k for k in keys if k]).values_list("pk", "name"))
        return {k: teams.get(k, "(no team)") for k in keys}
    return {k: str(k) if k not in ("", None) else "(none)" for k in keys}


def metric_table(
    *, metric: str, start: date, end: date, group_by: str | None = None
) -> list[dict[str, Any]]:
    counts = metric_counts(metric=metric, start=start, end=end, group_by=group_by)
    labels = group_labels(group_by, list(counts))
    table = [
        {"group": labels[key], "key": key, **metric_summary(metric, c)} for key, c in counts.items()
    ]
    return sorted(
        table, key=lambda row: str(row["key"]) if group_by in ("day", "month") else row["group"]
    )
