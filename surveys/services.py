"""Writes and sends for the survey side: ticket ingestion, survey emails, answers.
Link fetches are in surveys/clicks.py, reminders in surveys/reminders.py."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import emails, rules, scoring, signals
from .models import (
    Agent,
    Customer,
    Invitation,
    Response,
    ResponseRevision,
    SurveyPolicy,
    Team,
    Ticket,
    by_question_order,
)
from .queue import enqueue
from .tokens import token_new

logger = logging.getLogger(__name__)
User = get_user_model()

# Tickets solved longer ago than this (a history import) are stored but not surveyed.
STALE_AFTER = timedelta(days=7)
# A send claimed longer ago than this died with its worker; it is tried again.
SENDING_TIMEOUT = timedelta(minutes=15)

State = Invitation.State


@dataclass(frozen=True)
class IngestResult:
    ticket: Ticket
    created: bool
    changed: bool


# --- Tickets -------------------------------------------------------------------------


def customer_upsert(*, email: str, name: str = "", locale: str = "") -> Customer:
    email = email.strip().lower()
    customer, created = Customer.objects.get_or_create(
        email=email, defaults={"name": name, "locale": rules.locale_normalise(locale)}
    )
    if not created:
        changes = {}
        if name and name != customer.name:
            changes["name"] = name
        if locale and rules.locale_normalise(locale) != customer.locale:
            changes["locale"] = rules.locale_normalise(locale)
        if changes:
            Customer.objects.filter(pk=customer.pk).update(**changes)
            for field, value in changes.items():
                setattr(customer, field, value)
    return customer


def agent_upsert(*, email: str, name: str = "", team: Team | None = None) -> Any:
    email = email.strip().lower()
    first, _sep, last = name.partition(" ")
    user, created = User.objects.get_or_create(
        username=email, defaults={"email": email, "first_name": first, "last_name": last}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    agent, _created = Agent.objects.get_or_create(user=user, defaults={"team": team})
    if team is not None and agent.team_id is None:
        Agent.objects.filter(pk=agent.pk).update(team=team)
    return user


def ticket_ingest(*, event: dict[str, Any], now: datetime | None = None) -> IngestResult:
    """Create or update a ticket from a helpdesk event; safe to repeat.

    A solved ticket gets its survey invitations scheduled; a reopened one has its
    pending invitations cancelled. Sending is left to the sweep (or queued at once
    when SURVEY_SEND_DELAY is 0).
    """
    now = now or timezone.now()
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _ticket_ingest(event, now)
        except IntegrityError:
            # Another request created the same customer, agent or ticket first.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _ticket_ingest(event: dict[str, Any], now: datetime) -> IngestResult:
    requester = event["requester"]
    customer = customer_upsert(
        email=requester["email"], name=requester.get("name", ""), locale=requester.get("locale", "")
    )
    team = Team.objects.get_or_create(name=event["team"])[0] if event.get("team") else None
    assignee = event.get("assignee")
    agent = (
        agent_upsert(email=assignee["email"], name=assignee.get("name", ""), team=team)
        if assignee
        else None
    )
    fields: dict[str, Any] = {
        "subject": event.get("subject", ""),
        "status": event["status"],
        "channel": event.get("channel", ""),
        "category": event.get("category", ""),
        "tags": sorted(set(event.get("tags", []))),
        "url": event.get("url", ""),
        "requester": customer,
        "assignee": agent,
        "team": team,
        "created_at": event["created_at"],
        "first_response_at": event.get("first_response_at"),
        "solved_at": event.get("solved_at"),
        "agent_replies": event.get("agent_replies", 0),
        "reopens": event.get("reopens", 0),
    }
    ticket = (
        Ticket.objects.select_for_update()
        .filter(source=event["source"], external_id=event["external_id"])
        .first()
    )
    if ticket is None:
        ticket = Ticket.objects.create(
            source=event["source"], external_id=event["external_id"], **fields
        )
        created, changed, was_solved, old_reopens = True, True, False, 0
    else:
        created, was_solved, old_reopens = False, ticket.is_solved, ticket.reopens
        if was_solved and fields["status"] in (Ticket.Status.SOLVED, Ticket.Status.CLOSED):
            # Credit stays with whoever solved it, whatever the helpdesk does later.
            fields["assignee"], fields["team"] = ticket.assignee, ticket.team
        changed = any(getattr(ticket, name) != value for name, value in fields.items())
        if changed:
            for name, value in fields.items():
                setattr(ticket, name, value)
            ticket.save()

    reopened = (was_solved and not ticket.is_solved) or ticket.reopens > old_reopens
    if reopened:
        invitations_cancel(ticket=ticket, reason="ticket reopened before the survey was sent")
    if ticket.is_solved and (created or not was_solved or reopened):
        invitations_schedule(ticket=ticket, now=now)
    return IngestResult(ticket=ticket, created=created, changed=changed)


def invitations_cancel(*, ticket: Ticket, reason: str) -> int:
    return Invitation.objects.filter(ticket=ticket, state=State.SCHEDULED).update(
        state=State.CANCELLED, reason=reason
    )


def _last_nps_at(customer: Customer) -> datetime | None:
    return (
        Invitation.objects.filter(customer=customer, kind="nps")
        .exclude(state__in=[State.SUPPRESSED, State.FAILED, State.CANCELLED])
        .aggregate(last=Max(Coalesce("sent_at", "send_after")))["last"]
    )


def invitations_schedule(*, ticket: Ticket, now: datetime) -> list[Invitation]:
    """Plan the survey for a solved ticket. Returns the invitations scheduled."""
    existing = {inv.kind: inv for inv in ticket.invitations.all()}
    if any(inv.state != State.CANCELLED for inv in existing.values()):
        return []  # surveyed already
    policy = SurveyPolicy.load()
    customer = ticket.requester
    plan = rules.survey_plan(
        requester_email=customer.email,
        opted_out=customer.is_opted_out,
        tags=ticket.tags,
        excluded_tags=policy.excluded_tags,
        internal_domains=policy.internal_domains,
        ces_enabled=policy.ces_enabled,
        nps_enabled=policy.nps_enabled,
        last_nps_at=_last_nps_at(customer),
        nps_interval_days=policy.nps_interval_days,
        now=now,
        suppressed_reason=suppressed_reason(customer),
    )
    solved_at = ticket.solved_at or now
    if plan.kinds and solved_at < now - STALE_AFTER:
        plan = rules.SurveyPlan((), "solved too long ago to survey")
    send_after = max(now, solved_at + timedelta(seconds=settings.SURVEY_SEND_DELAY))
    state = State.SCHEDULED if plan.kinds else State.SUPPRESSED
    scheduled = []
    for kind in plan.kinds or ("csat",):
        values = {
            "customer": customer,
            "state": state,
            "reason": plan.skip_reason,
            "scale_points": {"csat": policy.csat_scale, "ces": policy.ces_scale, "nps": 11}[kind],
            "inverted": kind == "ces" and policy.ces_inverted,
            "agent": ticket.assignee,
            "team": ticket.team,
            "channel": ticket.channel,
            "category": ticket.category,
            "locale": customer.locale,
            "send_after": send_after,
            "attempts": 0,
            "token_hash": "",
        }
        inv, _created = Invitation.objects.update_or_create(
            ticket=ticket, kind=kind, defaults=values
        )
        if state == State.SCHEDULED:
            scheduled.append(inv)
    if scheduled and settings.SURVEY_SEND_DELAY == 0:
        enqueue("surveys.tasks.survey_email_send", ticket.pk)
    return scheduled


# --- Sending -------------------------------------------------------------------------


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
        signals.invitation_changed.send(sender=Invitation, invitation=inv, answered_at=None)
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


def suppressed_reason(customer: Customer) -> str | None:
    """None unless the provider reported the address bouncing or complaining."""
    return customer.suppressed_reason if customer.suppressed_at is not None else None


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


# --- Answers -------------------------------------------------------------------------


class SurveyClosed(Exception):
    """The survey can no longer be answered (expired, or the edit window passed)."""


def invitations_for_token(token: str) -> list[Invitation]:
    from .tokens import token_hash

    if not token or len(token) > 100:
        return []
    hashed = token_hash(token)
    return by_question_order(
        Invitation.objects.filter(Q(token_hash=hashed) | Q(reminder_token_hash=hashed))
        .exclude(state__in=[State.SCHEDULED, State.SENDING, State.CANCELLED, State.SUPPRESSED])
        .select_related("ticket", "customer", "agent", "response")
    )


def survey_is_expired(invitations: list[Invitation], now: datetime) -> bool:
    unanswered = [i for i in invitations if not hasattr(i, "response")]
    return (
        bool(unanswered)
        and len(unanswered) == len(invitations)
        and all(
            i.state == State.EXPIRED or (i.expires_at and i.expires_at < now) for i in invitations
        )
    )


def survey_edit_closed(invitations: list[Invitation], now: datetime) -> bool:
    policy = SurveyPolicy.load()
    answered = [i.response for i in invitations if hasattr(i, "response")]
    return bool(answered) and all(
        r.answered_at + timedelta(days=policy.edit_days) < now for r in answered
    )


def response_record(
    *,
    invitations: list[Invitation],
    answers: dict[str, int | None],
    comment: str = "",
    now: datetime | None = None,
    held_reason: str = "",
    language: str = "",
) -> list[Response]:
    """Store the customer's answers (a change within the edit window replaces the
    previous answer and keeps it as history). Raises SurveyClosed when too late.

    With a held_reason the answers are kept but held for review: no follow-up, no
    metrics, until an admin approves them (responses_release). A language the
    customer chose on the page is kept for the survey's later pages."""
    now = now or timezone.now()
    held = bool(held_reason)
    if survey_is_expired(invitations, now) or survey_edit_closed(invitations, now):
        raise SurveyClosed
    comment = comment.strip()[: rules.COMMENT_MAX_CHARS]
    answered = [i for i in invitations if answers.get(i.kind) is not None]
    saved: list[Response] = []
    with transaction.atomic():
        for index, inv in enumerate(answered):
            raw = int(answers[inv.kind])  # type: ignore[arg-type]
            low, high = scoring.score_range(kind=inv.kind, scale_points=inv.scale_points)
            if not low <= raw <= high:
                raise ValueError(f"{inv.kind} score {raw} outside {low}-{high}")
            # The comment belongs to the survey, kept once on its first answer.
            text = comment if index == 0 else ""
            score = scoring.normalise(
                kind=inv.kind, raw=raw, scale_points=inv.scale_points, inverted=inv.inverted
            )
            review = {
                "held": held,
                "held_reason": held_reason[:200],
                "released_at": None,
                # A held answer is not processed until it is released.
                "processed_at": now if held else None,
            }
            response, _created = Response.objects.update_or_create(
                invitation=inv,
                defaults={
                    "raw_score": raw,
                    "score": score,
                    "comment": text,
                    "updated_at": now,
                    **review,
                },
                create_defaults={
                    "raw_score": raw,
                    "score": score,
                    "comment": text,
                    "answered_at": now,
                    "updated_at": now,
                    **review,
                },
            )
            ResponseRevision.objects.create(
                response=response, raw_score=raw, comment=text, submitted_at=now
            )
            Invitation.objects.filter(pk=inv.pk).update(state=State.ANSWERED)
            saved.append(response)
        if language in rules.SUPPORTED_LANGUAGES and invitations:
            Invitation.objects.filter(token_hash=invitations[0].token_hash).exclude(
                locale=language
            ).update(locale=language)
        _responses_process(saved)
    return saved


