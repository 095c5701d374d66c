"""Writes for tickets and customers: ticket ingestion, the survey invitations a solved
ticket gets, and who may be mailed (opt-out, suppression). Sending is in
surveys/sending.py, answers in surveys/answering.py, link fetches in surveys/clicks.py,
reminders in surveys/reminders.py."""

from __future__ import annotations

import functools
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import emails, rules, sql
from .addresses import address_hash
from .models import (
    Agent,
    Category,
    Customer,
    ErasedAddress,
    Invitation,
    Survey,
    SurveyPolicy,
    Team,
    Ticket,
    setup_cache,
)
from .queue import enqueue

logger = logging.getLogger(__name__)
User = get_user_model()

# Tickets solved longer ago than this (a history import) are stored but not surveyed.
STALE_AFTER = timedelta(days=7)

State = Survey.State


@dataclass(frozen=True)
class IngestResult:
    ticket: Ticket
    created: bool
    changed: bool
    # The survey this event planned and its questions, when it planned one.
    survey: Survey | None = None
    questions: tuple[Invitation, ...] = ()


# --- Tickets -------------------------------------------------------------------------


def customer_upsert(*, email: str, name: str = "", locale: str = "") -> Customer:
    """The customer with this address, made or updated from a helpdesk's data; read
    with when they were last asked NPS (last_nps_at), which a solved ticket needs."""
    email = email.strip().lower()
    customer = _known_customer(email)
    if customer is None:
        customer, created = Customer.objects.get_or_create(
            email=email, defaults={"name": name, "locale": rules.locale_normalise(locale)}
        )
        if created:
            customer.last_nps_at = None
            _erased_address_honoured(customer)
            return customer
        customer = _known_customer(email) or customer  # another request made it just now
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


def _known_customer(email: str) -> Customer | None:
    """The customer with this (folded) address with their last_nps_at, or None: one
    hand-written statement (every ticket event of a known customer asks)."""
    statement, columns = _known_customer_sql()
    with sql.cursor() as db:
        db.execute(statement, ["nps", *_NOT_ASKED, email])
        row = db.fetchone()
    if row is None:
        return None
    customer = columns.build(row)
    customer.last_nps_at = sql.converted(Survey._meta.get_field("sent_at"), row[columns.end])
    return customer


# A survey in these states never asked its NPS question.
_NOT_ASKED = (str(State.SUPPRESSED), str(State.FAILED), str(State.CANCELLED))


@functools.cache
def _known_customer_sql() -> tuple[str, sql.Columns]:
    """The customer's row, and when they were last asked NPS: the latest NPS question
    sent or planned (its survey's sent_at, else send_after) of a survey not
    suppressed, failed or cancelled. Written once."""
    quote = connection.ops.quote_name
    columns = sql.Columns(Customer, "c", 0)
    invitation, survey, customer = (quote(m._meta.db_table) for m in (Invitation, Survey, Customer))
    states = ", ".join(["%s"] * len(_NOT_ASKED))
    last_nps = (
        f"SELECT MAX(COALESCE(s.sent_at, s.send_after)) FROM {invitation} i "  # noqa: S608
        f"JOIN {survey} s ON s.id = i.survey_id WHERE s.customer_id = c.id "
        f"AND i.kind = %s AND s.state NOT IN ({states})"
    )
    statement = (
        f"SELECT {columns.select}, ({last_nps}) FROM {customer} c "  # noqa: S608
        "WHERE c.email = %s LIMIT 1"
    )
    return statement, columns


def _erased_address_honoured(customer: Customer) -> None:
    """A new customer whose address was erased after they had opted out, or after
    mail to it bounced, is not mailed either."""
    erased = ErasedAddress.objects.filter(address_hash=address_hash(customer.email)).first()
    if erased is None:
        return
    changes = {
        "opted_out_at": customer.created_at if erased.opted_out else None,
        "suppressed_at": customer.created_at if erased.suppressed else None,
        "suppressed_reason": "mail to this address bounced before it was erased"
        if erased.suppressed
        else "",
    }
    Customer.objects.filter(pk=customer.pk).update(**changes)
    for field, value in changes.items():
        setattr(customer, field, value)


def agent_upsert(*, email: str, name: str = "", team: Team | None = None) -> Any:
    """The agent's user, made on first sight (with its Agent row); an agent without a
    team joins the event's. A known agent takes one query."""
    email = email.strip().lower()
    agent = _known_agent(email)
    if agent is None:
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
    return agent.user


