"""The one reminder of an unanswered survey email."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from . import emails, rules
from .models import Invitation, Survey, SurveyLink, SurveyPolicy
from .sending import survey_link
from .services import suppressed_reason

logger = logging.getLogger(__name__)

State = Survey.State


def reminders_due(*, now: datetime, limit: int = 1000) -> list[int]:
    """The surveys that may get their reminder now.

    The query narrows to the candidates; rules.reminder_block_reason decides.
    """
    policy = SurveyPolicy.load()
    if not policy.reminder_days:
        return []
    window = policy.throttle_days or policy.answer_days
    return list(
        Survey.objects.filter(
            state=State.SENT,
            reminded_at__isnull=True,
            sent_at__lte=now - timedelta(days=policy.reminder_days),
            sent_at__gt=now - timedelta(days=window),
            customer__opted_out_at__isnull=True,
            customer__suppressed_at__isnull=True,
        )
        .order_by("sent_at")
        .values_list("pk", flat=True)[:limit]
    )


def survey_reminder_send(*, survey_id: int, now: datetime | None = None) -> list[Invitation]:
    """Send the one reminder of an unanswered survey email. Claimed with a
    conditional UPDATE of reminded_at, so it goes out once however often this runs.
    A failed send is given back to the next sweep. Returns the questions reminded of."""
    now = now or timezone.now()
    survey = Survey.objects.select_related("ticket", "customer", "agent").filter(pk=survey_id)
    survey = survey.first()
    if survey is None:
        return []
    policy = SurveyPolicy.load()
    reason = _reminder_block_reason(survey, now, policy)
    if reason:
        logger.info("no reminder for survey %s: %s", survey_id, reason)
        return []
    claimed = Survey.objects.filter(
        pk=survey.pk, state=State.SENT, reminded_at__isnull=True
    ).update(reminded_at=now)
    if not claimed:
        return []
    invitations = survey.questions
    token = survey_link(survey, SurveyLink.Purpose.REMINDER)
    message = emails.survey_reminder_email(invitations=invitations, token=token, policy=policy)
    try:
        message.send()
    except Exception as exc:
        logger.warning("reminder for survey %s not sent, will retry: %s", survey_id, exc)
        Survey.objects.filter(pk=survey.pk, reminded_at=now).update(reminded_at=None)
        return []
    Survey.objects.filter(pk=survey.pk, reminded_at=now).update(
        reminder_message_id=emails.message_id(message)[:255]
    )
    return invitations


def _reminder_block_reason(survey: Survey, now: datetime, policy: SurveyPolicy) -> str:
    ticket, customer = survey.ticket, survey.customer
    other_email_since = (
        Survey.objects.filter(customer=customer, sent_at__gt=survey.sent_at)
        .exclude(pk=survey.pk)
        .exists()
    )
    return rules.reminder_block_reason(
        reminder_days=policy.reminder_days,
        throttle_days=policy.throttle_days,
        sent_at=survey.sent_at,
        expires_at=survey.expires_at,
        already_reminded=survey.reminded_at is not None,
        answered=survey.state == State.ANSWERED,
        ticket_reopened=not ticket.is_solved
        or (ticket.solved_at is not None and ticket.solved_at > survey.sent_at),
        opted_out=customer.is_opted_out,
        other_email_since=other_email_since,
        now=now,
        suppressed_reason=suppressed_reason(customer),
    )