def _responses_process(responses: list[Response]) -> None:
    """Queue the processing of counted answers (response_process); a held answer only
    tells the metrics, after commit, that its invitation changed (it may replace a
    counted one)."""
    for response in responses:
        if response.held:
            transaction.on_commit(partial(_invitation_changed, response.invitation))
        else:
            enqueue("surveys.tasks.response_process", response.pk)


def _invitation_changed(invitation: Invitation, answered_at: datetime | None = None) -> None:
    signals.invitation_changed.send(
        sender=Invitation, invitation=invitation, answered_at=answered_at
    )


def response_process(*, response_id: int, now: datetime | None = None) -> Response | None:
    """Tell the apps built on the core about an answer that counts (signals.answer_counted:
    a follow-up for a low score, the metrics it touches), then mark it processed. Safe
    to repeat; an answer changed meanwhile stays unprocessed and runs again."""
    now = now or timezone.now()
    response = (
        Response.objects.select_related(
            "invitation__ticket", "invitation__agent", "invitation__team"
        )
        .filter(pk=response_id)
        .first()
    )
    if response is None:
        logger.info("response %s is gone; nothing to process", response_id)
        return None
    signals.answer_counted.send(sender=Response, response=response, now=now)
    # Only this version counts as processed: a change made meanwhile runs again.
    Response.objects.filter(pk=response.pk, updated_at=response.updated_at).update(processed_at=now)
    return response


