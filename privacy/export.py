"""A customer's data, all of it, as one JSON document (the right of access and to
data portability): their tickets, the survey emails and questions, the answers with
every earlier version, link clicks, follow-up cases with their history, and the emails
Kundpuls sent them. Matched on the exact address, never on a similar one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from followups.models import FollowUp, FollowUpEvent
from integrations.models import EmailEvent
from surveys.models import Customer, LinkClick, OutboxMessage, Survey, Ticket

from .erasure import address_pattern


def customer_export(*, email: str, now: datetime | None = None) -> dict[str, Any] | None:
    """Everything stored about the customer with this address; None if there is none."""
    address = email.strip().lower()
    customer = Customer.objects.filter(email=address, erased_at__isnull=True).first()
    if customer is None:
        return None
    surveys = (
        Survey.objects.filter(customer=customer)
        .select_related("followup")
        .prefetch_related(
            "invitations__response__revisions",
            Prefetch("clicks", queryset=LinkClick.objects.order_by("at", "pk")),
            Prefetch(
                "followup__events",
                queryset=FollowUpEvent.objects.select_related("actor").order_by("at", "pk"),
            ),
        )
    )
    by_ticket = {survey.ticket_id: survey for survey in surveys}
    tickets = Ticket.objects.filter(requester=customer).order_by("created_at", "pk")
    message_ids = [
        m for s in by_ticket.values() for m in (s.message_id, s.reminder_message_id) if m
    ]
    return {
        "exported_at": now or timezone.now(),
        "customer": {
            "id": customer.pk,
            "email": customer.email,
            "name": customer.name,
            "language": customer.locale,
            "first_seen_at": customer.created_at,
            "unsubscribed_at": customer.opted_out_at,
            "mail_stopped_at": customer.suppressed_at,
            "mail_stopped_because": customer.suppressed_reason,
        },
        "tickets": [_ticket(ticket, by_ticket.get(ticket.pk)) for ticket in tickets],
        "emails": _emails(customer, list(by_ticket.values())),
        "email_provider_events": [
            {
                "type": event.event_type,
                "at": event.occurred_at,
                "recipient": event.recipient,
                "description": event.description,
            }
            for event in EmailEvent.objects.filter(message_id__in=message_ids).order_by(
                "occurred_at", "pk"
            )
        ],
    }


def _ticket(ticket: Ticket, survey: Survey | None) -> dict[str, Any]:
    return {
        "helpdesk": ticket.source,
        "ticket": ticket.external_id,
        "subject": ticket.subject,
        "status": ticket.status,
        "channel": ticket.channel,
        "category": ticket.category,
        "tags": ticket.tags,
        "url": ticket.url,
        "created_at": ticket.created_at,
        "solved_at": ticket.solved_at,
        "survey": _survey(survey) if survey is not None else None,
    }


def _survey(survey: Survey) -> dict[str, Any]:
    case: FollowUp | None = getattr(survey, "followup", None)
    return {
        "state": survey.state,
        "language": survey.locale,
        "sent_at": survey.sent_at,
        "reminded_at": survey.reminded_at,
        "answer_by": survey.expires_at,
        "delivered_at": survey.delivered_at,
        "bounced_at": survey.bounced_at,
        "complained_at": survey.complained_at,
        "questions": [
            {
                "kind": question.kind,
                "scale_points": question.scale_points,
                "answer": _answer(question.response) if hasattr(question, "response") else None,
            }
            for question in survey.questions
        ],
        "link_clicks": [
            {
                "link": click.link,
                "score": click.score,
                "method": click.method,
                "at": click.at,
                "looked_automated": click.is_automated,
            }
            for click in survey.clicks.all()
        ],
        "follow_up_case": _case(case) if case is not None else None,
    }


def _answer(response: Any) -> dict[str, Any]:
    return {
        "score": response.raw_score,
        "comment": response.comment,
        "comment_erased_at": response.comment_erased_at,
        "answered_at": response.answered_at,
        "changed_at": response.updated_at,
        "held_for_review": response.held,
        "history": [
            {"score": r.raw_score, "comment": r.comment, "submitted_at": r.submitted_at}
            for r in sorted(response.revisions.all(), key=lambda r: (r.submitted_at, r.pk))
        ],
    }


def _case(case: FollowUp) -> dict[str, Any]:
    return {
        "status": case.status,
        "outcome": case.outcome,
        "reason": case.reason,
        "opened_at": case.created_at,
        "first_contacted_at": case.first_contacted_at,
        "asked_whether_sorted_out_at": case.recovery_sent_at,
        "answered_whether_sorted_out_at": case.recovery_answered_at,
        "history": [
            {
                "what": event.kind,
                "at": event.at,
                "by": event.actor.get_full_name() or event.actor.get_username()
                if event.actor
                else None,
                "from": event.old,
                "to": event.new,
                "text": event.text,
            }
            for event in case.events.all()
        ],
    }


def _emails(customer: Customer, surveys: list[Survey]) -> list[dict[str, Any]]:
    """The emails sent to them: survey emails and reminders, emails from their cases,
    and any the development outbox kept."""
    sent: list[dict[str, Any]] = []
    for survey in surveys:
        if survey.sent_at:
            sent.append({"what": "survey", "at": survey.sent_at, "message_id": survey.message_id})
        if survey.reminded_at:
            sent.append(
                {
                    "what": "reminder",
                    "at": survey.reminded_at,
                    "message_id": survey.reminder_message_id,
                }
            )
        case = getattr(survey, "followup", None)
        if case is not None:
            sent.extend(
                {"what": "case email", "at": e.at, "subject": e.new, "text": e.text}
                for e in case.events.all()
                if e.kind == FollowUpEvent.Kind.EMAIL
            )
            if case.recovery_sent_at:
                sent.append({"what": "did we sort it out", "at": case.recovery_sent_at})
    pattern = address_pattern(customer.email)
    sent.extend(
        {"what": "outbox", "at": m.created_at, "subject": m.subject, "text": m.text}
        for m in OutboxMessage.objects.filter(to__icontains=customer.email).order_by("created_at")
        if pattern.search(m.to)
    )
    return sorted(sent, key=lambda email: email["at"])
