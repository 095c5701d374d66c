"""The dashboard, in the order a team lead reads it: how are we doing (the headline
scores), who needs help (agents and teams), what customers say (the latest comments),
what the unhappy ones complain about (terms and reasons), then trends, the funnel and
the distributions. Reads only."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import get_language_info

from followups.models import FollowUp
from surveys import scoring
from surveys.models import Response

from . import terms
from .people import PEOPLE, people_rows, people_sorted
from .reports import (
    TABLE_DIMENSIONS,
    PeriodCounts,
    distributions,
    funnel,
    reason_rows,
    responses_url,
)
from .responses import comments_latest, responses_matching
from .selectors import ReportFilters

# The tables below the people: by channel and by ticket category.
OTHER_TABLES = [t for t in TABLE_DIMENSIONS if t[0] not in PEOPLE]
# The comments read for the complaint terms: the period's newest, at most this many;
# the terms found are kept this long for the same filters (the cache may be away).
TERM_COMMENTS = 2000
TERMS_CACHE_SECONDS = 300


@dataclass(frozen=True)
class CommentCard:
    """A comment as the dashboard shows it: with its score as a labelled badge, who
    wrote it and where to act on it."""

    response: Response
    tone: str  # low, neutral or high
    first_name: str
    language: str
    agent: str
    ticket_url: str
    case_url: str


def dashboard_build(
    *,
    filters: ReportFilters,
    comment_filter: str = "",
    people: str = "agent",
    sort: str = "csat",
    descending: bool = False,
) -> dict[str, Any]:
    """Everything the dashboard shows, from two reads of each rollup table (and the
    period before, for the change per agent and team)."""
    counts = PeriodCounts.read(
        filters, *(name for name, *_rest in TABLE_DIMENSIONS), compared=tuple(PEOPLE)
    )
    answers, steps = counts.answers, counts.steps
    rows = people_rows(
        filters=filters,
        dimension=people,
        answers=answers[people],
        steps=steps[people],
        before_answers=counts.earlier_answers[people],
        before_steps=counts.earlier_steps[people],
        everyone=counts.now,
        now=timezone.now(),
    )
    ranked, apart = people_sorted(rows, sort=sort, descending=descending)
    return {
        "filters": filters,
        "previous": filters.previous(),
        "headlines": counts.headlines(),
        "people": people,
        "people_label": PEOPLE[people],
        "people_ranked": ranked,
        "people_apart": apart,
        "sort": sort,
        "descending": descending,
        "trends": counts.trends(),
        "distributions": distributions(filters, answers[None].get("all", {})),
        "tables": [
            (name, label, heading, table, counts.table(name))
            for name, label, heading, table in OTHER_TABLES
        ],
        "funnel": funnel(filters, steps[None].get("all", {})),
        "reasons": reason_rows(filters),
        "complaints": complaint_rows(filters),
        "comments": comment_cards(comments_latest(filters=filters, score_filter=comment_filter)),
        "comment_filter": comment_filter,
    }


def tone_of(response: Response) -> str:
    kind, score, points = response.kind, response.score, response.scale_points
    if scoring.is_low(kind=kind, score=score, scale_points=points):
        return "low"
    return "high" if scoring.is_positive(kind=kind, score=score, scale_points=points) else "neutral"


def comment_cards(responses: list[Response]) -> list[CommentCard]:
    """The comments with what the lead needs beside them (one more query: the cases)."""
    surveys = [r.invitation.survey_id for r in responses]
    cases = dict(FollowUp.objects.filter(survey_id__in=surveys).values_list("survey_id", "pk"))
    cards = []
    for response in responses:
        survey = response.invitation.survey
        case = cases.get(survey.pk)
        ticket = survey.ticket
        cards.append(
            CommentCard(
                response=response,
                tone=tone_of(response),
                first_name=(survey.customer.name.split() or [""])[0],
                language=_language_name(survey.locale),
                agent=survey.agent.get_full_name() if survey.agent else "",
                ticket_url=ticket.url,
                case_url=FollowUp(pk=case).get_absolute_url() if case else "",
            )
        )
    return cards


def _language_name(code: str) -> str:
    try:
        return str(get_language_info(code)["name_translated"])
    except KeyError:
        return code


@dataclass(frozen=True)
class ComplaintRow:
    term: terms.Term
    href: str  # the period's comments that contain it


def complaint_rows(filters: ReportFilters) -> list[ComplaintRow]:
    """The words and phrases markedly more common in the period's low-score comments
    (found once per filters every few minutes: stemming is the dashboard's dearest part)."""
    query = urlencode(sorted(filters.params().items()))
    key = "metrics:complaints:" + hashlib.sha256(query.encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = terms.complaint_terms(_comments(filters))
        cache.set(key, found, TERMS_CACHE_SECONDS)
    return [ComplaintRow(term, responses_url(filters, term=term.key)) for term in found]


def _comments(filters: ReportFilters) -> list[terms.Comment]:
    return [
        terms.Comment(text, locale, scoring.is_low(kind=kind, score=score, scale_points=points))
        for _pk, text, locale, kind, score, points in _period_comments(filters)
    ]


def comments_with_term(filters: ReportFilters, key: str) -> list[int]:
    """The ids of the period's answers whose comment contains the term."""
    return [
        pk
        for pk, text, locale, *_score in _period_comments(filters)
        if terms.contains_term(text, locale, key)
    ]


def _period_comments(filters: ReportFilters) -> Any:
    """The period's newest comments that count (TERM_COMMENTS of them), as the terms
    and the list behind a term both read them."""
    return (
        responses_matching(filters=filters, commented=True)
        .select_related(None)
        .values_list(
            "pk", "comment", "invitation__survey__locale", "kind", "score", "scale_points"
        )[:TERM_COMMENTS]
    )