def responses_unprocessed(*, older_than: timedelta, now: datetime) -> list[int]:
    return list(
        Response.objects.filter(processed_at__isnull=True, updated_at__lt=now - older_than)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:1000]
    )


def responses_release(*, response_ids: list[int], now: datetime | None = None) -> int:
    """Count held answers an admin approved: they get follow-ups and enter the
    metrics like any other. Safe to repeat. Returns how many were released."""
    now = now or timezone.now()
    with transaction.atomic():
        released = list(Response.objects.select_for_update().filter(pk__in=response_ids, held=True))
        Response.objects.filter(pk__in=[r.pk for r in released]).update(
            held=False, released_at=now, processed_at=None, updated_at=now
        )
        Invitation.objects.filter(response__in=released).answers_copy()
        for response in released:
            response.held, response.released_at, response.updated_at = False, now, now
            signals.answer_released.send(sender=Response, response=response)
        _responses_process(released)
    return len(released)


def responses_discard(*, response_ids: list[int], now: datetime | None = None) -> int:
    """Delete held answers an admin judged automated; their survey opens again.
    Returns how many were deleted. An answer approved meanwhile is kept: the held
    ones are locked first, as responses_release locks them."""
    with transaction.atomic():
        held = Response.objects.select_for_update().filter(pk__in=response_ids, held=True)
        return responses_delete(response_ids=list(held.values_list("pk", flat=True)), now=now)


