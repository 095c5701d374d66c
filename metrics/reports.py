"""What the dashboard shows, assembled from the selectors: reads only, and the parts
the other report pages share (links to the rows behind a number, periods, charts).

The monthly tracker is in metrics.monthly, the before/after comparison in
metrics.compare. Numbers stay exact here; templates round them for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus, urlencode

from django.urls import reverse
from django.utils import translation
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import formulas
from .charts import Chart, Point, Series, line_chart
from .funnel import FUNNEL_STEPS
from .responses import reasons_top
from .selectors import (
    KINDS,
    METRIC_LABELS,
    METRICS,
    Counts,
    ReportFilters,
    Score,
    group_labels,
    grouped_counts,
    rate_of,
    score_counts,
    score_of,
    scores_by_group,
    scores_from_counts,
    step_counts,
    targets_for,
)

# (dimension, label, heading, the name of its export in metrics.tables)
TABLE_DIMENSIONS = (
    ("agent", gettext_lazy("Agent"), gettext_lazy("By agent"), "agents"),
    ("team", gettext_lazy("Team"), gettext_lazy("By team"), "teams"),
    ("channel", gettext_lazy("Channel"), gettext_lazy("By channel"), "channels"),
    ("category", gettext_lazy("Ticket category"), gettext_lazy("By ticket category"), "categories"),
)
DISTRIBUTION_SCORES = {"csat": range(1, 6), "ces": range(1, 8), "nps": range(0, 11)}


@lru_cache(maxsize=8)
def _path(name: str) -> str:
    return reverse(name)


@lru_cache(maxsize=512)
def _filter_query(filters: ReportFilters) -> str:
    return urlencode(filters.params())


def responses_url(filters: ReportFilters, **extra: Any) -> str:
    """The responses list behind a number (a dashboard has hundreds of these)."""
    query = _filter_query(filters)
    for name, value in extra.items():
        if value not in (None, ""):
            query += f"&{name}={quote_plus(str(value))}"
    return f"{_path('metrics:responses')}?{query}"


def invitations_url(filters: ReportFilters, step: str) -> str:
    """The Django admin's survey list for a funnel step (by day sent)."""
    start, end = filters.bounds()
    params: dict[str, str] = {
        "sent_at__gte": start.isoformat(),
        "sent_at__lt": end.isoformat(),
    }
    if filters.team is not None:
        params["team__id__exact"] = str(filters.team)
    if filters.agent is not None:
        params["agent__id__exact"] = str(filters.agent)
    if filters.channel is not None:
        params["channel"] = filters.channel
    if filters.category is not None:
        params["category"] = filters.category
    if step != "sent":
        params["bounced_at__isnull"] = "True"
        params["complained_at__isnull"] = "True"
    return f"{_path('admin:surveys_survey_changelist')}?{urlencode(params)}"


def tickets_url(filters: ReportFilters, **extra: str) -> str:
    """The Django admin's ticket list for tickets created in the period."""
    start, end = filters.bounds()
    params = {"created_at__gte": start.isoformat(), "created_at__lt": end.isoformat()}
    if filters.team is not None:
        params["team__id__exact"] = str(filters.team)
    if filters.agent is not None:
        params["assignee__id__exact"] = str(filters.agent)
    if filters.channel is not None:
        params["channel"] = filters.channel
    if filters.category is not None:
        params["category"] = filters.category
    params.update(extra)
    return f"{_path('admin:surveys_ticket_changelist')}?{urlencode(params)}"


def score_links(filters: ReportFilters, score: Score) -> dict[str, str]:
    """Where each count of a score leads: the answers, the positive ones, ..."""
    if score.metric == "response_rate":
        return {
            "denominator": invitations_url(filters, "delivered"),
            "numerator": responses_url(filters, basis="sent"),
        }
    links = {
        "denominator": responses_url(filters, kind=score.metric),
        "numerator": responses_url(filters, kind=score.metric, score_class="positive"),
    }
    if score.metric == "nps":
        links["detractors"] = responses_url(filters, kind="nps", score_class="detractor")
        links["passives"] = responses_url(filters, kind="nps", score_class="passive")
    return links


TARGET_LABELS = {
    formulas.MET: gettext_lazy("met"),
    formulas.MET_WITHIN: gettext_lazy("met, though within the interval"),
    formulas.NOT_MET_WITHIN: gettext_lazy("not met, though within the interval"),
    formulas.NOT_MET: gettext_lazy("not met"),
}
# A mark beside the words, never instead of them (nor colour alone).
TARGET_MARKS = {
    formulas.MET: "\u2713",
    formulas.MET_WITHIN: "\u2713",
    formulas.NOT_MET_WITHIN: "\u2248",
    formulas.NOT_MET: "\u2717",
}


