"""Reads of the responses themselves: the answers behind a number in a report, the
API's responses list and the latest comments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys import scoring
from surveys.models import Reason, Response, ResponseReason

from .selectors import KINDS, SCALES, ReportFilters


def score_class_q(kind: str, score_class: str) -> Q:
    """Responses of one kind that are positive, passive (NPS), negative or low."""
    query = Q()
    for scale in SCALES[kind]:
        top = scoring.positive_from(kind=kind, scale_points=scale)
        on_scale = Q(invitation__scale_points=scale)
        if score_class == "positive":
            query |= on_scale & Q(score__gte=top)
        elif score_class == "detractor":
            query |= on_scale & Q(score__lte=6)
        elif score_class == "passive":
            query |= on_scale & Q(score__gt=6, score__lt=top)
        elif score_class == "low":
            query |= on_scale & Q(score__lte=scoring.low_up_to(kind=kind, scale_points=scale))
        else:  # "negative": everything not positive
            query |= on_scale & Q(score__lt=top)
    return Q(invitation__kind=kind) & query


def responses_matching(
    *,
    filters: ReportFilters | None = None,
    kind: str | None = None,
    score_class: str | None = None,
    min_score: int | None = None,
    max_score: int | None = None,
    commented: bool = False,
    ticket: str | None = None,
    by_sent_day: bool = False,
    reason: int | None = None,
) -> QuerySet[Response]:
    """The responses behind a number (those counted: none held for review), newest first."""
    responses = Response.objects.filter(held=False).select_related(
        "invitation__survey__ticket",
        "invitation__survey__customer",
        "invitation__survey__agent",
        "invitation__survey__team",
    )
    if filters is not None:
        start, end = filters.bounds()
        field_name = "invitation__survey__sent_at" if by_sent_day else "answered_at"
        responses = responses.filter(
            **{f"{field_name}__gte": start, f"{field_name}__lt": end},
            **filters.lookups("invitation__survey__"),
        )
    if kind:
        responses = responses.filter(invitation__kind=kind)
    if kind and score_class:
        responses = responses.filter(score_class_q(kind, score_class))
    if min_score is not None:
        responses = responses.filter(score__gte=min_score)
    if max_score is not None:
        responses = responses.filter(score__lte=max_score)
    if commented:
        responses = responses.exclude(comment="")
    if ticket:
        responses = responses.filter(invitation__survey__ticket__external_id=ticket)
    if reason is not None:
        responses = responses.filter(response_reasons__reason_id=reason)
    return responses.order_by("-answered_at", "-pk")


def responses_for_api(
    *,
    ticket: str | None = None,
    source: str | None = None,
    kind: str | None = None,
    start: date | None = None,
    end: date | None = None,
    agent: str | None = None,
    team: str | None = None,
    min_score: int | None = None,
    max_score: int | None = None,
) -> QuerySet[Response]:
    """Responses for the API, oldest first. Dates are local days answered, inclusive;
    agent is a user id or email, team an id or name; scores are normalised."""
    query = Q()
    tz = timezone.get_current_timezone()
    if start:
        query &= Q(answered_at__gte=timezone.make_aware(datetime.combine(start, time.min), tz))
    if end:
        after = end + timedelta(days=1)
        query &= Q(answered_at__lt=timezone.make_aware(datetime.combine(after, time.min), tz))
    if ticket:
        query &= Q(invitation__survey__ticket__external_id=ticket)
    if source:
        query &= Q(invitation__survey__ticket__source=source)
    if kind:
        query &= Q(invitation__kind=kind)
    if agent:
        query &= (
            Q(invitation__survey__agent_id=int(agent))
            if agent.isdigit()
            else Q(invitation__survey__agent__email__iexact=agent)
        )
    if team:
        query &= (
            Q(invitation__survey__team_id=int(team))
            if team.isdigit()
            else Q(invitation__survey__team__name__iexact=team)
        )
    if min_score is not None:
        query &= Q(score__gte=min_score)
    if max_score is not None:
        query &= Q(score__lte=max_score)
    return (
        Response.objects.filter(query)
        .select_related(
            "invitation__survey__ticket",
            "invitation__survey__customer",
            "invitation__survey__agent",
            "invitation__survey__team",
        )
        .order_by("answered_at", "pk")
    )


# The dashboard's comment filters: the keys are what the query says, the values the
# menu's labels (translated when shown).
COMMENT_FILTERS = {
    "": _("All comments"),
    "low": _("Low scores (follow-up)"),
    "positive": _("Positive scores"),
    **{f"csat:{n}": f"CSAT {n}" for n in range(1, 6)},
    "nps:detractor": _("NPS detractors"),
    "nps:positive": _("NPS promoters"),
}


def comments_latest(
    *, filters: ReportFilters, score_filter: str = "", limit: int = 15
) -> list[Response]:
    """The newest answers with a comment, narrowed by the score they carry."""
    responses = responses_matching(filters=filters, commented=True)
    kind, _sep, value = score_filter.partition(":")
    if score_filter in ("low", "positive"):
        query = Q()
        for each in KINDS:
            query |= score_class_q(each, score_filter)
        responses = responses.filter(query)
    elif kind in KINDS and value.isdigit():
        responses = responses.filter(invitation__kind=kind, score=int(value))
    elif kind in KINDS and value:
        responses = responses.filter(score_class_q(kind, value))
    return list(responses[:limit])


@dataclass(frozen=True)
class ReasonCount:
    """How many low answers of a kind that count carried a reason, of how many low
    answers of that kind there were: exact counts (templates round the share)."""

    reason: Reason
    count: int
    low_answers: int

    @property
    def share(self) -> float | None:
        """Per cent of the kind's low answers that gave this reason."""
        return 100 * self.count / self.low_answers if self.low_answers else None


def low_q() -> Q:
    """The low answers of every kind (those that open a follow-up)."""
    query = Q()
    for kind in KINDS:
        query |= score_class_q(kind, "low")
    return query


def reasons_top(*, filters: ReportFilters) -> list[ReasonCount]:
    """The reasons given with the low answers that count in the period (none held
    for review), most given first: three queries, counted from the raw rows."""
    low = responses_matching(filters=filters).filter(low_q()).order_by()
    lows = low.aggregate(**{kind: Count("pk", filter=score_class_q(kind, "low")) for kind in KINDS})
    counts = list(
        ResponseReason.objects.filter(response__in=low.values("pk"))
        .values("reason_id")
        .annotate(n=Count("pk"))
        .values_list("reason_id", "n")
    )
    reasons = Reason.objects.in_bulk([reason_id for reason_id, _n in counts])
    rows = [
        ReasonCount(reason=reasons[reason_id], count=n, low_answers=lows[reasons[reason_id].kind])
        for reason_id, n in counts
    ]
    return sorted(
        rows,
        key=lambda row: (-row.count, KINDS.index(row.reason.kind), row.reason.position),
    )
