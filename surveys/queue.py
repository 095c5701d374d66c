"""Queueing Celery work after commit.

Services name the task they queue ("surveys.tasks.survey_email_send") instead of
importing it: the tasks module imports the services, so an import back would be a
cycle. Every queued task has a beat sweep that finds its work in the database again,
so a broker that is down only delays it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import models, transaction

logger = logging.getLogger(__name__)

# After a publish fails (Redis down, or hung: the socket timeout in
# CELERY_BROKER_TRANSPORT_OPTIONS), this process queues nothing for this long, so one
# publish at most waits for a broker that does not answer; the sweeps do the work.
BROKER_PAUSE_SECONDS = 15.0
_broker_paused_until = 0.0
# In a web process, how long the publisher gathers messages before sending them.
BATCH_SECONDS = 0.2
# Tasks whose one argument is a list of ids: the messages a web process gathers for
# one of them go out as one message (of up to BATCH_IDS ids).
BATCHED = frozenset({"surveys.tasks.responses_process"})
BATCH_IDS = 50


def task_named(name: str) -> Any:
    """The Celery task at the dotted path `name` ("app.tasks.function")."""
    module, _, function = name.rpartition(".")
    return getattr(import_module(module), function)


def enqueue(task_name: str, *args: Any) -> None:
    """Queue the task `task_name` with `args` once the current transaction commits: at
    once, or in a web process through its publisher (publish_in_background)."""

    def send() -> None:
        if _publisher.running and not settings.CELERY_TASK_ALWAYS_EAGER:
            _publisher.put(task_name, args)
        else:
            publish(task_name, args)

    transaction.on_commit(send)


def publish(task_name: str, args: tuple) -> None:
    """Send one message to the broker now; when it fails, log it and leave the work to
    its sweep."""
    global _broker_paused_until
    if time.monotonic() < _broker_paused_until:
        logger.info("not queuing %s%r: the broker failed just now", task_name, args)
        return
    try:
        # The reprs for monitoring given here: Celery's safe repr costs more.
        task_named(task_name).apply_async(
            args=args, retry=False, argsrepr=repr(args)[:200], kwargsrepr="{}"
        )
    except Exception:  # the broker is away: the sweep will pick the work up
        _broker_paused_until = time.monotonic() + BROKER_PAUSE_SECONDS
        logger.warning("could not queue %s%r; the sweep will retry", task_name, args)


def publish_in_background() -> None:
    """From now on this process hands its messages to a publisher thread instead of
    sending each within the request (config/wsgi.py calls this for the web server):
    a customer never waits on the broker, a hung one included, and answers recorded
    together are processed by one message. A message the process dies holding is
    re-created by its task's sweep, as one the broker lost."""
    _publisher.running = True


def messages_gathered(pending: list[tuple[str, tuple]]) -> list[tuple[str, tuple]]:
    """The messages to send for these: in order, with the ids of each BATCHED task
    joined into messages of up to BATCH_IDS ids."""
    out: list[tuple[str, tuple]] = []
    ids: dict[str, list[Any]] = {}
    for name, args in pending:
        if name in BATCHED and len(args) == 1 and isinstance(args[0], list):
            ids.setdefault(name, []).extend(args[0])
        else:
            out.append((name, args))
    for name, gathered in ids.items():
        out.extend(
            (name, (gathered[i : i + BATCH_IDS],)) for i in range(0, len(gathered), BATCH_IDS)
        )
    return out


class _Publisher:
    """One process's messages on their way to the broker, sent by a thread of its own:
    it wakes when a message comes, gathers for BATCH_SECONDS, and sends them all; what
    it still holds when the process exits normally is sent then."""

    def __init__(self) -> None:
        self.running = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: list[tuple[str, tuple]] = []
        self._pid = 0

    def put(self, task_name: str, args: tuple) -> None:
        with self._lock:
            self._pending.append((task_name, args))
            if self._pid != os.getpid():  # the first message, or the first since a fork
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="kundpuls-publisher", daemon=True).start()
                atexit.register(self.flush)
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(BATCH_SECONDS)
            try:
                self.flush()
            except Exception:  # the thread lives on; the sweeps re-create the work
                logger.exception("the publisher could not send what it held")

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            self._wake.clear()
        for task_name, args in messages_gathered(pending):
            publish(task_name, args)


_publisher = _Publisher()


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
