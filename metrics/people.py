"""Who needs help: each agent (or team) with their scores, answers, open and overdue
cases and the change against the previous period, sorted as the reader asks, low
scores marked in words, and groups with few answers listed apart, never ranked first
or last on their point value alone (METRICS.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext_lazy

from followups.models import FollowUp

from . import formulas
from .reports import GroupRow, compare_scores, group_table
from .selectors import METRICS, ReportFilters, Score, scores_from_counts

# The columns a reader may sort by: the four scores and three counts.
SORTS = (*METRICS, "answers", "open", "overdue")
PEOPLE = {"agent": gettext_lazy("Agents"), "team": gettext_lazy("Teams")}


@dataclass(frozen=True)
class PersonRow:
    """One agent or team: their row of scores, and what a lead acts on."""

    group: GroupRow
    answers: int  # every answer of the period (CSAT, CES and NPS)
    open: int  # cases open now
    overdue: int  # of those, not contacted in time
    change: formulas.Comparison | None  # CSAT against the period before
    low: frozenset[str]  # the metrics markedly below everyone's (interval under it)

    @property
    def few(self) -> bool:
        return self.group.scores["csat"].too_few


def low_metrics(scores: dict[str, Score], everyone: dict[str, Score]) -> frozenset[str]:
    """The metrics where the whole 95 % interval lies below everyone's score: low
    beyond doubt, not just unlucky."""
    low = set()
    for metric, score in scores.items():
        overall = everyone.get(metric)
        if score.interval is None or overall is None or overall.value is None:
            continue
        if score.interval.high < overall.value:
            low.add(metric)
    return frozenset(low)


def cases_by_group(dimension: str, *, now: datetime) -> dict[Any, tuple[int, int]]:
    """Open and overdue cases now, per owner (agent) or per the ticket's team."""
    key = "owner_id" if dimension == "agent" else "survey__team_id"
    rows = (
        FollowUp.objects.filter(status__in=FollowUp.OPEN_STATUSES)
        .values(key)
        .annotate(open=Count("pk"), overdue=Count("pk", filter=FollowUp.overdue_q(now)))
    )
    return {row[key]: (row["open"], row["overdue"]) for row in rows}


def people_rows(
    *,
    filters: ReportFilters,
    dimension: str,
    answers: dict[Any, dict[str, Any]],
    steps: dict[Any, dict[str, int]],
    before_answers: dict[Any, dict[str, Any]],
    before_steps: dict[Any, dict[str, int]],
    everyone: dict[str, Score],
    now: datetime,
) -> list[PersonRow]:
    """Each agent or team of the period, from the counts the dashboard read."""
    groups = scores_from_counts(answers, steps)
    before = scores_from_counts(before_answers, before_steps)
    cases = cases_by_group(dimension, now=now)
    rows = []
    for group in group_table(filters, dimension, groups):
        earlier = before.get(group.key, {}).get("csat")
        csat = group.scores["csat"]
        change = (
            compare_scores(earlier, csat)
            if earlier is not None and earlier.denominator and csat.denominator
            else None
        )
        open_cases, overdue = cases.get(group.key, (0, 0))
        rows.append(
            PersonRow(
                group=group,
                answers=sum(group.scores[m].denominator for m in ("csat", "ces", "nps")),
                open=open_cases,
                overdue=overdue,
                change=change,
                low=low_metrics(group.scores, everyone),
            )
        )
    return rows


def people_sorted(
    rows: list[PersonRow], *, sort: str, descending: bool
) -> tuple[list[PersonRow], list[PersonRow]]:
    """The rows in the order asked for, and apart, sorted the same way, those with
    few answers: a score from a handful of answers is not ranked among the others."""

    def value(row: PersonRow) -> float:
        if sort in METRICS:
            score = row.group.scores[sort]
            return -1e9 if score.value is None else score.value
        return float(getattr(row, sort))

    def key(row: PersonRow) -> tuple[float, str]:
        number = value(row)
        return (-number if descending else number, row.group.label.lower())

    ranked = sorted((r for r in rows if not _few_for(r, sort)), key=key)
    apart = sorted((r for r in rows if _few_for(r, sort)), key=key)
    return ranked, apart


def _few_for(row: PersonRow, sort: str) -> bool:
    """Whether the row's place in this order would rest on few answers."""
    metric = sort if sort in METRICS else "csat"
    return row.group.scores[metric].too_few


def sort_of(params: dict[str, str]) -> tuple[str, bool]:
    """The column and direction from the page's query (lowest CSAT first by default:
    who needs help most)."""
    sort = params.get("sort", "csat")
    if sort not in SORTS:
        sort = "csat"
    default_descending = sort in ("open", "overdue", "answers")
    order = params.get("order", "")
    descending = order == "desc" if order in ("asc", "desc") else default_descending
    return sort, descending
