"""Celery tasks for the metrics."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import rebuild


@shared_task
def rollups_rebuild() -> tuple[int, int] | None:
    """Rebuild every rollup from the raw rows (nightly; once, however often queued)."""
    return rebuild.rollups_rebuild_nightly(now=timezone.now())


@shared_task
def digests_sweep() -> int:
    """Send the report digests that are due (once per subscriber and period)."""
    from .digest import digests_sweep as sweep

    return sweep(now=timezone.now())
