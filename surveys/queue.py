"""Queueing Celery work after commit.

Services name the task they queue ("surveys.tasks.survey_email_send") instead of
importing it: the tasks module imports the services, so an import back would be a
cycle. Every queued task has a beat sweep that finds its work in the database again,
so a broker that is down only delays it.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def task_named(name: str) -> Any:
    """The Celery task at the dotted path `name` ("app.tasks.function")."""
    module, _, function = name.rpartition(".")
    return getattr(import_module(module), function)


def enqueue(task_name: str, *args: Any) -> None:
    """Queue the task `task_name` with `args` once the current transaction commits."""

    def send() -> None:
        try:
            task_named(task_name).apply_async(args=args, retry=False)
        except Exception:  # the broker is away: the sweep will pick the work up
            logger.warning("could not queue %s%r; the sweep will retry", task_name, args)

    transaction.on_commit(send)