@dataclass(frozen=True)
class Headline:
    metric: str
    label: str
    score: Score
    previous: Score
    links: dict[str, str]
    target: float | None = None

    @property
    def target_status(self) -> str | None:
        if self.target is None:
            return None
        return formulas.target_status(
            value=self.score.value, interval=self.score.interval, target=self.target
        )

    @property
    def target_label(self) -> str:
        return str(TARGET_LABELS.get(self.target_status or "", ""))

    @property
    def target_mark(self) -> str:
        return TARGET_MARKS.get(self.target_status or "", "")

    @property
    def change(self) -> float | None:
        if self.score.value is None or self.previous.value is None:
            return None
        return self.score.value - self.previous.value

    @property
    def unit(self) -> str:
        return "" if self.metric == "nps" else "%"

    @property
    def comparison(self) -> formulas.Comparison | None:
        return compare_scores(self.previous, self.score)


@dataclass(frozen=True)
class GroupRow:
    key: Any
    label: str
    scores: dict[str, Score]
    links: dict[str, dict[str, str]]


@dataclass(frozen=True)
class FunnelRow:
    name: str
    label: str
    count: int
    share_of_sent: float | None
    href: str


def compare_scores(before: Score, after: Score) -> formulas.Comparison | None:
    """Period after minus before: a two-proportion z-test, or two NPS with their variances."""
    if before.metric == "nps":
        return formulas.nps_difference(
            before=(before.promoters, before.passives, before.detractors),
            after=(after.promoters, after.passives, after.detractors),
        )
    return formulas.two_proportion_test(
        successes_a=before.numerator,
        total_a=before.denominator,
        successes_b=after.numerator,
        total_b=after.denominator,
    )


def headlines(
    filters: ReportFilters,
    now: dict[str, Score] | None = None,
    before: dict[str, Score] | None = None,
) -> list[Headline]:
    now = now or group_scores(scores_by_group(filters=filters))
    before = before or group_scores(scores_by_group(filters=filters.previous()))
    targets = targets_for(filters)
    return [
        Headline(
            metric=metric,
            label=METRIC_LABELS[metric],
            score=now[metric],
            previous=before[metric],
            links=score_links(filters, now[metric]),
            target=targets.get(metric),
        )
        for metric in METRICS
    ]


def _no_scores() -> dict[str, Score]:
    return {**{kind: score_of(None, kind) for kind in KINDS}, "response_rate": rate_of(None)}


def group_scores(groups: dict[Any, dict[str, Score]], key: Any = "all") -> dict[str, Score]:
    """One group's scores (by default the whole period's), or empty scores if none."""
    return groups.get(key) or _no_scores()


def group_table(
    filters: ReportFilters, dimension: str, groups: dict[Any, dict[str, Score]] | None = None
) -> list[GroupRow]:
    """Every metric per agent, team, channel or category."""
    if groups is None:
        groups = scores_by_group(filters=filters, group_by=dimension)
    labels = group_labels(dimension, list(groups))
    rows = []
    for key, scores in groups.items():
        narrowed = _narrow(filters, dimension, key)
        links = {metric: score_links(narrowed, score) for metric, score in scores.items()}
        rows.append(GroupRow(key=key, label=labels[key], scores=scores, links=links))
    return sorted(rows, key=lambda row: row.label.lower())


def _narrow(filters: ReportFilters, dimension: str, key: Any) -> ReportFilters:
    # A group without an agent, team, channel or category cannot be narrowed to.
    if key is None or key == "":
        return filters
    return filters.narrowed(**{dimension: key})


# A trend over up to this many days is a line of each day's last 7 days, so one day's
# handful of answers does not swing it; over more, weeks (then months).
ROLLING_UP_TO_DAYS = 31
ROLLING_DAYS = 7


def trend_period(filters: ReportFilters) -> str:
    """Days (as a 7-day rolling line) for up to a month, weeks up to about a year,
    then months."""
    if filters.days <= ROLLING_UP_TO_DAYS:
        return "day"
    return "week" if filters.days <= 370 else "month"


