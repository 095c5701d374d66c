"""Celery tasks for the integrations: helpdesk deliveries in, outbound webhooks out."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task
def inbound_delivery_process(delivery_id: int) -> bool:
    """Ingest one helpdesk webhook delivery. Safe to run twice: a processed delivery
    is skipped."""
    from .webhooks import inbound_delivery_process as process

    return process(delivery_id=delivery_id) is not None


@shared_task
def inbound_deliveries_sweep() -> int:
    """Queue every helpdesk delivery whose task never ran (the broker was down)."""
    from .webhooks import inbound_deliveries_due

    due = inbound_deliveries_due(now=timezone.now())
    for delivery_id in due:
        inbound_delivery_process.delay(delivery_id)
    return len(due)


@shared_task
def webhook_delivery_send(delivery_id: int) -> bool:
    """Try one outbound webhook delivery. Safe to run twice: the claim lets one run send."""
    from .outbound import webhook_delivery_send as send

    return send(delivery_id=delivery_id) is not None


@shared_task
def integrations_sweep() -> int:
    """Queue helpdesk deliveries whose task never ran and outbound webhooks due a try."""
    from .outbound import webhook_deliveries_due

    now = timezone.now()
    due = webhook_deliveries_due(now=now)
    for delivery_id in due:
        webhook_delivery_send.delay(delivery_id)
    return inbound_deliveries_sweep() + len(due)
