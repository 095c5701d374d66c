"""Celery tasks for follow-up cases: thin wrappers over followups.services and
followups.recovery."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import recovery, services

# Work younger than this is probably still in the broker; the sweep leaves it be.
SWEEP_GRACE = timedelta(seconds=20)


@shared_task
def followups_notify_sweep() -> int:
    """Email the owners of new cases whose email has not gone out yet (the answer's
    processing crashed after opening the case, or the send failed). Returns how many
    went out."""
    now = timezone.now()
    return sum(
        services.followup_notify(followup_id=followup_id, now=now)
        for followup_id in services.followups_unnotified(older_than=SWEEP_GRACE, now=now)
    )


@shared_task
def followups_sweep() -> tuple[int, int]:
    """Escalate overdue cases to the team lead, and send the daily digests; each
    case is escalated once and each owner gets one digest a day, however often
    this runs. Returns (escalated, digests sent)."""
    now = timezone.now()
    escalated = sum(
        services.followup_escalate(followup_id=followup_id, now=now)
        for followup_id in services.followups_overdue(now=now)
    )
    day = timezone.localdate(now)
    digests = sum(
        services.digest_send(owner_id=owner_id, day=day, now=now)
        for owner_id in services.digest_owners(now=now)
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
