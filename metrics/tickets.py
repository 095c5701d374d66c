"""Service metrics read from the tickets themselves (METRICS.md, "Service metrics").

Every figure is over the tickets created in the period (the filters' dates), so its
numerator and denominator are the same tickets: resolution rate = those solved /
those created, FCR and resolution time over those solved, first response time over
those answered by an agent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from surveys.models import Ticket

from . import formulas
from .selectors import ReportFilters

SOLVED = Q(status__in=[Ticket.Status.SOLVED, Ticket.Status.CLOSED], solved_at__isnull=False)
ONE_CONTACT = SOLVED & Q(agent_replies=1, reopens=0)


@dataclass(frozen=True)
class ServiceMetrics:
    tickets: int
    solved: int
    one_contact: int
    first_response: formulas.Durations
    resolution: formulas.Durations
    by_channel: dict[str, int]
    by_category: dict[str, int]

    @property
    def resolution_rate(self) -> float | None:
        return formulas.resolution_rate(solved=self.solved, tickets=self.tickets)

    @property
    def fcr(self) -> float | None:
        return formulas.fcr(one_contact_not_reopened=self.one_contact, solved=self.solved)

    @property
    def channel_shares(self) -> dict[str, float]:
        return formulas.shares(self.by_channel)


def tickets_matching(*, filters: ReportFilters) -> QuerySet[Ticket]:
    """Tickets created in the period, in the filters' team, agent, channel, category."""
    start, end = filters.bounds()
    return Ticket.objects.filter(
        created_at__gte=start, created_at__lt=end, **filters.lookups(agent="assignee_id")
    )


def _seconds(pairs: Any) -> list[float]:
    return [(later - earlier).total_seconds() for earlier, later in pairs]


def service_metrics(*, filters: ReportFilters) -> ServiceMetrics:
    tickets = tickets_matching(filters=filters)
    totals = tickets.aggregate(
        tickets=Count("pk"),
        solved=Count("pk", filter=SOLVED),
        one_contact=Count("pk", filter=ONE_CONTACT),
    )
    first = tickets.filter(first_response_at__isnull=False).values_list(
        "created_at", "first_response_at"
    )
    solved = tickets.filter(SOLVED).values_list("created_at", "solved_at")
    return ServiceMetrics(
        tickets=totals["tickets"],
        solved=totals["solved"],
        one_contact=totals["one_contact"],
        first_response=formulas.durations(_seconds(first)),
        resolution=formulas.durations(_seconds(solved)),
        by_channel=_counts_by(tickets, "channel"),
        by_category=_counts_by(tickets, "category"),
    )


def _counts_by(tickets: QuerySet[Ticket], name: str) -> dict[str, int]:
    rows = tickets.values_list(name).annotate(n=Count("pk")).order_by("-n", name)
    return {value or "(none)": n for value, n in rows}


def service_by_month(*, filters: ReportFilters) -> dict[date, ServiceMetrics]:
    """Service metrics per calendar month (local time) of the tickets' creation."""
    tickets = tickets_matching(filters=filters).annotate(month=TruncMonth("created_at"))
    totals = {
        _as_date(row["month"]): row
        for row in tickets.values("month")
        .annotate(
            tickets=Count("pk"),
            solved=Count("pk", filter=SOLVED),
            one_contact=Count("pk", filter=ONE_CONTACT),
        )
        .order_by()
    }
    per_month: dict[str, dict[date, Any]] = {
        "channel": defaultdict(dict),
        "category": defaultdict(dict),
    }
    for name, by_month in per_month.items():
        for month, value, n in (
            tickets.values_list("month", name).annotate(n=Count("pk")).order_by()
        ):
            by_month[_as_date(month)][value or "(none)"] = n
    answered = tickets.filter(first_response_at__isnull=False)
    first = _durations_by_month(answered, "created_at", "first_response_at")
    solved = _durations_by_month(tickets.filter(SOLVED), "created_at", "solved_at")
    empty = formulas.durations([])
    return {
        month: ServiceMetrics(
            tickets=row["tickets"],
            solved=row["solved"],
            one_contact=row["one_contact"],
            first_response=first.get(month, empty),
            resolution=solved.get(month, empty),
            by_channel=per_month["channel"].get(month, {}),
            by_category=per_month["category"].get(month, {}),
        )
        for month, row in sorted(totals.items())
    }


def _as_date(value: date | datetime) -> date:
    return timezone.localtime(value).date() if isinstance(value, datetime) else value


class _PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont: interpolates between the two nearest ranks, as
    formulas.percentile does."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _seconds_between(start: str, end: str) -> Func:
    return Func(
        ExpressionWrapper(F(end) - F(start), output_field=DurationField()),
        template="EXTRACT(EPOCH FROM %(expressions)s)",
        output_field=FloatField(),
    )


def _durations_by_month(
    tickets: QuerySet[Ticket], start: str, end: str
) -> dict[date, formulas.Durations]:
    """end - start per month of `tickets` (annotated with their month): in SQL on
    PostgreSQL (a year of tickets is too many rows to bring over), else from the rows."""
    if connection.vendor == "postgresql":
        seconds = _seconds_between(start, end)
        rows = (
            tickets.values("month")
            .annotate(
                n=Count("pk"),
                mean=Avg(seconds),
                median=_PercentileCont(seconds, fraction=0.5),
                p90=_PercentileCont(seconds, fraction=0.9),
            )
            .order_by()
        )
        return {
            _as_date(r["month"]): formulas.Durations(r["n"], r["mean"], r["median"], r["p90"])
            for r in rows
        }
    by_month: dict[date, list[float]] = defaultdict(list)
    for earlier, later in tickets.values_list(start, end).iterator(chunk_size=5000):
        month = timezone.localtime(earlier).date().replace(day=1)
        by_month[month].append((later - earlier).total_seconds())
    return {month: formulas.durations(values) for month, values in by_month.items()}
