"""Beat's scheduler, holding a database lease: a second beat process (started by
mistake, or on a second machine for failover) queues nothing while the first lives,
and takes over within settings.BEAT_LEASE_SECONDS (a minute) when the first stops
without giving the lease up (killed, or its machine lost); at once when it exits."""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

from celery.beat import PersistentScheduler
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from surveys.leases import holder_name, lease_holder, lease_release, lease_take

logger = logging.getLogger(__name__)

BEAT_LEASE = "beat"


def _renew_seconds() -> float:
    """The holder renews well within the lease; one that waits asks about as often."""
    return settings.BEAT_LEASE_SECONDS / 4


class LeasedScheduler(PersistentScheduler):
    """Celery's file-backed scheduler that runs its schedule only while it holds the
    beat lease (celery -A config beat -S operations.beat:LeasedScheduler)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.holder = holder_name()
        self.holding: bool | None = None  # unknown until the first tick
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._lease_renew():
            return _renew_seconds()
        return min(super().tick(*args, **kwargs), _renew_seconds())

    def close(self) -> None:
        if self.holding:
            with suppress(DatabaseError):  # if not, the lease runs out on its own
                lease_release(name=BEAT_LEASE, holder=self.holder)
        super().close()

    def _lease_renew(self) -> bool:
        close_old_connections()
        try:
            held = lease_take(
                name=BEAT_LEASE, holder=self.holder, seconds=settings.BEAT_LEASE_SECONDS
            )
        except DatabaseError as exc:
            # Without the database no sweep could work, and no lease can be proven.
            logger.warning("beat: the database is unreachable (%s); queuing nothing", exc)
            return False
        if held != self.holding:
            self._lease_changed(held)
        self.holding = held
        return held

    def _lease_changed(self, held: bool) -> None:
        if held:
            logger.info("beat: holding the beat lease as %s; running the schedule", self.holder)
            return
        logger.warning(
            "beat: another beat process (%s) holds the beat lease; this one queues "
            "nothing and takes over if that one stops",
            lease_holder(BEAT_LEASE) or "unknown",
        )
