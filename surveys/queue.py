"""Queueing Celery work after commit.

Services name the task they queue ("surveys.tasks.survey_email_send") instead of
importing it: the tasks module imports the services, so an import back would be a
cycle. Every queued task has a beat sweep that finds its work in the database again,
so a broker that is down only delays it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import models, transaction

logger = logging.getLogger(__name__)

# After a publish fails (Redis down, or hung: the socket timeout in
# CELERY_BROKER_TRANSPORT_OPTIONS), this process queues nothing for this long, so one
# request at most waits for a broker that does not answer; the sweeps do the work.
BROKER_PAUSE_SECONDS = 15.0
_broker_paused_until = 0.0


def task_named(name: str) -> Any:
    """The Celery task at the dotted path `name` ("app.tasks.function")."""
    module, _, function = name.rpartition(".")
    return getattr(import_module(module), function)


def enqueue(task_name: str, *args: Any) -> None:
    """Queue the task `task_name` with `args` once the current transaction commits."""

    def send() -> None:
        global _broker_paused_until
        if time.monotonic() < _broker_paused_until:
            logger.info("not queuing %s%r: the broker failed just now", task_name, args)
            return
        try:
            task_named(task_name).apply_async(args=args, retry=False)
        except Exception:  # the broker is away: the sweep will pick the work up
            _broker_paused_until = time.monotonic() + BROKER_PAUSE_SECONDS
            logger.warning("could not queue %s%r; the sweep will retry", task_name, args)

    transaction.on_commit(send)


def not_queued(now: datetime, *, due_field: str = "") -> models.Q:
    """Rows a sweep may queue: never queued, queued before they fell due again (a
    retry), or queued so long ago (SWEEP_REQUEUE_SECONDS) that the message is taken as
    lost. So N rows due mean about N messages in the broker, however many sweeps run
    while a backlog drains."""
    lost = now - timedelta(seconds=settings.SWEEP_REQUEUE_SECONDS)
    q = models.Q(queued_at__isnull=True) | models.Q(queued_at__lt=lost)
    if due_field:
        q |= models.Q(queued_at__lt=models.F(due_field))
    return q


def queue_due(
    task_name: str,
    model: type[models.Model],
    due: dict[int, Any] | list[int],
    *,
    now: datetime,
    batch: int = 0,
) -> int:
    """Queue the task for each row a sweep found due (row pk: the task's argument, or
    a list of pks that are their own arguments) and note when (queued_at), so the
    next sweeps leave it while its message waits. With `batch`, one task takes a list
    of up to that many arguments. A row whose message could not be queued is not
    marked: the next sweep tries it again. Returns the rows queued."""
    task = task_named(task_name)
    items = list(due.items()) if isinstance(due, dict) else [(pk, pk) for pk in due]
    size = batch or 1
    queued: list[int] = []
    try:
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            arguments = [argument for _pk, argument in chunk]
            task.delay(arguments if batch else arguments[0])
            queued.extend(pk for pk, _argument in chunk)
    finally:
        model._default_manager.filter(pk__in=queued).update(queued_at=now)
    return len(queued)
