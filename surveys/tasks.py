"""Celery tasks for the survey side: thin wrappers that take ids and call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from . import services

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
    return len(services.survey_reminder_send(invitation_id=invitation_id))


@shared_task
def reminders_sweep() -> int:
    """Queue the reminder of every unanswered survey email that is due one."""
    due = services.reminders_due(now=timezone.now())
    for invitation_id in due:
        survey_reminder_send.delay(invitation_id)
    return len(due)