def responses_delete(*, response_ids: list[int], now: datetime | None = None) -> int:
    """Delete answers: their surveys open again (unless expired), and the metrics they
    were in are refreshed. Returns how many were deleted."""
    now = now or timezone.now()
    with transaction.atomic():
        answers = Response.objects.filter(pk__in=response_ids)
        answered = dict(answers.values_list("invitation_id", "answered_at"))
        invitations = list(Invitation.objects.filter(pk__in=answered))
        answers.delete()
        reopened = Invitation.objects.filter(pk__in=answered)
        reopened.answers_copy()
        reopened.filter(expires_at__lt=now).update(state=State.EXPIRED)
        reopened.exclude(expires_at__lt=now).update(state=State.SENT)
        for invitation in invitations:
            transaction.on_commit(partial(_invitation_changed, invitation, answered[invitation.pk]))
    return len(invitations)


def customer_opt_out(*, customer: Customer, now: datetime | None = None) -> Customer:
    """Stop every survey email to this customer, the ones already scheduled too."""
    now = now or timezone.now()
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk, opted_out_at__isnull=True).update(opted_out_at=now)
        Invitation.objects.filter(customer=customer, state=State.SCHEDULED).update(
            state=State.SUPPRESSED, reason="customer opted out"
        )
    customer.refresh_from_db()
    return customer


def customer_opt_in(*, customer: Customer) -> Customer:
    Customer.objects.filter(pk=customer.pk).update(opted_out_at=None)
    customer.refresh_from_db()
    return customer


# --- What the email provider reported ------------------------------------------------


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
        _invitation_changed(invitation)


def customer_suppress(*, customer: Customer, reason: str, now: datetime) -> Customer:
    """Send no survey email or reminder to this address again, the scheduled ones
    included. Safe to repeat: the first reason is kept."""
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk, suppressed_at__isnull=True).update(
            suppressed_at=now, suppressed_reason=reason[:200]
        )
        customer.refresh_from_db()
        Invitation.objects.filter(customer=customer, state=State.SCHEDULED).update(
            state=State.SUPPRESSED, reason=rules.suppression_text(customer.suppressed_reason)[:300]
        )
    return customer


def customer_unsuppress(*, customer: Customer) -> Customer:
    """Mail this address again (an admin fixed or confirmed it); from the next survey on."""
    Customer.objects.filter(pk=customer.pk).update(suppressed_at=None, suppressed_reason="")
    customer.refresh_from_db()
    return customer
