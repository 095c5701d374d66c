"""The monthly tracker: each calendar month's scores, service metrics and business
figures (customer retention, churn, CAC, CLV), with its charts: reads only.

A month's business figures put through the formulas (business_values) are here too:
the business figures page and its export show them as well.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from surveys.models import Ticket

from . import formulas
from .charts import Chart, Point, Series, line_chart
from .models import BusinessFigures, InvitationRollup, ScoreRollup
from .reports import group_scores, period_filters, period_starts, score_point, tickets_url
from .selectors import METRIC_LABELS, METRICS, ReportFilters, Score, scores_by_group
from .tickets import ServiceMetrics, service_by_month


def business_values(figures: BusinessFigures) -> dict[str, Any]:
    """A month's figures put through metrics.formulas: retention and churn rates, the
    customers lost, CAC and CLV (None where a formula has nothing to divide by)."""
    cac = formulas.cac(spend=figures.sales_marketing_spend, new=figures.customers_new)
    counts = {
        "start": figures.customers_start,
        "end": figures.customers_end,
        "new": figures.customers_new,
    }
    return {
        "crr": formulas.crr(**counts),
        "churn": formulas.churn_rate(**counts),
        "lost": figures.customers_start - (figures.customers_end - figures.customers_new),
        "cac": cac,
        "clv": formulas.clv(
            yearly_revenue=figures.yearly_revenue_per_customer,
            years=figures.customer_years,
            cac=cac,
        ),
    }


def business_rows(
    figures: Iterable[BusinessFigures],
) -> list[tuple[BusinessFigures, dict[str, Any]]]:
    return [(f, business_values(f)) for f in figures]


@dataclass(frozen=True)
class MonthRow:
    month: date
    scores: dict[str, Score]
    service: ServiceMetrics | None
    business: BusinessFigures | None

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")

    @property
    def business_values(self) -> dict[str, Any]:
        return business_values(self.business) if self.business else {}


def month_span(last: date, months: int = 12) -> ReportFilters:
    """The calendar months ending with the month of `last` (up to `last`)."""
    first = last.replace(day=1)
    for _step in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return ReportFilters(start=first, end=last)


def monthly_span(filters: ReportFilters) -> ReportFilters:
    """The months the monthly tracker shows for `filters`: up to twelve, ending with
    the month of its end date and starting with the first of them that has surveys,
    answers or tickets (a new team's report does not open on empty months), with its
    team, agent, channel and category."""
    span = month_span(filters.end)
    first = first_month_with_data(start=span.start, end=span.end) or filters.end.replace(day=1)
    return ReportFilters(start=first, end=span.end).narrowed(
        team=filters.team, agent=filters.agent, channel=filters.channel, category=filters.category
    )


def first_month_with_data(*, start: date, end: date) -> date | None:
    """The first calendar month from `start` to `end` with a survey sent, an answer or
    a ticket created."""
    days = [
        model.objects.filter(day__gte=start, day__lte=end).aggregate(first=Min("day"))["first"]
        for model in (InvitationRollup, ScoreRollup)
    ]
    since, until = _day_start(start), _day_start(end + timedelta(days=1))
    created = Ticket.objects.filter(created_at__gte=since, created_at__lt=until).aggregate(
        first=Min("created_at")
    )["first"]
    if created is not None:
        days.append(timezone.localdate(created))
    found = [day for day in days if day is not None]
    return min(found).replace(day=1) if found else None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def monthly_build(*, filters: ReportFilters) -> dict[str, Any]:
    """The month-by-month tracker, the volume chart and this month's formulas."""
    scores = scores_by_group(filters=filters, group_by="month")
    service = service_by_month(filters=filters)
    business = {
        figures.month.replace(day=1): figures
        for figures in BusinessFigures.objects.filter(
            month__gte=filters.start, month__lte=filters.end
        )
    }
    months = period_starts(filters, "month")
    rows = [
        MonthRow(
            month=month,
            scores=group_scores(scores, month),
            service=service.get(month),
            business=business.get(month),
        )
        for month in months
    ]
    return {
        "filters": filters,
        "rows": rows,
        "current": rows[-1],
        "current_filters": period_filters(filters, "month", months[-1]),
        "volume_chart": volume_chart(filters, months, service),
        "score_chart": monthly_score_chart(filters, rows),
        "metric_order": METRICS,
    }


def volume_chart(
    filters: ReportFilters, months: list[date], service: dict[date, ServiceMetrics]
) -> Chart:
    """Tickets created each month, a line per category, each point linking to the tickets."""
    categories = sorted({c for m in service.values() for c in m.by_category})
    series = []
    for category in categories:
        # "(none)" is the key of tickets without a category (metrics.tickets): shown translated.
        name = _("(none)") if category == "(none)" else category
        points = []
        for month in months:
            metrics = service.get(month)
            n = metrics.by_category.get(category, 0) if metrics else 0
            scoped = period_filters(filters, "month", month)
            href = tickets_url(scoped, category="" if category == "(none)" else category)
            label = ngettext(
                "%(count)d %(category)s tickets", "%(count)d %(category)s tickets", n
            ) % {"count": n, "category": name}
            points.append(Point(value=n, label=label, href=href))
        series.append(Series(name, points))
    return line_chart(
        title=_("Tickets created per month, by category"),
        x_labels=[m.strftime("%Y-%m") for m in months],
        series=series,
        unit=_("tickets"),
    )


def monthly_score_chart(filters: ReportFilters, rows: list[MonthRow]) -> Chart:
    series = []
    for metric in ("csat", "ces", "response_rate"):
        points = [
            score_point(row.scores[metric], period_filters(filters, "month", row.month))
            for row in rows
        ]
        series.append(Series(f"{METRIC_LABELS[metric]} %", points))
    return line_chart(
        title=_("CSAT, CES and response rate per month"),
        x_labels=[row.label for row in rows],
        series=series,
        unit="%",
        y_range=(0, 100),
    )
