"""The one reminder of an unanswered survey email."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Exists, Min, OuterRef
from django.utils import timezone

from . import emails, rules
from .models import Invitation, Response, SurveyPolicy, by_question_order
from .services import suppressed_reason
from .tokens import token_new

logger = logging.getLogger(__name__)

State = Invitation.State


def reminders_due(*, now: datetime, limit: int = 1000) -> list[int]:
    """One invitation id per survey email that may get its reminder now.

    The query narrows to the candidates; rules.reminder_block_reason decides.
    """
    policy = SurveyPolicy.load()
    if not policy.reminder_days:
        return []
    window = policy.throttle_days or policy.answer_days
    answered = Response.objects.filter(invitation__token_hash=OuterRef("token_hash"))
    rows = (
        Invitation.objects.filter(
            state=State.SENT,
            reminded_at__isnull=True,
            sent_at__lte=now - timedelta(days=policy.reminder_days),
            sent_at__gt=now - timedelta(days=window),
            customer__opted_out_at__isnull=True,
            customer__suppressed_at__isnull=True,
        )
        .exclude(token_hash="")
        .exclude(Exists(answered))
        .values("token_hash")
        .annotate(first=Min("pk"), sent=Min("sent_at"))
        .order_by("sent")
    )
    return [row["first"] for row in rows[:limit]]


def survey_reminder_send(*, invitation_id: int, now: datetime | None = None) -> list[Invitation]:
    """Send the one reminder of an unanswered survey email. Claimed with a
    conditional UPDATE of reminded_at, so it goes out once however often this runs.
    A failed send is given back to the next sweep. Returns the invitations reminded."""
    now = now or timezone.now()
    lead = Invitation.objects.filter(pk=invitation_id).exclude(token_hash="").first()
    if lead is None:
        return []
    siblings = Invitation.objects.filter(token_hash=lead.token_hash)
    invitations = by_question_order(
        list(siblings.select_related("ticket", "customer", "agent", "response"))
    )
    policy = SurveyPolicy.load()
    reason = _reminder_block_reason(invitations, now, policy)
    if reason:
        logger.info("no reminder for invitation %s: %s", invitation_id, reason)
        return []
    token, hashed = token_new()
    answered = Response.objects.filter(invitation__token_hash=lead.token_hash)
    claimed = (
        siblings.filter(reminded_at__isnull=True)
        .exclude(Exists(answered))
        .update(reminded_at=now, reminder_token_hash=hashed)
    )
    if not claimed:
        return []
    unanswered = [i for i in invitations if i.state == State.SENT]
    message = emails.survey_reminder_email(invitations=unanswered, token=token, policy=policy)
    try:
        message.send()
    except Exception as exc:
        logger.warning("reminder for invitation %s not sent, will retry: %s", invitation_id, exc)
        siblings.filter(reminded_at=now).update(reminded_at=None, reminder_token_hash="")
        return []
    siblings.filter(reminded_at=now).update(reminder_message_id=emails.message_id(message)[:255])
    return unanswered


def _reminder_block_reason(
    invitations: list[Invitation], now: datetime, policy: SurveyPolicy
) -> str:
    first = invitations[0]
    ticket, customer = first.ticket, first.customer
    other_email_since = (
        Invitation.objects.filter(customer=customer, sent_at__gt=first.sent_at)
        .exclude(token_hash=first.token_hash)
        .exists()
    )
    return rules.reminder_block_reason(
        reminder_days=policy.reminder_days,
        throttle_days=policy.throttle_days,
        sent_at=first.sent_at,
        expires_at=first.expires_at,
        already_reminded=any(i.reminded_at for i in invitations),
        answered=any(i.state == State.ANSWERED or hasattr(i, "response") for i in invitations),
        ticket_reopened=not ticket.is_solved
        or (ticket.solved_at is not None and ticket.solved_at > first.sent_at),
        opted_out=customer.is_opted_out,
        other_email_since=other_email_since,
        now=now,
        suppressed_reason=suppressed_reason(customer),
    )
