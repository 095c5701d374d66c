"""The report by email: each subscribed team lead or admin gets, daily, weekly or
monthly, the period's scores against the period before (and whether the change is
larger than chance), against their targets, the open and overdue cases, the
lowest-scoring categories and a few recent comments, in their own language.

The figures are the dashboard's: the same selectors over the same dates. One digest per
subscriber and period: a DigestSent row is claimed before the email goes, so a sweep
that runs again (or a second beat) sends nothing twice."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation

from followups.models import FollowUp, staff_language
from surveys.emails import absolute, render_email
from surveys.models import Team

from .models import DigestSent, DigestSubscription
from .reports import Headline, group_table, headlines
from .responses import comments_latest
from .selectors import ReportFilters

logger = logging.getLogger(__name__)

# A claim older than this, with no email sent, belonged to a worker that died.
CLAIM_TIMEOUT = timedelta(minutes=10)
LOWEST_CATEGORIES = 3
COMMENTS = 5


def period_last_complete(frequency: str, today: date) -> tuple[date, date]:
    """The last whole day, week (Monday to Sunday) or month before `today`."""
    if frequency == DigestSubscription.Frequency.DAILY:
        day = today - timedelta(days=1)
        return day, day
    if frequency == DigestSubscription.Frequency.WEEKLY:
        end = today - timedelta(days=today.weekday() + 1)
        return end - timedelta(days=6), end
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


@dataclass(frozen=True)
class Digest:
    start: date
    end: date
    team: Team | None
    headlines: list[Headline]
    open_cases: int
    overdue_cases: int
    lowest_categories: list[Any]
    comments: list[Any]
    url: str


def digest_build(*, user: Any, start: date, end: date, now: datetime) -> Digest:
    """What the digest of this period says, for this reader: a team lead reads their
    (first) team's figures, an admin everyone's."""
    team = None if user.is_staff else Team.objects.filter(lead=user).order_by("name").first()
    filters = ReportFilters(start=start, end=end, team=team.pk if team else None)
    cases = FollowUp.objects.filter(status__in=FollowUp.OPEN_STATUSES)
    if team is not None:
        cases = cases.filter(survey__team=team)
    rated = [
        row
        for row in group_table(filters, "category")
        if row.scores["csat"].value is not None and row.key
    ]
    lowest = sorted(rated, key=lambda row: (row.scores["csat"].value, row.label))
    low = comments_latest(filters=filters, score_filter="low", limit=COMMENTS)
    high = comments_latest(filters=filters, score_filter="positive", limit=COMMENTS)
    comments = (low[:3] + high[:2] + low[3:] + high[2:])[:COMMENTS]
    page = "metrics:dashboard" if user.is_staff else "metrics:scores"
    query = urlencode({"from": start.isoformat(), "to": end.isoformat()})
    return Digest(
        start=start,
        end=end,
        team=team,
        headlines=headlines(filters),
        open_cases=cases.count(),
        overdue_cases=cases.filter(FollowUp.overdue_q(now)).count(),
        lowest_categories=lowest[:LOWEST_CATEGORIES],
        comments=comments,
        url=absolute(f"{reverse(page)}?{query}"),
    )


def digest_send(*, subscription: DigestSubscription, now: datetime) -> bool:
    """Send this subscriber the digest of their last whole period, once. True if sent."""
    start, end = period_last_complete(subscription.frequency, timezone.localdate(now))
    user = subscription.user
    key = {"user": user, "frequency": subscription.frequency, "period_start": start}
    if DigestSent.objects.filter(**key, sent_at__isnull=False).exists():
        return False
    try:
        with transaction.atomic():
            row = DigestSent.objects.create(**key, period_end=end, claimed_at=now)
    except IntegrityError:
        stale = Q(sent_at__isnull=True, claimed_at__lt=now - CLAIM_TIMEOUT)
        if not DigestSent.objects.filter(stale, **key).update(claimed_at=now):
            return False
        row = DigestSent.objects.get(**key)
    language = staff_language(user)
    with translation.override(language):
        digest = digest_build(user=user, start=start, end=end, now=now)
        message = render_email(
            "report-digest",
            {"digest": digest, "frequency": subscription.frequency},
            user.email,
            language,
            html=False,
        )
    message.send()
    DigestSent.objects.filter(pk=row.pk).update(sent_at=now)
    return True


def digests_sweep(*, now: datetime | None = None) -> int:
    """Send every digest that is due; how many went. Safe to run as often as beat likes."""
    now = now or timezone.now()
    sent = 0
    for subscription in DigestSubscription.objects.select_related("user").exclude(user__email=""):
        try:
            sent += digest_send(subscription=subscription, now=now)
        except Exception:  # one subscriber's failure does not stop the others
            logger.exception("could not send the report digest of user %s", subscription.user_id)
    return sent
