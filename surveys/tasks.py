"""Celery tasks for the survey side: thin wrappers that take ids and call a service."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import answering, clicks, reminders, sending, services
from .models import Survey
from .queue import queue_due

logger = logging.getLogger(__name__)


# Acknowledged after it ran, and given back to the queue when its worker process dies
# mid-send: the same task comes again at once, recognises its own claim and sends the
# identical email (same links, same Message-ID), instead of waiting for the sweep's
# 15-minute rescue.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def survey_email_send(self, ticket_id: int) -> int:
    """Send the due survey email of one ticket. Safe to run twice: the claim lets
    only one run send."""
    return len(sending.survey_email_send(ticket_id=ticket_id, claim=self.request.id or ""))


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def survey_emails_send(self, ticket_ids: list[int]) -> int:
    """Send a batch of due survey emails over one connection to the mail server; as
    survey_email_send, each is claimed, and the batch delivered again after its
    worker died sends again only the email it was sending."""
    return sending.survey_emails_send(ticket_ids=ticket_ids, claim=self.request.id or "")


# Survey emails per send task: small enough that every worker process gets a share of
# a sweep's emails, large enough that the connection and the task cost little each.
SEND_BATCH = 50


@shared_task
def invitations_sweep() -> int:
    """Queue every due survey email and put back sends whose worker died."""
    now = timezone.now()
    rescued = sending.invitations_rescue(now=now)
    if rescued:
        logger.warning("rescued %s surveys stuck in sending", rescued)
    queued = queue_due(
        "surveys.tasks.survey_emails_send",
        Survey,
        sending.surveys_due(now=now),
        now=now,
        batch=SEND_BATCH,
    )
    # Sent here, not queued: a queued message would be queued again by every sweep
    # until it ran (the claim in the service sends each link once either way).
    for customer_id in services.unsubscribe_links_due():
        services.unsubscribe_link_send(customer_id=customer_id, now=now)
    return queued


@shared_task
def unsubscribe_link_send(customer_id: int) -> bool:
    """Email a fresh unsubscribe link that a customer asked for (once: claimed). The
    sweep sends them itself; this takes messages queued before it did."""
    return services.unsubscribe_link_send(customer_id=customer_id, now=timezone.now())


@shared_task
def invitations_expire() -> int:
    return sending.invitations_expire(now=timezone.now())


@shared_task
def survey_reminder_send(survey_id: int) -> int:
    """Send the one reminder of a survey email. Safe to run twice: the claim on
    reminded_at lets only one run send."""
    return len(reminders.survey_reminder_send(survey_id=survey_id))


@shared_task
def reminders_sweep() -> int:
    """Queue the reminder of every unanswered survey email that is due one."""
    due = reminders.reminders_due(now=timezone.now())
    for survey_id in due:
        survey_reminder_send.delay(survey_id)
    return len(due)


# Work younger than this is probably still in the broker; the sweep leaves it be.
SWEEP_GRACE = timedelta(seconds=20)


@shared_task
def responses_process(response_ids: list[int]) -> None:
    """Tell the apps built on the core about a survey's answers (a follow-up for a low
    score, the metrics they touch, webhooks); safe to repeat."""
    for response_id in response_ids:
        answering.response_process(response_id=response_id)


@shared_task
def response_process(response_id: int) -> None:
    """One answer's processing, as queued before responses_process took a survey's
    answers at once (messages of that kind may still wait in a broker)."""
    answering.response_process(response_id=response_id)


@shared_task
def responses_sweep() -> int:
    """Process answers whose task was lost (the broker was down, a worker died)."""
    now = timezone.now()
    pending = answering.responses_unprocessed(older_than=SWEEP_GRACE, now=now)
    for response_id in pending:
        answering.response_process(response_id=response_id, now=now)
    return len(pending)


@shared_task
def clicks_sweep() -> int:
    """Judge the link fetches stored since the last sweep (a page view only stores
    its fetch: the customer does not wait for this), each email's with its others.
    Beat runs it every CLICKS_SWEEP_SECONDS."""
    now = timezone.now()
    surveys = clicks.clicks_unjudged()
    for survey_id in surveys:
        clicks.clicks_judge(survey_id=survey_id, now=now)
    return len(surveys)


@shared_task
def clicks_judge(survey_id: int) -> None:
    """Judge the fetches of a survey email's links (person or mail scanner); safe to
    repeat."""
    clicks.clicks_judge(survey_id=survey_id)
