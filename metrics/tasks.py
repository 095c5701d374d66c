"""Celery tasks for the metrics."""

from __future__ import annotations

from celery import shared_task

from . import rebuild


@shared_task
def rollups_rebuild() -> tuple[int, int]:
    """Rebuild every rollup from the raw rows (nightly)."""
    return rebuild.rollups_rebuild()
