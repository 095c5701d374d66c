"""Erasing a customer: everything that names them, wherever Kundpuls keeps it.

The person's address, name, comments, link clicks, the messages and payloads that
carried them, and their cases' notes and emails are deleted or emptied in one
transaction. What the reports count stays: the survey, its questions and each answer's
score, with the agent, team, channel and category, so every figure is the same after
as before (an erased comment still counts as a comment: Response.comment_erased_at).
The customer row stays as a number with no address; a later ticket from the same
address makes a new customer. Nothing is queued: erasure works with the broker down,
and work already queued finds nothing personal left to send.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from followups.models import FollowUp, FollowUpEvent
from integrations.models import EmailEvent, InboundDelivery, WebhookDelivery, WriteBack
from surveys.addresses import address_hash
from surveys.models import (
    Customer,
    ErasedAddress,
    LinkClick,
    OutboxMessage,
    Response,
    ResponseRevision,
    Survey,
    SurveyLink,
    Ticket,
)

from .audit import audit_record
from .models import AuditEvent

ERASED = "erased with the customer's data"
# What a case's reason and history say about a listed word in the comment.
_COMMENT_MENTION = re.compile(r", comment mentions “[^”]*”")


def address_pattern(address: str) -> re.Pattern[str]:
    """The address as a whole word: anna@kund.example, not hanna@kund.example."""
    return re.compile(rf"(?<![\w.+-]){re.escape(address)}(?![\w-])", re.IGNORECASE)


@dataclass
class Erasure:
    """What an erasure did: the customers erased (by row number) and the rows changed
    or deleted, by kind."""

    customer_ids: list[int] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


def customer_erase(*, email: str, now: datetime | None = None) -> Erasure:
    """Erase the customer with this address and every trace of the address. Safe to
    repeat (a second run finds nothing); an unknown address still has its traces
    (outbox, provider events, webhook bodies) removed."""
    now = now or timezone.now()
    address = email.strip().lower()
    erasure = Erasure()
    with transaction.atomic():
        for customer in Customer.objects.select_for_update().filter(email=address):
            erasure.customer_ids.append(customer.pk)
            erasure.counts += _customer_erase(customer, now)
        if not erasure.customer_ids:  # a customer's erasure does this with their name too
            erasure.counts += _address_traces_erase(address, names=[], comments=[], now=now)
    return erasure


def _customer_erase(customer: Customer, now: datetime) -> Counter[str]:
    counts: Counter[str] = Counter(customers=1)
    address, name = customer.email, customer.name
    if customer.opted_out_at is not None or customer.suppressed_at is not None:
        # They asked not to be mailed (or mail bounced): a new ticket from the address
        # must not mail them. Only a keyed hash of it is kept.
        hashed, _made = ErasedAddress.objects.get_or_create(address_hash=address_hash(address))
        ErasedAddress.objects.filter(pk=hashed.pk).update(
            opted_out=hashed.opted_out or customer.opted_out_at is not None,
            suppressed=hashed.suppressed or customer.suppressed_at is not None,
        )
        counts["erased addresses kept as a hash"] += 1
    tickets = Ticket.objects.filter(requester=customer)
    comments = [
        c
        for c in Response.objects.filter(invitation__survey__customer=customer)
        .exclude(comment="")
        .values_list("comment", flat=True)
    ]
    counts += tickets_erase(tickets, now=now)
    # Survey emails not sent yet never go; their links stop working.
    counts["surveys cancelled"] += Survey.objects.filter(
        customer=customer, state__in=[Survey.State.SCHEDULED, Survey.State.SENDING]
    ).update(state=Survey.State.CANCELLED, reason=ERASED, claim="")
    Customer.objects.filter(pk=customer.pk).update(
        email=f"erased-{customer.pk}@erased.invalid",
        name="",
        suppressed_reason="",
        unsubscribe_link_due_at=None,
        unsubscribe_link_sent_at=None,
        erased_at=now,
    )
    counts += _address_traces_erase(
        address, names=[name] if len(name) >= 3 else [], comments=comments, now=now
    )
    _admin_history_erase(customer, address)
    return counts


def tickets_erase(tickets: QuerySet[Ticket], *, now: datetime) -> Counter[str]:
    """Erase what is personal about these tickets and what hangs off them; keep the
    scores and what the reports group them by."""
    counts: Counter[str] = Counter()
    ticket_ids = list(tickets.filter(erased_at__isnull=True).values_list("pk", flat=True))
    if not ticket_ids:
        return counts
    surveys = Survey.objects.filter(ticket_id__in=ticket_ids)
    pairs = list(Ticket.objects.filter(pk__in=ticket_ids).values_list("source", "external_id"))
    counts["tickets"] += Ticket.objects.filter(pk__in=ticket_ids).update(
        subject="", tags=[], erased_at=now
    )
    responses = Response.objects.filter(invitation__survey__in=surveys)
    counts["comments"] += responses.exclude(comment="").update(comment="", comment_erased_at=now)
    counts["comment history"] += (
        ResponseRevision.objects.filter(response__in=responses)
        .exclude(comment="")
        .update(comment="")
    )
    counts["link clicks"] += LinkClick.objects.filter(survey__in=surveys).delete()[0]
    counts["survey links"] += SurveyLink.objects.filter(survey__in=surveys).delete()[0]
    # A delivery failure may quote the address ("550 <anna@...>: no such user").
    counts["survey notes"] += surveys.exclude(reason="").exclude(reason=ERASED).update(reason="")
    counts += _cases_erase(FollowUp.objects.filter(survey__in=surveys))
    counts["webhook payloads"] += _webhook_bodies_erase(
        WebhookDelivery.objects.filter(survey__in=surveys)
    )
    counts["helpdesk write-backs"] += _writebacks_erase(
        WriteBack.objects.filter(survey__in=surveys)
    )
    helpdesk = Q(pk__in=[])
    for source, external_id in pairs:
        helpdesk |= Q(provider=source, ticket_id=external_id)
    counts["helpdesk payloads"] += _inbound_bodies_erase(InboundDelivery.objects.filter(helpdesk))
    message_ids = [
        m for pair in surveys.values_list("message_id", "reminder_message_id") for m in pair if m
    ]
    counts["email events"] += EmailEvent.objects.filter(message_id__in=message_ids).delete()[0]
    return counts


def comments_erase(responses: QuerySet[Response], *, now: datetime) -> Counter[str]:
    """Erase these answers' comments and their history's; the scores stay."""
    counts: Counter[str] = Counter()
    ids = list(responses.values_list("pk", flat=True))
    counts["comments"] += (
        Response.objects.filter(pk__in=ids)
        .exclude(comment="")
        .update(comment="", comment_erased_at=now)
    )
    counts["comment history"] += (
        ResponseRevision.objects.filter(response_id__in=ids).exclude(comment="").update(comment="")
    )
    surveys = Response.objects.filter(pk__in=ids).values("invitation__survey")
    counts["helpdesk write-backs"] += _writebacks_erase(
        WriteBack.objects.filter(survey__in=surveys)
    )
    return counts


def _cases_erase(cases: QuerySet[FollowUp]) -> Counter[str]:
    """A case keeps its status, owner, times and scores; its notes, its emails to the
    customer and what it quoted of the comment go."""
    counts: Counter[str] = Counter()
    for case in cases.filter(reason__contains="comment mentions"):
        FollowUp.objects.filter(pk=case.pk).update(reason=_COMMENT_MENTION.sub("", case.reason))
    counts["case recovery links"] += cases.exclude(recovery_token_hash="").update(
        recovery_token_hash=""
    )
    events = FollowUpEvent.objects.filter(followup__in=cases)
    counts["case notes and emails"] += events.exclude(text="").update(text="")
    # An email's subject, and the reason an opened or changed case names.
    counts["case notes and emails"] += events.filter(kind=FollowUpEvent.Kind.EMAIL).update(
        old="", new=""
    )
    mentions = Q(old__contains="comment mentions") | Q(new__contains="comment mentions")
    for event in events.filter(mentions):
        FollowUpEvent.objects.filter(pk=event.pk).update(
            old=_COMMENT_MENTION.sub("", event.old), new=_COMMENT_MENTION.sub("", event.new)
        )
    return counts


def _webhook_bodies_erase(deliveries: QuerySet[WebhookDelivery]) -> int:
    """Empty the bodies; one not sent yet never is."""
    pending = [WebhookDelivery.State.PENDING, WebhookDelivery.State.SENDING]
    deliveries.filter(state__in=pending).update(
        state=WebhookDelivery.State.FAILED, last_error=ERASED
    )
    return deliveries.exclude(body="").update(body="")


def _writebacks_erase(writes: QuerySet[WriteBack]) -> int:
    """Forget what was written to the helpdesk (it quotes the comment); one not sent
    yet never is. The note already in the helpdesk's ticket is the helpdesk's to erase."""
    waiting = [WriteBack.State.PENDING, WriteBack.State.SENDING]
    writes.filter(state__in=waiting).update(state=WriteBack.State.FAILED, last_error=ERASED)
    return writes.exclude(written__isnull=True).update(written=None)


def _inbound_bodies_erase(deliveries: QuerySet[InboundDelivery]) -> int:
    """Empty the bodies; the rows stay, so a replay of the same webhook is still known
    and does not bring the data back. One not ingested yet never is."""
    deliveries.filter(processed_at__isnull=True).update(processed_at=timezone.now(), error=ERASED)
    return deliveries.exclude(body="").update(body="")


def _address_traces_erase(
    address: str, *, names: list[str], comments: list[str], now: datetime
) -> Counter[str]:
    """What mentions the address (or the erased name or comments) outside the
    customer's own rows: the development outbox, the provider's events, webhook
    bodies. A row is matched on the whole address, never on a longer one."""
    counts: Counter[str] = Counter()
    pattern = address_pattern(address)

    def mentioning(rows: QuerySet, *fields: str) -> list[int]:
        query = Q()
        for name in fields:
            query |= Q(**{f"{name}__icontains": address})
        return [
            row["pk"]
            for row in rows.filter(query).values("pk", *fields)
            if any(pattern.search(row[name] or "") for name in fields)
        ]

    outbox = Q(pk__in=mentioning(OutboxMessage.objects.all(), "to", "subject", "text", "html"))
    for text in [*names, *comments]:
        outbox |= Q(text__icontains=text) | Q(html__icontains=text) | Q(subject__icontains=text)
    counts["outbox messages"] += OutboxMessage.objects.filter(outbox).delete()[0]
    counts["email events"] += EmailEvent.objects.filter(
        pk__in=mentioning(EmailEvent.objects.all(), "recipient", "description")
    ).delete()[0]
    counts["helpdesk payloads"] += _inbound_bodies_erase(
        InboundDelivery.objects.filter(pk__in=mentioning(InboundDelivery.objects.all(), "body"))
    )
    counts["webhook payloads"] += _webhook_bodies_erase(
        WebhookDelivery.objects.filter(pk__in=mentioning(WebhookDelivery.objects.all(), "body"))
    )
    return counts


def _admin_history_erase(customer: Customer, address: str) -> None:
    """The admin's own history names a changed object by its text: a customer by
    address."""
    entries = LogEntry.objects.filter(
        Q(content_type=ContentType.objects.get_for_model(Customer), object_id=str(customer.pk))
        | Q(object_repr__icontains=address)
        | Q(change_message__icontains=address)
    )
    entries.update(object_repr=f"erased customer {customer.pk}", change_message="")


def customer_erase_audited(
    *, email: str, actor: str, via: str, user: Any = None, now: datetime | None = None
) -> Erasure:
    """customer_erase, and the erasure on the audit trail (by customer number, with the
    counts: never the address)."""
    erasure = customer_erase(email=email, now=now)
    audit_record(
        action=AuditEvent.Action.ERASED,
        actor=actor,
        via=via,
        user=user,
        customer_id=erasure.customer_ids[0] if erasure.customer_ids else None,
        detail=dict(erasure.counts),
    )
    return erasure