def _known_agent(username: str) -> Agent | None:
    """The agent whose user has this username, with the user, or None."""
    statement, agent_columns, user_columns = _known_agent_sql()
    with sql.cursor() as db:
        db.execute(statement, [username])
        row = db.fetchone()
    if row is None:
        return None
    agent = agent_columns.build(row)
    agent.user = user_columns.build(row)
    return agent


@functools.cache
def _known_agent_sql() -> tuple[str, sql.Columns, sql.Columns]:
    quote = connection.ops.quote_name
    agents = sql.Columns(Agent, "a", 0)
    users = sql.Columns(User, "u", agents.end)
    statement = (
        f"SELECT {agents.select}, {users.select} FROM {quote(Agent._meta.db_table)} a "  # noqa: S608
        f"JOIN {quote(User._meta.db_table)} u ON u.id = a.user_id "
        "WHERE u.username = %s LIMIT 1"
    )
    return statement, agents, users


def ticket_ingest(
    *, event: dict[str, Any], now: datetime | None = None, embedded: str = ""
) -> IngestResult:
    """Create or update a ticket from a helpdesk event; safe to repeat.

    A solved ticket gets its survey scheduled; a reopened one has a survey that has
    not gone out yet cancelled. Sending is left to the sweep (or queued at once
    when SURVEY_SEND_DELAY is 0). With `embedded` ("signed" or "unsigned") the
    helpdesk's own email carries the rating buttons: the survey waits for their click
    and Kundpuls sends no email of its own.
    """
    now = now or timezone.now()
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _ticket_ingest(event, now, embedded)
        except IntegrityError:
            # Another request created the same customer, agent or ticket first.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _ticket_ingest(event: dict[str, Any], now: datetime, embedded: str = "") -> IngestResult:
    requester = event["requester"]
    customer = customer_upsert(
        email=requester["email"], name=requester.get("name", ""), locale=requester.get("locale", "")
    )
    team = _team(event["team"]) if event.get("team") else None
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
        "category": category_ensure(event.get("category", "")),
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
    ticket = sql.first(Ticket, lock=True, source=event["source"], external_id=event["external_id"])
    if ticket is None:
        ticket = sql.row_create(
            Ticket(source=event["source"], external_id=event["external_id"], **fields)
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
    survey, questions = None, []
    if ticket.is_solved and (created or not was_solved or reopened):
        survey, questions = _survey_schedule(
            ticket=ticket, now=now, new_ticket=created, embedded=embedded
        )
    return IngestResult(
        ticket=ticket, created=created, changed=changed, survey=survey, questions=tuple(questions)
    )


def _team(name: str) -> Team:
    """The team with this name, made on first sight."""
    return sql.first(Team, name=name) or Team.objects.get_or_create(name=name)[0]


def category_ensure(raw: str) -> str:
    """The key of a ticket's category (case and spacing folded), its Category row made
    with this spelling as its name if it is new. Returns "" for none. The known keys
    are read once into the setup_cache, so a ticket event costs no query for it."""
    key = rules.category_key(raw)
    if key and key not in Category.names():
        Category.objects.bulk_create(
            [Category(key=key, name=rules.category_name(raw))], ignore_conflicts=True
        )
        setup_cache.clear()
    return key


def invitations_cancel(*, ticket: Ticket, reason: str) -> int:
    """Cancel the ticket's survey if it has not gone out yet."""
    return Survey.objects.filter(ticket=ticket, state=State.SCHEDULED).update(
        state=State.CANCELLED, reason=reason
    )


def _last_nps_at(customer: Customer) -> datetime | None:
    if hasattr(customer, "last_nps_at"):  # read with the customer (customer_upsert)
        return customer.last_nps_at
    known = _known_customer(customer.email)
    return known.last_nps_at if known is not None else None


def _survey_schedule(
    *, ticket: Ticket, now: datetime, new_ticket: bool = False, embedded: str = ""
) -> tuple[Survey | None, list[Invitation]]:
    """Plan the survey for a solved ticket: one Survey and a question (Invitation)
    per kind due. A survey cancelled when the ticket was reopened is planned again;
    a ticket surveyed already is not. Returns the survey planned (scheduled, or
    suppressed with the reason) and all its questions; (None, []) when the ticket
    was surveyed already."""
    survey = None if new_ticket else Survey.objects.filter(ticket=ticket).first()
    if survey is not None and survey.state != State.CANCELLED:
        return None, []  # surveyed already
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
    values = {
        "customer": customer,
        "state": State.SCHEDULED if plan.kinds else State.SUPPRESSED,
        "reason": plan.skip_reason,
        "agent": ticket.assignee,
        "team": ticket.team,
        "channel": ticket.channel,
        "category": ticket.category,
        "locale": customer.locale,
        "send_after": max(now, solved_at + timedelta(seconds=settings.SURVEY_SEND_DELAY)),
        "attempts": 0,
        "embedded": embedded,
    }
    if embedded and plan.kinds:
        # The helpdesk's solved email carries the buttons: "sent" with it, no email here.
        sent = min(solved_at, now)
        values |= {"state": State.SENT, "send_after": sent, "sent_at": sent}
        values["expires_at"] = sent + timedelta(days=policy.answer_days)
    if survey is None:
        survey = sql.row_create(Survey(ticket=ticket, link_key=secrets.token_hex(32), **values))
    else:
        Survey.objects.filter(pk=survey.pk).update(**values)
        for name, value in values.items():
            setattr(survey, name, value)
        survey.invitations.all().delete()
    # A suppressed survey keeps the question it would have opened with, for the record.
    kinds = plan.kinds or ("csat",)
    scales = {"csat": policy.csat_scale, "ces": policy.ces_scale, "nps": 11}
    questions = sql.rows_create(
        [
            Invitation(
                survey=survey,
                kind=kind,
                scale_points=scales[kind],
                inverted=kind == "ces" and policy.ces_inverted,
                created_at=now,
            )
            for kind in kinds
        ]
    )
    if plan.kinds and settings.SURVEY_SEND_DELAY == 0 and not embedded:
        enqueue("surveys.tasks.survey_email_send", ticket.pk)
    return survey, questions


# --- Who may be mailed ---------------------------------------------------------------


def customer_opt_out(*, customer: Customer, now: datetime | None = None) -> Customer:
    """Stop every survey email to this customer, the ones already scheduled too."""
    now = now or timezone.now()
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk, opted_out_at__isnull=True).update(opted_out_at=now)
        Survey.objects.filter(customer=customer, state=State.SCHEDULED).update(
            state=State.SUPPRESSED, reason="customer opted out"
        )
    customer.refresh_from_db()
    return customer


