"""Celery tasks for metrics and follow-ups: thin wrappers over metrics.services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import followups, rebuild, recovery, services

# Work younger than this is probably still in the broker; the sweep leaves it be.
SWEEP_GRACE = timedelta(seconds=20)


@shared_task
def response_process(response_id: int) -> None:
    """Flag a low score and refresh the metrics one answer touches; safe to repeat."""
    services.response_process(response_id=response_id)


@shared_task
def responses_sweep() -> int:
    """Process answers whose task was lost, and notify owners not yet emailed."""
    now = timezone.now()
    pending = services.responses_unprocessed(older_than=SWEEP_GRACE, now=now)
    for response_id in pending:
        services.response_process(response_id=response_id, now=now)
    for followup_id in followups.followups_unnotified(older_than=SWEEP_GRACE, now=now):
        followups.followup_notify(followup_id=followup_id, now=now)
    return len(pending)


@shared_task
def rollups_rebuild() -> tuple[int, int]:
    """Rebuild every rollup from the raw rows (nightly)."""
    return rebuild.rollups_rebuild()


@shared_task
def followups_sweep() -> tuple[int, int]:
    """Escalate overdue cases to the team lead, and send the daily digests; each
    case is escalated once and each owner gets one digest a day, however often
    this runs. Returns (escalated, digests sent)."""
    now = timezone.now()
    escalated = sum(
        followups.followup_escalate(followup_id=followup_id, now=now)
        for followup_id in followups.followups_overdue(now=now)
    )
    day = timezone.localdate(now)
    digests = sum(
        followups.digest_send(owner_id=owner_id, day=day, now=now)
        for owner_id in followups.digest_owners(now=now)
    )
    return escalated, digests


@shared_task
def recovery_send(followup_id: int) -> bool:
    """Ask the customer of a resolved case "Did we sort it out?"; sends once however
    often it runs (the case is claimed with a conditional UPDATE)."""
    return recovery.recovery_send(followup_id=followup_id, now=timezone.now())


@shared_task
def recovery_sweep() -> int:
    """Send the recovery surveys whose task was lost (broker down) or whose send failed.
    Returns how many went out."""
    now = timezone.now()
    return sum(
        recovery.recovery_send(followup_id=followup_id, now=now)
        for followup_id in recovery.recovery_unsent(older_than=SWEEP_GRACE, now=now)
    )
