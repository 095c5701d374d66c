"""Sending survey emails: the sweep's due tickets, the claimed send of one email,
failures and retries, expiry, and what the email provider reported about a sent email.
Reminders are in surveys/reminders.py."""

from __future__ import annotations

import logging
import random
import smtplib
from datetime import datetime, timedelta

from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db.models import Max, Q
from django.utils import timezone

from . import emails, rules, signals
from .models import Invitation, Survey, SurveyLink, SurveyPolicy
from .queue import not_queued
from .services import customer_suppress, suppressed_reason
from .tokens import survey_token

logger = logging.getLogger(__name__)

State = Survey.State


# A send claimed longer ago than this died with its worker; it is tried again.
SENDING_TIMEOUT = timedelta(minutes=15)


def surveys_due(*, now: datetime, limit: int = 2000) -> dict[int, int]:
    """Surveys ready to go out whose send is not already waiting in the broker (survey:
    its ticket, which the send task takes)."""
    return dict(
        Survey.objects.filter(
            not_queued(now, due_field="send_after"), state=State.SCHEDULED, send_after__lte=now
        )
        .order_by("send_after")
        .values_list("pk", "ticket_id")[:limit]
    )


def invitations_rescue(*, now: datetime) -> int:
    """Put sends whose worker died back in the queue."""
    return Survey.objects.filter(state=State.SENDING, claimed_at__lt=now - SENDING_TIMEOUT).update(
        state=State.SCHEDULED
    )


def invitations_expire(*, now: datetime) -> int:
    return Survey.objects.filter(state=State.SENT, expires_at__lt=now).update(state=State.EXPIRED)


def survey_link(survey: Survey, purpose: str = SurveyLink.Purpose.SURVEY) -> str:
    """The survey's link token for its email (or its reminder), kept as a hash on
    first use: the same token every time it is asked for."""
    token, hashed = survey_token(link_key=survey.link_key, purpose=purpose)
    SurveyLink.objects.get_or_create(
        token_hash=hashed, defaults={"survey": survey, "purpose": purpose}
    )
    return token


def survey_emails_send(*, ticket_ids: list[int], claim: str = "") -> int:
    """Send these tickets' due survey emails, one after the other over one connection
    to the mail server (or the provider's API), opened again after a failure.
    Returns how many went out."""
    connection = get_connection()
    sent = 0
    try:
        for ticket_id in ticket_ids:
            sent += bool(survey_email_send(ticket_id=ticket_id, claim=claim, connection=connection))
    finally:
        connection.close()
    return sent


def survey_email_send(
    *,
    ticket_id: int,
    now: datetime | None = None,
    claim: str = "",
    connection: BaseEmailBackend | None = None,
) -> list[Invitation]:
    """Send the ticket's survey, if due, in one email.

    The survey is claimed first (scheduled -> sending) with a conditional UPDATE, so a
    second worker or a repeated task finds nothing to send; `claim` (the task's id)
    lets the same task, delivered again after its worker died mid-send, take its own
    claim back and send again. Whatever the tries, the email is the same: the same
    links and the same Message-ID. Temporary SMTP failures put it back with a backoff;
    permanent ones mark it failed and stop mail to the address. A batch passes its
    open `connection`; it is closed after a failure and opened again for the next.
    Returns the questions sent.
    """
    now = now or timezone.now()
    mine = Q(state=State.SCHEDULED)
    if claim:
        mine |= Q(state=State.SENDING, claim=claim)
    claimed = Survey.objects.filter(mine, ticket_id=ticket_id, send_after__lte=now).update(
        state=State.SENDING, claimed_at=now, claim=claim
    )
    if not claimed:
        return []
    survey = Survey.objects.select_related("ticket", "customer", "agent").get(ticket_id=ticket_id)
    policy = SurveyPolicy.load()
    invitations = _drop_blocked(survey, policy, now)
    if not invitations:
        return []
    token = survey_link(survey)
    message = emails.survey_email(invitations=invitations, token=token, policy=policy)
    try:
        if connection is not None:
            connection.open()  # a no-op while it is open
            message.connection = connection
        message.send()
    except Exception as exc:
        if connection is not None:
            connection.close()  # the next email of the batch opens a fresh one
        _send_failed(survey, exc, now)
        return []
    Survey.objects.filter(pk=survey.pk).update(
        state=State.SENT,
        sent_at=now,
        expires_at=now + timedelta(days=policy.answer_days),
        attempts=survey.attempts + 1,
        # The reason NPS was left out, if it was.
        reason=survey.reason,
        # The provider's events about this email name it by this id.
        message_id=emails.message_id(message)[:255],
    )
    survey.state, survey.sent_at = State.SENT, now
    signals.survey_changed_send(survey)
    return invitations


