"""The retention policy, applied each night in batches.

What it removes is never what the reports count: link clicks (the survey keeps its
first click, which the funnel counts), message bodies and payloads, comments and case
notes (an erased comment still counts as a comment), and the personal data of old
tickets and their customers (the scores stay). So the nightly rollup rebuild, which
counts from the remaining rows, finds every figure as it was: no report has to be
frozen, and none changes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from followups.models import FollowUpEvent
from integrations.models import EmailEvent, InboundDelivery, WebhookDelivery
from surveys.models import Customer, LinkClick, OutboxMessage, Response, Ticket

from .erasure import comments_erase, customer_erase, tickets_erase
from .models import RetentionPolicy

logger = logging.getLogger(__name__)

# Rows per transaction: short transactions, no long lock on a busy table.
BATCH = 1000
# Tickets and customers touch several tables each: fewer per transaction.
TICKET_BATCH = 100


def in_batches(
    rows: QuerySet, apply: Callable[[QuerySet], int], *, batch: int = BATCH
) -> list[int]:
    """Apply `apply` to the rows, at most `batch` of them per transaction, until none
    is left; the rows done per batch. `rows` must no longer match a row once done."""
    done: list[int] = []
    while True:
        ids = list(rows.order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return done
        with transaction.atomic():
            apply(rows.model.objects.filter(pk__in=ids))
        done.append(len(ids))


def retention_apply(*, now: datetime | None = None, batch: int = BATCH) -> Counter[str]:
    """Remove what the retention policy says is kept too long; rows by kind."""
    now = now or timezone.now()
    policy = RetentionPolicy.load()
    counts: Counter[str] = Counter()

    def run(kind: str, rows: QuerySet, apply: Callable[[QuerySet], int], size: int = batch) -> None:
        counts[kind] += sum(in_batches(rows, apply, batch=size))

    def delete(rows: QuerySet) -> int:
        return rows.delete()[0]

    if policy.clicks_days is not None:
        cut = now - timedelta(days=policy.clicks_days)
        run("link clicks", LinkClick.objects.filter(at__lt=cut), delete)
    if policy.payloads_days is not None:
        cut = now - timedelta(days=policy.payloads_days)
        run(
            "helpdesk payloads",
            InboundDelivery.objects.filter(processed_at__lt=cut).exclude(body=""),
            lambda rows: rows.update(body=""),
        )
        finished = [WebhookDelivery.State.DELIVERED, WebhookDelivery.State.FAILED]
        run(
            "webhook payloads",
            WebhookDelivery.objects.filter(created_at__lt=cut, state__in=finished).exclude(body=""),
            lambda rows: rows.update(body=""),
        )
        run("email events", EmailEvent.objects.filter(received_at__lt=cut), delete)
        run("outbox messages", OutboxMessage.objects.filter(created_at__lt=cut), delete)
    if policy.comments_months is not None:
        cut = now - timedelta(days=round(policy.comments_months * 30.44))
        run(
            "comments",
            Response.objects.filter(answered_at__lt=cut)
            .filter(
                Q(comment_erased_at__isnull=True) & ~Q(comment="") | Q(revisions__comment__gt="")
            )
            .distinct(),
            lambda rows: sum(comments_erase(rows, now=now).values()),
        )
        run(
            "case notes and emails",
            FollowUpEvent.objects.filter(at__lt=cut).exclude(text=""),
            lambda rows: rows.update(text=""),
        )
    if policy.tickets_years is not None:
        cut = now - timedelta(days=round(policy.tickets_years * 365.25))
        old = Ticket.objects.filter(erased_at__isnull=True).filter(
            Q(solved_at__lt=cut) | Q(solved_at__isnull=True, created_at__lt=cut)
        )
        run(
            "tickets",
            old,
            lambda rows: tickets_erase(rows, now=now)["tickets"],
            size=min(batch, TICKET_BATCH),
        )
        # A customer none of whose tickets is newer: nothing of theirs is left to keep.
        last = Coalesce(Max("tickets__solved_at"), Max("tickets__created_at"))
        gone = (
            Customer.objects.filter(erased_at__isnull=True).annotate(last=last).filter(last__lt=cut)
        )

        def customers(rows: QuerySet) -> int:
            return sum(len(customer_erase(email=c.email, now=now).customer_ids) for c in rows)

        run("customers", gone, customers, size=min(batch, TICKET_BATCH))
    return +counts
