"""Heartbeats from Celery's own signals: beat queues a sweep every SURVEY_SWEEP_SECONDS
(only beat queues sweeps), and a worker finishes tasks. No other app is touched."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import before_task_publish, task_postrun
from django.db import DatabaseError

from .services import heartbeat

logger = logging.getLogger(__name__)


@before_task_publish.connect(dispatch_uid="operations_beat_heartbeat")
def sweep_published(sender: str | None = None, **kwargs: Any) -> None:
    if sender and sender.endswith("_sweep"):
        _beat("beat")


@task_postrun.connect(dispatch_uid="operations_worker_heartbeat")
def task_finished(sender: Any = None, **kwargs: Any) -> None:
    _beat("worker")


def _beat(name: str) -> None:
    try:
        heartbeat(name)
    except DatabaseError:  # the health page will say the database is away
        logger.warning("could not record the %s heartbeat", name)