def customer_opt_in(*, customer: Customer) -> Customer:
    Customer.objects.filter(pk=customer.pk).update(opted_out_at=None)
    customer.refresh_from_db()
    return customer


UNSUBSCRIBE_LINK_GAP = timedelta(hours=1)


def unsubscribe_link_ask(*, customer: Customer, now: datetime) -> bool:
    """Note that the customer asked for a fresh unsubscribe link (from an expired one).
    False when one went out within the hour: a link clicked repeatedly, or by a
    scanner, mails the customer once. The sweep sends it (surveys.tasks)."""
    recent = Q(unsubscribe_link_sent_at__gt=now - UNSUBSCRIBE_LINK_GAP)
    asked = Customer.objects.filter(pk=customer.pk).exclude(recent)
    return bool(asked.update(unsubscribe_link_due_at=Coalesce("unsubscribe_link_due_at", now)))


def unsubscribe_links_due() -> list[int]:
    return list(
        Customer.objects.filter(unsubscribe_link_due_at__isnull=False).values_list("pk", flat=True)
    )


def unsubscribe_link_send(*, customer_id: int, now: datetime) -> bool:
    """Send the asked-for link once: the claim clears the request before the send."""
    claimed = Customer.objects.filter(pk=customer_id, unsubscribe_link_due_at__isnull=False)
    if not claimed.update(unsubscribe_link_due_at=None, unsubscribe_link_sent_at=now):
        return False
    customer = Customer.objects.get(pk=customer_id)
    emails.unsubscribe_link_email(customer=customer, policy=SurveyPolicy.load()).send()
    return True


# --- What the email provider reported ------------------------------------------------


def customer_suppress(*, customer: Customer, reason: str, now: datetime) -> Customer:
    """Send no survey email or reminder to this address again, the scheduled ones
    included. Safe to repeat: the first reason is kept."""
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk, suppressed_at__isnull=True).update(
            suppressed_at=now, suppressed_reason=reason[:200]
        )
        customer.refresh_from_db()
        Survey.objects.filter(customer=customer, state=State.SCHEDULED).update(
            state=State.SUPPRESSED, reason=rules.suppression_text(customer.suppressed_reason)[:300]
        )
    return customer


def customer_unsuppress(*, customer: Customer) -> Customer:
    """Mail this address again (an admin fixed or confirmed it); from the next survey on."""
    Customer.objects.filter(pk=customer.pk).update(suppressed_at=None, suppressed_reason="")
    customer.refresh_from_db()
    return customer


def suppressed_reason(customer: Customer) -> str | None:
    """None unless the provider reported the address bouncing or complaining."""
    return customer.suppressed_reason if customer.suppressed_at is not None else None
