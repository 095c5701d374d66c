"""Sending survey emails: the sweep's due tickets, the claimed send of one email,
failures and retries, expiry, and what the email provider reported about a sent email.
Reminders are in surveys/reminders.py."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from . import emails, rules, signals
from .models import (
    Invitation,
    SurveyPolicy,
    by_question_order,
)
from .services import customer_suppress, suppressed_reason
from .tokens import token_new

logger = logging.getLogger(__name__)

State = Invitation.State


# A send claimed longer ago than this died with its worker; it is tried again.
SENDING_TIMEOUT = timedelta(minutes=15)


def tickets_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Tickets with survey invitations ready to go out."""
    return list(
        Invitation.objects.filter(state=State.SCHEDULED, send_after__lte=now)
        .order_by("send_after")
        .values_list("ticket_id", flat=True)
        .distinct()[:limit]
    )


def invitations_rescue(*, now: datetime) -> int:
    """Put sends whose worker died back in the queue."""
    return Invitation.objects.filter(
        state=State.SENDING, claimed_at__lt=now - SENDING_TIMEOUT
    ).update(state=State.SCHEDULED)


def invitations_expire(*, now: datetime) -> int:
    return Invitation.objects.filter(state=State.SENT, expires_at__lt=now).update(
        state=State.EXPIRED
    )


def survey_email_send(*, ticket_id: int, now: datetime | None = None) -> list[Invitation]:
    """Send the due invitations of one ticket in one email.

    The invitations are claimed first (scheduled -> sending) with a conditional
    UPDATE, so a second worker or a repeated task finds nothing to send. Temporary
    SMTP failures put them back with a backoff; permanent ones mark them failed.
    Returns the invitations sent.
    """
    now = now or timezone.now()
    token, hashed = token_new()
    claimed = Invitation.objects.filter(
        ticket_id=ticket_id, state=State.SCHEDULED, send_after__lte=now
    ).update(state=State.SENDING, claimed_at=now, token_hash=hashed)
    if not claimed:
        return []
    invitations = by_question_order(
        Invitation.objects.filter(token_hash=hashed, state=State.SENDING).select_related(
            "ticket", "customer", "agent"
        )
    )
    policy = SurveyPolicy.load()
    invitations = _drop_blocked(invitations, policy, now)
    if not invitations:
        return []
    message = emails.survey_email(invitations=invitations, token=token, policy=policy)
    try:
        message.send()
    except Exception as exc:
        _send_failed(invitations, exc, now)
        return []
    Invitation.objects.filter(pk__in=[i.pk for i in invitations]).update(
        state=State.SENT,
        sent_at=now,
        expires_at=now + timedelta(days=policy.answer_days),
        attempts=invitations[0].attempts + 1,
        reason="",
        # The provider's events about this email name it by this id.
        message_id=emails.message_id(message)[:255],
    )
    for inv in invitations:
        inv.sent_at = now
        signals.invitation_changed_send(inv)
    return invitations


def _drop_blocked(
    invitations: list[Invitation], policy: SurveyPolicy, now: datetime
) -> list[Invitation]:
    """Suppress claimed invitations the rules no longer allow; return the rest."""
    customer = invitations[0].customer
    last_email_at = (
        Invitation.objects.filter(customer=customer, sent_at__isnull=False)
        .exclude(ticket_id=invitations[0].ticket_id)
        .aggregate(last=Max("sent_at"))["last"]
    )
    reason = rules.send_block_reason(
        opted_out=customer.is_opted_out,
        last_email_at=last_email_at,
        throttle_days=policy.throttle_days,
        now=now,
        suppressed_reason=suppressed_reason(customer),
    )
    blocked = list(invitations) if reason else []
    if not reason:
        last_nps = Invitation.objects.filter(
            customer=customer, kind="nps", sent_at__isnull=False
        ).aggregate(last=Max("sent_at"))["last"]
        if not rules.nps_due(last_nps_at=last_nps, interval_days=policy.nps_interval_days, now=now):
            blocked = [i for i in invitations if i.kind == "nps"]
            reason = f"NPS asked in the last {policy.nps_interval_days} days"
    if blocked:
        Invitation.objects.filter(pk__in=[i.pk for i in blocked]).update(
            state=State.SUPPRESSED, reason=reason, token_hash=""
        )
    return [i for i in invitations if i not in blocked]


def _send_failed(invitations: list[Invitation], exc: Exception, now: datetime) -> None:
    attempts = invitations[0].attempts + 1
    permanent = _is_permanent(exc)
    pks = [i.pk for i in invitations]
    if permanent or attempts >= rules.MAX_SEND_ATTEMPTS:
        logger.error(
            "survey email for ticket %s failed for good: %s", invitations[0].ticket_id, exc
        )
        Invitation.objects.filter(pk__in=pks).update(
            state=State.FAILED, attempts=attempts, reason=str(exc)[:300], token_hash=""
        )
    else:
        logger.warning(
            "survey email for ticket %s will be retried: %s", invitations[0].ticket_id, exc
        )
        Invitation.objects.filter(pk__in=pks).update(
            state=State.SCHEDULED,
            attempts=attempts,
            send_after=now + rules.retry_delay(attempts),
            reason=str(exc)[:300],
            token_hash="",
        )


def _is_permanent(exc: Exception) -> bool:
    """A 5xx answer from the mail server will not change on a retry, nor will an
    email provider's refusal of the address or its 4xx answer to the request."""
    from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused

    if isinstance(exc, AnymailRecipientsRefused):
        return True
    if isinstance(exc, AnymailAPIError):
        # 429 is the provider's rate limit: a later try goes through.
        status = exc.status_code or 0
        return 400 <= status < 500 and status != 429
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def survey_email_delivered(*, invitations: list[Invitation], at: datetime) -> None:
    """The provider delivered the survey email of these invitations."""
    Invitation.objects.filter(pk__in=[i.pk for i in invitations], delivered_at__isnull=True).update(
        delivered_at=at
    )


def survey_email_refused(
    *, invitations: list[Invitation], message_id: str, complained: bool, reason: str, at: datetime
) -> None:
    """A hard bounce, a rejection or a spam complaint about the email `message_id` (the
    survey email of these invitations, or its reminder): mark them, send the address
    nothing again, and tell the metrics (the response rate counts delivered emails: a
    bounced or complained one leaves it). Safe to repeat."""
    survey = [i for i in invitations if i.message_id == message_id]
    if complained:
        Invitation.objects.filter(
            pk__in=[i.pk for i in invitations], complained_at__isnull=True
        ).update(complained_at=at)
    else:
        Invitation.objects.filter(pk__in=[i.pk for i in survey], bounced_at__isnull=True).update(
            bounced_at=at
        )
    customer_suppress(customer=invitations[0].customer, reason=reason, now=at)
    for invitation in survey:
        signals.invitation_changed_send(invitation)
