"""Celery tasks for the integrations: helpdesk deliveries in, outbound webhooks out."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from surveys.queue import queue_due


@shared_task
def inbound_delivery_process(delivery_id: int) -> bool:
    """Ingest one helpdesk webhook delivery. Safe to run twice: a processed delivery
    is skipped."""
    from .webhooks import inbound_delivery_process as process

    return process(delivery_id=delivery_id) is not None


@shared_task
def inbound_deliveries_sweep() -> int:
    """Queue every helpdesk delivery whose task never ran (the broker was down)."""
    from .models import InboundDelivery
    from .webhooks import inbound_deliveries_due

    now = timezone.now()
    due = inbound_deliveries_due(now=now)
    return queue_due("integrations.tasks.inbound_delivery_process", InboundDelivery, due, now=now)


@shared_task
def webhook_delivery_send(delivery_id: int) -> bool:
    """Try one outbound webhook delivery. Safe to run twice: the claim lets one run send."""
    from .outbound import webhook_delivery_send as send

    return send(delivery_id=delivery_id) is not None


@shared_task
def integrations_sweep() -> int:
    """Queue helpdesk deliveries whose task never ran, and outbound webhooks and
    write-backs due a try."""
    from .embedding import token_writes_due
    from .models import TicketTokenWrite, WebhookDelivery, WriteBack
    from .outbound import webhook_deliveries_due
    from .writeback import writebacks_due

    now = timezone.now()
    due = webhook_deliveries_due(now=now)
    sent = queue_due("integrations.tasks.webhook_delivery_send", WebhookDelivery, due, now=now)
    writes = queue_due(
        "integrations.tasks.writeback_send", WriteBack, writebacks_due(now=now), now=now
    )
    tokens = queue_due(
        "integrations.tasks.token_write_send", TicketTokenWrite, token_writes_due(now=now), now=now
    )
    return inbound_deliveries_sweep() + sent + writes + tokens


@shared_task
def writeback_send(writeback_id: int) -> bool:
    """Write one survey's answers into its helpdesk ticket. Safe to run twice: the
    claim lets one run write, and a step done is not done again."""
    from .writeback import writeback_send as send

    return send(writeback_id=writeback_id) is not None


@shared_task
def token_write_send(write_id: int) -> bool:
    """Write one ticket's token into its helpdesk ticket (signed embedded ratings).
    Safe to run twice: the claim lets one run write."""
    from .embedding import token_write_send as send

    return send(write_id=write_id) is not None
