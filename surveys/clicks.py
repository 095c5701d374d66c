"""Fetches of the links in survey emails: kept (without identifying anyone) and judged,
so emails opened by a mail scanner are told from emails a person clicked."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import rules, signals, sql
from .models import LinkClick, Survey

# More fetches than this of one email's links are not kept: nobody clicks that often.
CLICKS_KEPT = 200


def link_click_record(
    *,
    survey: Survey,
    link: str,
    score: int | None = None,
    method: str = "GET",
    user_agent: str = "",
    now: datetime | None = None,
) -> bool:
    """Keep one fetch of a survey email's link, in one statement (the customer waits):
    the worker's sweep judges it with the email's other fetches (clicks_judge). Records
    no answer. Returns whether it was kept."""
    click = LinkClick(
        survey=survey,
        link=link,
        score=score,
        method=method.upper()[:8],
        agent_key=_agent_key(user_agent),
        at=now or timezone.now(),
    )
    return sql.row_insert_capped(LinkClick, click, _CLICK_COLUMNS, per="survey", cap=CLICKS_KEPT)


_CLICK_COLUMNS = ["survey", "link", "score", "method", "agent_key", "at", "automated_reason"]


def clicks_judge(*, survey_id: int, now: datetime | None = None) -> Survey | None:
    """Judge every fetch of a survey email's links again: the survey is marked
    bot-suspect once any fetch looks automated, and its first_clicked_at is the
    first fetch that does not. The metrics hear of it when either changes. Safe to
    repeat; one email's fetches are judged one at a time."""
    now = now or timezone.now()
    with transaction.atomic():
        survey = Survey.objects.select_for_update().filter(pk=survey_id).first()
        if survey is None:
            return None
        before = {
            "first_clicked_at": survey.first_clicked_at,
            "bot_suspect_at": survey.bot_suspect_at,
        }
        judged, seen = _clicks_judge(survey, before)
        # Only these: a fetch stored meanwhile is judged by its own task (or the sweep).
        LinkClick.objects.filter(pk__in=seen, judged_at__isnull=True).update(judged_at=now)
    # The funnel counts clicked and filtered-as-bot emails: its rollups change only
    # when these do.
    if judged != before:
        survey.first_clicked_at = judged["first_clicked_at"]
        survey.bot_suspect_at = judged["bot_suspect_at"]
        signals.survey_changed_send(survey)
    return survey


def clicks_unjudged() -> list[int]:
    """Surveys with fetches not judged yet (up to 1,000 per sweep)."""
    return list(
        LinkClick.objects.filter(judged_at__isnull=True)
        .order_by()
        .values_list("survey_id", flat=True)
        .distinct()[:1000]
    )


def _agent_key(user_agent: str) -> str:
    """A short keyed hash: tells clients apart without keeping what they are."""
    if not user_agent:
        return ""
    digest = hmac.new(settings.SECRET_KEY.encode(), user_agent.encode(), hashlib.sha256)
    return digest.hexdigest()[:12]


def _clicks_judge(survey: Survey, before: dict) -> tuple[dict, list[int]]:
    """Judge every fetch of the survey's links again; store and return the survey's
    first_clicked_at and bot_suspect_at, and the fetches judged."""
    clicks = list(LinkClick.objects.filter(survey=survey).order_by("at", "pk"))
    first = survey.invitations.order_by().values_list("kind", "scale_points")
    csat_points = next((points for kind, points in first if kind == "csat"), 0)
    reasons = rules.clicks_automated(
        [
            rules.Click(c.at, c.link + (f":{c.score}" if c.score is not None else ""), c.method)
            for c in clicks
        ],
        send_times=[t for t in (survey.sent_at, survey.reminded_at) if t is not None],
        rating_links=csat_points,
    )
    changed: dict[str, list[int]] = {}
    for click, reason in zip(clicks, reasons, strict=True):
        if click.automated_reason != reason:
            changed.setdefault(reason, []).append(click.pk)
    for reason, pks in changed.items():
        LinkClick.objects.filter(pk__in=pks).update(automated_reason=reason)
    human = [c.at for c, reason in zip(clicks, reasons, strict=True) if not reason]
    judged = {
        "first_clicked_at": min(human) if human else None,
        "bot_suspect_at": before["bot_suspect_at"],
    }
    update: dict = {"first_clicked_at": judged["first_clicked_at"]}
    suspect = next((reason for reason in reasons if reason), "")
    if suspect and before["bot_suspect_at"] is None:
        judged["bot_suspect_at"] = max(c.at for c, r in zip(clicks, reasons, strict=True) if r)
        update.update(bot_suspect_at=judged["bot_suspect_at"], bot_suspect_reason=suspect)
    Survey.objects.filter(pk=survey.pk).update(**update)
    return judged, [click.pk for click in clicks]


def honeypot_reason(survey: Survey) -> str:
    """Why an answer the page sent by itself is held ("" when it is not): the email's
    invisible link was fetched, as only a machine does, or its clicks were judged
    automated. Fetches the sweep has not judged yet are judged first."""
    if LinkClick.objects.filter(survey=survey, link=LinkClick.Link.HONEYPOT).exists():
        return "the email's invisible link was fetched"
    if LinkClick.objects.filter(survey=survey, judged_at__isnull=True).exists():
        clicks_judge(survey_id=survey.pk)
        survey.refresh_from_db(fields=["bot_suspect_at", "bot_suspect_reason"])
    if survey.bot_suspect_at is not None:
        return f"the survey's links look automated ({survey.bot_suspect_reason})"
    return ""
