"""Queueing Celery work after commit.

Services name the task they queue ("surveys.tasks.survey_email_send") instead of
importing it: the tasks module imports the services, so an import back would be a
cycle. Every queued task has a beat sweep that finds its work in the database again,
so a broker that is down only delays it.
"""

from __future__ import annotations

import logging
import time
from importlib import import_module
from typing import Any

from django.db import transaction

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
