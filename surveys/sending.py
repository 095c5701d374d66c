"""Sending survey emails: the sweep's due tickets, the claimed send of one email,
failures and retries, expiry, and what the email provider reported about a sent email.
Reminders are in surveys/reminders.py."""

from __future__ import annotations

import logging
import random
import smtplib
import uuid
from datetime import datetime, timedelta

from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db.models import Max, Q
from django.utils import timezone

from . import emails, rules, signals, sql
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
    return survey_links([survey], purpose)[survey.pk]


def survey_links(surveys: list[Survey], purpose: str = SurveyLink.Purpose.SURVEY) -> dict[int, str]:
    """survey_link for many surveys (by survey): their hashes kept in one statement."""
    tokens, links = {}, []
    for survey in surveys:
        token, hashed = survey_token(link_key=survey.link_key, purpose=purpose)
        tokens[survey.pk] = token
        links.append(SurveyLink(survey=survey, token_hash=hashed, purpose=purpose))
    SurveyLink.objects.bulk_create(links, ignore_conflicts=True)
    return tokens


def survey_emails_send(*, ticket_ids: list[int], claim: str = "") -> int:
    """Send these tickets' due survey emails, one after the other over one connection
    to the mail server (or the provider's API), opened again after a failure.
    Returns how many went out."""
    connection = get_connection()
    try:
        sent = _surveys_send(ticket_ids=ticket_ids, claim=claim, connection=connection)
    finally:
        connection.close()
    return sum(1 for questions in sent.values() if questions)


def survey_email_send(
    *, ticket_id: int, now: datetime | None = None, claim: str = ""
) -> list[Invitation]:
    """Send the ticket's survey, if due, in one email; returns the questions sent."""
    return _surveys_send(ticket_ids=[ticket_id], now=now, claim=claim).get(ticket_id, [])


def _surveys_send(
    *,
    ticket_ids: list[int],
    now: datetime | None = None,
    claim: str = "",
    connection: BaseEmailBackend | None = None,
) -> dict[int, list[Invitation]]:
    """Send the due survey emails of these tickets; by ticket, the questions sent.

    The surveys are claimed first (scheduled -> sending) with one conditional UPDATE,
    so a second worker or a repeated task finds nothing to send; `claim` (the task's
    id) lets the same task, delivered again after its worker died mid-send, take its
    own claims back and send what is still claimed. Whatever the tries, an email is
    the same: the same links and the same Message-ID. Temporary SMTP failures put it
    back with a backoff; permanent ones mark it failed and stop mail to the address.
    What the rules need (each customer's last email and last NPS question) is read
    once for the batch. A batch passes its open `connection`; it is closed after a
    failure and opened again for the next email.
    """
    claimed_at = now or timezone.now()
    claim = claim or f"run-{uuid.uuid4().hex}"
    mine = Q(state=State.SCHEDULED) | Q(state=State.SENDING, claim=claim)
    Survey.objects.filter(mine, ticket_id__in=ticket_ids, send_after__lte=claimed_at).update(
        state=State.SENDING, claimed_at=claimed_at, claim=claim
    )
    surveys = list(
        Survey.objects.filter(ticket_id__in=ticket_ids, state=State.SENDING, claim=claim)
        .select_related("ticket", "customer", "agent")
        .prefetch_related("invitations")
        .order_by("pk")
    )
    if not surveys:
        return {}
    policy = SurveyPolicy.load()
    history = _SendHistory(surveys)
    tokens = survey_links(surveys)
    sent: dict[int, list[Invitation]] = {}
    for survey in surveys:
        at = now or timezone.now()
        invitations = _drop_blocked(survey, policy, at, history)
        sent[survey.ticket_id] = []
        if not invitations:
            continue
        message = emails.survey_email(
            invitations=invitations, token=tokens[survey.pk], policy=policy
        )
        try:
            if connection is not None:
                connection.open()  # a no-op while it is open
                message.connection = connection
            message.send()
        except Exception as exc:
            if connection is not None:
                connection.close()  # the next email of the batch opens a fresh one
            _send_failed(survey, exc, at)
            continue
        survey.state, survey.sent_at = State.SENT, at
        survey.expires_at = at + timedelta(days=policy.answer_days)
        survey.attempts += 1
        # The provider's events about this email name it by this id; `reason` says
        # why NPS was left out, if it was.
        survey.message_id = emails.message_id(message)[:255]
        sql.row_update(survey, _SENT_FIELDS)
        history.sent(survey, invitations, at)
        sent[survey.ticket_id] = invitations
    mailed = [survey for survey in surveys if sent[survey.ticket_id]]
    if mailed:
        signals.surveys_sent.send(sender=Survey, surveys=mailed)
    return sent


_SENT_FIELDS = ("state", "sent_at", "expires_at", "attempts", "reason", "message_id")


class _SendHistory:
    """When each customer of a batch was last emailed a survey and last asked NPS,
    by other surveys than the batch's (a try again of an email asks nothing new),
    kept up to date as the batch sends."""

    def __init__(self, surveys: list[Survey]) -> None:
        customers = {survey.customer_id for survey in surveys}
        batch = [survey.pk for survey in surveys]
        self.last_email: dict[int, datetime] = dict(
            Survey.objects.filter(customer_id__in=customers, sent_at__isnull=False)
            .exclude(pk__in=batch)
            .order_by()
            .values("customer_id")
            .annotate(last=Max("sent_at"))
            .values_list("customer_id", "last")
        )
        self.last_nps: dict[int, datetime] = dict(
            Invitation.objects.filter(
                survey__customer_id__in=customers, kind="nps", survey__sent_at__isnull=False
            )
            .exclude(survey_id__in=batch)
            .order_by()
            .values("survey__customer_id")
            .annotate(last=Max("survey__sent_at"))
            .values_list("survey__customer_id", "last")
        )

    def sent(self, survey: Survey, invitations: list[Invitation], at: datetime) -> None:
        self.last_email[survey.customer_id] = at
        if any(i.kind == "nps" for i in invitations):
            self.last_nps[survey.customer_id] = at


def _drop_blocked(
    survey: Survey, policy: SurveyPolicy, now: datetime, history: _SendHistory
) -> list[Invitation]:
    """Suppress a claimed survey the rules no longer allow, or leave out its NPS
    question when NPS was asked too recently; return the questions to send."""
    customer = survey.customer
    reason = rules.send_block_reason(
        opted_out=customer.is_opted_out,
        last_email_at=history.last_email.get(customer.pk),
        throttle_days=policy.throttle_days,
        now=now,
        suppressed_reason=suppressed_reason(customer),
    )
    if reason:
        Survey.objects.filter(pk=survey.pk).update(state=State.SUPPRESSED, reason=reason)
        return []
    survey.reason = ""
    invitations = survey.questions
    last_nps = history.last_nps.get(customer.pk)
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