def period_starts(filters: ReportFilters, period: str) -> list[date]:
    """The start of each day, week (from Monday) or month that `filters` spans."""
    if period == "day":
        return [filters.start + timedelta(days=n) for n in range(filters.days)]
    if period == "week":
        first = filters.start - timedelta(days=filters.start.weekday())
        return [first + timedelta(weeks=n) for n in range((filters.end - first).days // 7 + 1)]
    months, month = [], filters.start.replace(day=1)
    while month <= filters.end:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def period_filters(filters: ReportFilters, period: str, start: date) -> ReportFilters:
    """`filters` narrowed to the period starting on `start`, cut to its own dates."""
    if period == "day":
        end = start
    elif period == "week":
        end = start + timedelta(days=6)
    else:
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return filters.narrowed(start=max(start, filters.start), end=min(end, filters.end))


def trend_charts(
    filters: ReportFilters,
    answers: dict[Any, dict[str, Any]] | None = None,
    steps: dict[Any, dict[str, int]] | None = None,
) -> list[Chart]:
    """CSAT %, CES % and response rate on one chart, NPS on its own (-100..100)."""
    period = trend_period(filters)
    if answers is None or steps is None:
        answers = score_counts(filters=filters, group_by=period)
        steps = step_counts(filters=filters, group_by=period)
    starts = period_starts(filters, period)
    labels = [_period_label(start, period) for start in starts]
    if period == "day":
        answers, steps = _rolling(filters, answers, steps)
    series: dict[str, list[Point]] = {metric: [] for metric in METRICS}
    for start in starts:
        if period == "day":
            scoped = filters.narrowed(start=start - timedelta(days=ROLLING_DAYS - 1), end=start)
        else:
            scoped = period_filters(filters, period, start)
        for kind in KINDS:
            score = score_of(answers.get(start, {}).get(kind), kind)
            series[kind].append(score_point(score, scoped))
        series["response_rate"].append(score_point(rate_of(steps.get(start)), scoped))
    titles = {
        "day": (
            _("CSAT, CES and response rate, each day's last 7 days"),
            _("NPS, each day's last 7 days"),
        ),
        "week": (
            _("CSAT, CES and response rate per week (Monday first)"),
            _("NPS per week (Monday first)"),
        ),
        "month": (_("CSAT, CES and response rate per month"), _("NPS per month")),
    }[period]
    shares = line_chart(
        title=titles[0],
        x_labels=labels,
        series=[
            Series(f"{METRIC_LABELS[m]} %", series[m]) for m in ("csat", "ces", "response_rate")
        ],
        unit="%",
        y_range=(0, 100),
    )
    nps = line_chart(
        title=titles[1],
        x_labels=labels,
        series=[Series("NPS", series["nps"])],
        y_range=(-100, 100),
    )
    return [shares, nps]


def _rolling(
    filters: ReportFilters,
    answers: dict[Any, dict[str, Any]],
    steps: dict[Any, dict[str, int]],
) -> tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, int]]]:
    """Each day's counts summed with the 6 days before it (those before the period
    read too): exact counts over a week, never a zig-zag of single days."""
    before = filters.narrowed(
        start=filters.start - timedelta(days=ROLLING_DAYS - 1),
        end=filters.start - timedelta(days=1),
    )
    daily_answers = {**score_counts(filters=before, group_by="day"), **answers}
    daily_steps = {**step_counts(filters=before, group_by="day"), **steps}
    rolled_answers: dict[Any, dict[str, Any]] = {}
    rolled_steps: dict[Any, dict[str, int]] = {}
    for day in period_starts(filters, "day"):
        window = [day - timedelta(days=n) for n in range(ROLLING_DAYS)]
        kinds: dict[str, Counts] = {}
        totals: dict[str, int] = {}
        for each in window:
            for kind, counts in daily_answers.get(each, {}).items():
                kinds.setdefault(kind, Counts(kind)).merge(counts)
            for step, n in daily_steps.get(each, {}).items():
                totals[step] = totals.get(step, 0) + n
        rolled_answers[day], rolled_steps[day] = kinds, totals
    return rolled_answers, rolled_steps


def _period_label(start: date, period: str) -> str:
    """A month as 2026-11; a day or week by its first day, 05 Nov (the month's
    abbreviation in the reader's language)."""
    return start.strftime("%Y-%m") if period == "month" else date_format(start, "d M")


def score_point(score: Score, filters: ReportFilters) -> Point:
    """A chart point for a score, linking to the answers behind it (if it has any)."""
    kind = None if score.metric == "response_rate" else score.metric
    href = (
        responses_url(filters, basis="sent") if kind is None else responses_url(filters, kind=kind)
    )
    return Point(value=score.value, label=score.formula, href=href if score.denominator else "")


