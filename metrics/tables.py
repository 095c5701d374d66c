"""Every report table as a header and rows of exact values, for the CSV/XLSX exports.

The exports stay English whatever the reader's language: each table is built with
English active, so its labels, formulas and column names are stable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from . import formulas, monthly, reports
from .models import BusinessFigures
from .responses import comments_latest
from .selectors import KINDS, METRIC_NAMES, METRICS, ReportFilters, Score, score_counts
from .tickets import service_metrics

Rows = list[tuple[Any, ...]]


def _score_header(metric: str) -> list[str]:
    if metric == "response_rate":
        return ["response_rate", "response_rate_low", "response_rate_high", "answered", "delivered"]
    positive = {"csat": "satisfied", "ces": "easy", "nps": "promoters"}[metric]
    extra = ["passives", "detractors"] if metric == "nps" else []
    return [
        metric,
        f"{metric}_low",
        f"{metric}_high",
        f"{metric}_{positive}",
        *(f"{metric}_{e}" for e in extra),
        f"{metric}_answers",
        f"{metric}_mean",
        f"{metric}_too_few",
    ]


def _score_cells(score: Score) -> list[Any]:
    low, high = (score.interval.low, score.interval.high) if score.interval else (None, None)
    if score.metric == "response_rate":
        return [score.value, low, high, score.numerator, score.denominator]
    extra = [score.passives, score.detractors] if score.metric == "nps" else []
    return [
        score.value,
        low,
        high,
        score.numerator,
        *extra,
        score.denominator,
        score.mean,
        score.too_few,
    ]


SCORES_HEADER = [h for metric in METRICS for h in _score_header(metric)]


def _scores(scores: dict[str, Score]) -> list[Any]:
    return [cell for metric in METRICS for cell in _score_cells(scores[metric])]


def headline_table(filters: ReportFilters) -> tuple[list[str], Rows]:
    header = [
        "metric",
        "period_from",
        "period_to",
        "value",
        "low",
        "high",
        "numerator",
        "denominator",
        "previous_value",
        "change",
        "p_value",
        "formula",
    ]
    rows = []
    for line in reports.headlines(filters):
        score, comparison = line.score, line.comparison
        low, high = (score.interval.low, score.interval.high) if score.interval else (None, None)
        rows.append((
            METRIC_NAMES[line.metric], filters.start, filters.end, score.value, low, high,
            score.numerator, score.denominator, line.previous.value, line.change,
            comparison.p_value if comparison else None, score.formula_en,
        ))  # fmt: skip
    return header, rows


def _group_table(dimension: str) -> Callable[[ReportFilters], tuple[list[str], Rows]]:
    def build(filters: ReportFilters) -> tuple[list[str], Rows]:
        rows = [
            (row.label, *_scores(row.scores)) for row in reports.group_table(filters, dimension)
        ]
        return [dimension, *SCORES_HEADER], rows

    return build


def funnel_table(filters: ReportFilters) -> tuple[list[str], Rows]:
    rows = [(r.label, r.count, r.share_of_sent) for r in reports.funnel(filters)]
    return ["step", "invitations", "percent_of_sent"], rows


def distribution_table(filters: ReportFilters) -> tuple[list[str], Rows]:
    counts = score_counts(filters=filters).get("all", {})
    rows = [
        (kind, score, n, formulas.percent(n, counts[kind].answers))
        for kind in KINDS
        if kind in counts
        for score, n in sorted(counts[kind].by_score.items())
    ]
    return ["kind", "score", "answers", "percent"], rows


def trend_table(filters: ReportFilters) -> tuple[list[str], Rows]:
    shares, nps = reports.trend_charts(filters)
    header = ["period", *(s.name for s in shares.series), "NPS"]
    rows = [
        (label, *(p.value for p in points), nps_points[0].value)
        for (label, points), (_l, nps_points) in zip(shares.rows, nps.rows, strict=True)
    ]
    return header, rows


def comments_table(filters: ReportFilters) -> tuple[list[str], Rows]:
    rows = [
        (
            r.answered_at,
            f"{r.invitation.survey.ticket.source}#{r.invitation.survey.ticket.external_id}",
            r.invitation.kind,
            r.raw_score,
            r.comment,
        )
        for r in comments_latest(filters=filters, limit=500)
    ]
    return ["answered_at", "ticket", "kind", "raw_score", "comment"], rows


def service_table(filters: ReportFilters) -> tuple[list[str], Rows]:
    m = service_metrics(filters=filters)
    rows: Rows = [
        ("tickets", m.tickets),
        ("solved", m.solved),
        ("resolution_rate_percent", m.resolution_rate),
        ("fcr_percent", m.fcr),
        ("first_response_mean_seconds", m.first_response.mean),
        ("first_response_median_seconds", m.first_response.median),
        ("first_response_p90_seconds", m.first_response.p90),
        ("resolution_mean_seconds", m.resolution.mean),
        ("resolution_median_seconds", m.resolution.median),
        ("resolution_p90_seconds", m.resolution.p90),
    ]
    rows += [(f"channel:{c}", n) for c, n in m.by_channel.items()]
    rows += [(f"category:{c}", n) for c, n in m.by_category.items()]
    return ["figure", "value"], rows


def monthly_table(filters: ReportFilters) -> tuple[list[str], Rows]:
    header = ["month", *SCORES_HEADER, "tickets", "resolution_rate", "fcr",
              "first_response_mean_s", "first_response_median_s", "first_response_p90_s",
              "resolution_mean_s", "resolution_median_s", "resolution_p90_s",
              "crr", "churn", "cac", "clv"]  # fmt: skip
    rows = []
    for row in monthly.monthly_build(filters=monthly.monthly_span(filters))["rows"]:
        s = row.service
        service = (
            [s.tickets, s.resolution_rate, s.fcr, s.first_response.mean, s.first_response.median,
             s.first_response.p90, s.resolution.mean, s.resolution.median, s.resolution.p90]
            if s else [None] * 9
        )  # fmt: skip
        business = row.business_values
        rows.append((
            row.label, *_scores(row.scores), *service,
            *(business.get(k) for k in ("crr", "churn", "cac", "clv")),
        ))  # fmt: skip
    return header, rows


def business_table(filters: ReportFilters) -> tuple[list[str], Rows]:
    header = ["month", "customers_start", "customers_end", "customers_new", "lost",
              "sales_marketing_spend", "yearly_revenue_per_customer", "customer_years",
              "crr_percent", "churn_percent", "cac", "clv"]  # fmt: skip
    rows = []
    for f, v in monthly.business_rows(BusinessFigures.objects.order_by("month")):
        rows.append((
            f.month.strftime("%Y-%m"), f.customers_start, f.customers_end, f.customers_new,
            v["lost"], f.sales_marketing_spend, f.yearly_revenue_per_customer, f.customer_years,
            v["crr"], v["churn"], v["cac"], v["clv"],
        ))  # fmt: skip
    return header, rows


Build = Callable[[ReportFilters], tuple[list[str], Rows]]


def _in_english(build: Build) -> Build:
    """A table's build with English active: exports never follow the reader's language."""

    @wraps(build)
    def english(filters: ReportFilters) -> tuple[list[str], Rows]:
        with translation.override("en"):
            header, rows = build(filters)
            return header, list(rows)

    return english


@dataclass(frozen=True)
class Table:
    title: str  # shown on the exports page, in the reader's language
    build: Build

    def __post_init__(self) -> None:
        object.__setattr__(self, "build", _in_english(self.build))

    @property
    def sheet(self) -> str:
        """The XLSX sheet's name: the title in English."""
        with translation.override("en"):
            return str(self.title)


TABLES: dict[str, Table] = {
    "headline": Table(_("Headline"), headline_table),
    "agents": Table(_("By agent"), _group_table("agent")),
    "teams": Table(_("By team"), _group_table("team")),
    "channels": Table(_("By channel"), _group_table("channel")),
    "categories": Table(_("By category"), _group_table("category")),
    "funnel": Table(_("Response funnel"), funnel_table),
    "distribution": Table(_("Score distribution"), distribution_table),
    "trend": Table(_("Trend"), trend_table),
    "comments": Table(_("Comments"), comments_table),
    "service": Table(_("Service metrics"), service_table),
    "monthly": Table(_("Monthly tracker"), monthly_table),
    "business": Table(_("Business figures"), business_table),
}
