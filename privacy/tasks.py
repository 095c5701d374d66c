from __future__ import annotations

import logging

from celery import shared_task

from .audit import audit_record
from .models import AuditEvent
from .retention import retention_apply

logger = logging.getLogger(__name__)


@shared_task
def retention_nightly() -> dict[str, int]:
    """Apply the retention policy; put what it removed on the audit trail. Safe to run
    twice: the second run finds nothing left to remove."""
    counts = retention_apply()
    if counts:
        audit_record(
            action=AuditEvent.Action.RETENTION_APPLIED,
            actor="system",
            via="job",
            detail=dict(counts),
        )
        logger.info("retention policy applied: %s", dict(counts))
    return dict(counts)