def _drop_blocked(survey: Survey, policy: SurveyPolicy, now: datetime) -> list[Invitation]:
    """Suppress a claimed survey the rules no longer allow, or leave out its NPS
    question when NPS was asked too recently; return the questions to send."""
    customer = survey.customer
    last_email_at = (
        Survey.objects.filter(customer=customer, sent_at__isnull=False)
        .exclude(pk=survey.pk)
        .aggregate(last=Max("sent_at"))["last"]
    )
    reason = rules.send_block_reason(
        opted_out=customer.is_opted_out,
        last_email_at=last_email_at,
        throttle_days=policy.throttle_days,
        now=now,
        suppressed_reason=suppressed_reason(customer),
    )
    if reason:
        Survey.objects.filter(pk=survey.pk).update(state=State.SUPPRESSED, reason=reason)
        return []
    survey.reason = ""
    invitations = survey.questions
    last_nps = (
        Invitation.objects.filter(
            survey__customer=customer, kind="nps", survey__sent_at__isnull=False
        )
        .exclude(survey=survey)  # a try again of this very email asks nothing new
        .aggregate(last=Max("survey__sent_at"))["last"]
    )
    if not rules.nps_due(last_nps_at=last_nps, interval_days=policy.nps_interval_days, now=now):
        nps = [i for i in invitations if i.kind == "nps"]
        if nps:
            # Not asked: the question goes, the survey says why.
            survey.reason = f"NPS left out: asked in the last {policy.nps_interval_days} days"
            Invitation.objects.filter(pk__in=[i.pk for i in nps]).delete()
            invitations = [i for i in invitations if i.kind != "nps"]
            if not invitations:
                Survey.objects.filter(pk=survey.pk).update(
                    state=State.SUPPRESSED, reason=survey.reason
                )
    return invitations


def _send_failed(survey: Survey, exc: Exception, now: datetime) -> None:
    attempts = survey.attempts + 1
    permanent = _is_permanent(exc)
    if permanent or attempts >= rules.MAX_SEND_ATTEMPTS:
        logger.error("survey email for ticket %s failed for good: %s", survey.ticket_id, exc)
        Survey.objects.filter(pk=survey.pk).update(
            state=State.FAILED, attempts=attempts, reason=str(exc)[:300]
        )
        if permanent:
            # The mail server refused the address for good (e.g. 550 5.1.1 no such user):
            # like a provider's hard bounce, no survey email goes to it again.
            customer_suppress(
                customer=survey.customer, reason=f"refused by the mail server: {exc}", now=now
            )
    else:
        logger.warning("survey email for ticket %s will be retried: %s", survey.ticket_id, exc)
        Survey.objects.filter(pk=survey.pk).update(
            state=State.SCHEDULED,
            attempts=attempts,
            # Spread the retries of a failed batch so they do not all come back at once.
            send_after=now + rules.retry_delay(attempts, jitter=random.uniform(-0.2, 0.2)),  # noqa: S311
            reason=str(exc)[:300],
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


def survey_email_delivered(*, survey: Survey, at: datetime) -> None:
    """The provider delivered this survey's email."""
    Survey.objects.filter(pk=survey.pk, delivered_at__isnull=True).update(delivered_at=at)


def survey_email_refused(
    *, survey: Survey, message_id: str, complained: bool, reason: str, at: datetime
) -> None:
    """A hard bounce, a rejection or a spam complaint about the email `message_id` (the
    survey's email, or its reminder): mark the survey, send the address nothing
    again, and tell the metrics (the response rate counts delivered emails: a bounced
    or complained one leaves it). Safe to repeat."""
    if complained:
        Survey.objects.filter(pk=survey.pk, complained_at__isnull=True).update(complained_at=at)
    elif message_id == survey.message_id:
        Survey.objects.filter(pk=survey.pk, bounced_at__isnull=True).update(bounced_at=at)
    customer_suppress(customer=survey.customer, reason=reason, now=at)
    signals.survey_changed_send(survey)