@dataclass(frozen=True)
class Distribution:
    """How many answers gave each score: drawn as HTML bars (fast, and a table to
    screen readers), one per kind."""

    kind: str
    title: str
    total: int
    bars: list[tuple[int, int, float, str]]  # score, answers, % of the largest, link


def distributions(filters: ReportFilters, counts: dict[str, Any]) -> list[Distribution]:
    """How many answers gave each (normalised) score, per kind."""
    out = []
    for kind in KINDS:
        by_score = counts[kind].by_score if kind in counts else {}
        scores = sorted(set(DISTRIBUTION_SCORES[kind]) | set(by_score))
        largest = max(by_score.values(), default=0)
        bars = [
            (
                s,
                by_score.get(s, 0),
                formulas.percent(by_score.get(s, 0), largest) or 0.0,
                responses_url(filters, kind=kind, min_score=s, max_score=s),
            )
            for s in scores
        ]
        title = _("%(metric)s answers by score") % {"metric": METRIC_LABELS[kind]}
        out.append(Distribution(kind, title, sum(by_score.values()), bars))
    return out


def funnel(filters: ReportFilters, steps: dict[str, int] | None = None) -> list[FunnelRow]:
    if steps is None:
        steps = step_counts(filters=filters).get("all", {})
    sent = steps.get("sent", 0)
    rows = []
    for step in FUNNEL_STEPS:
        count = steps.get(step.name, 0)
        if step.name in ("sent", "delivered"):
            href = invitations_url(filters, step.name)
        else:
            href = responses_url(
                filters, basis="sent", commented="1" if step.name == "commented" else None
            )
        rows.append(
            FunnelRow(
                name=step.name,
                label=str(step.label),
                count=count,
                share_of_sent=formulas.percent(count, sent),
                href=href,
            )
        )
    return rows


@dataclass(frozen=True)
class PeriodCounts:
    """A period's answer and funnel counts, in total, per trend period and per each
    dimension asked for, with the totals of the period before: two reads of each
    rollup table, for every part of a scores page."""

    filters: ReportFilters
    period: str
    answers: dict[Any, dict[Any, dict[str, Any]]]
    steps: dict[Any, dict[Any, dict[str, int]]]
    now: dict[str, Score]
    before: dict[str, Score]
    # The period before, per each dimension asked for in `compared` (and in total).
    earlier_answers: dict[Any, dict[Any, dict[str, Any]]]
    earlier_steps: dict[Any, dict[Any, dict[str, int]]]

    @classmethod
    def read(
        cls, filters: ReportFilters, *dimensions: str, compared: tuple[str, ...] = ()
    ) -> PeriodCounts:
        period = trend_period(filters)
        answers, steps = grouped_counts(filters=filters, group_bys=(None, period, *dimensions))
        earlier_answers, earlier_steps = grouped_counts(
            filters=filters.previous(), group_bys=(None, *compared)
        )
        return cls(
            filters=filters,
            period=period,
            answers=answers,
            steps=steps,
            now=group_scores(scores_from_counts(answers[None], steps[None])),
            before=group_scores(scores_from_counts(earlier_answers[None], earlier_steps[None])),
            earlier_answers=earlier_answers,
            earlier_steps=earlier_steps,
        )

    def headlines(self) -> list[Headline]:
        return headlines(self.filters, self.now, self.before)

    def trends(self) -> list[Chart]:
        return trend_charts(self.filters, self.answers[self.period], self.steps[self.period])

    def table(self, dimension: str) -> list[GroupRow]:
        groups = scores_from_counts(self.answers[dimension], self.steps[dimension])
        return group_table(self.filters, dimension, groups)


@dataclass(frozen=True)
class ReasonRow:
    """A line of the dashboard's top reasons: the label in the reader's language, the
    exact counts, and the answers behind the count."""

    label: str
    kind: str
    count: int
    low_answers: int
    share: float | None
    href: str


def reason_rows(filters: ReportFilters) -> list[ReasonRow]:
    language = translation.get_language()
    return [
        ReasonRow(
            label=row.reason.label_in(language),
            kind=str(METRIC_LABELS[row.reason.kind]),
            count=row.count,
            low_answers=row.low_answers,
            share=row.share,
            href=responses_url(filters, kind=row.reason.kind, reason=row.reason.pk),
        )
        for row in reasons_top(filters=filters)
    ]
