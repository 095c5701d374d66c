"""Celery tasks for the survey side: thin wrappers that take ids and call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from . import reminders, services

logger = logging.getLogger(__name__)


@shared_task
def survey_email_send(ticket_id: int) -> int:
    """Send the due survey email of one ticket. Safe to run twice: the claim lets
    only one run send."""
    return len(services.survey_email_send(ticket_id=ticket_id))


@shared_task
def invitations_sweep() -> int:
    """Queue every due survey email and put back sends whose worker died."""
    now = timezone.now()
    rescued = services.invitations_rescue(now=now)
    if rescued:
        logger.warning("rescued %s invitations stuck in sending", rescued)
    due = services.tickets_due(now=now)
    for ticket_id in due:
        survey_email_send.delay(ticket_id)
    return len(due)


@shared_task
def invitations_expire() -> int:
    return services.invitations_expire(now=timezone.now())


@shared_task
def survey_reminder_send(invitation_id: int) -> int:
    """Send the one reminder of a survey email. Safe to run twice: the claim on
    reminded_at lets only one run send."""
    return len(reminders.survey_reminder_send(invitation_id=invitation_id))


@shared_task
def reminders_sweep() -> int:
    """Queue the reminder of every unanswered survey email that is due one."""
    due = reminders.reminders_due(now=timezone.now())
    for invitation_id in due:
        survey_reminder_send.delay(invitation_id)
    return len(due)


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
