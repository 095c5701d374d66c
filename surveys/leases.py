"""Database leases: one process at a time runs a named job, and another takes over
when the holder stops renewing (it died, or lost the database).

The database, not Redis, decides: a lease taken is a row updated under a condition,
so two processes asking at once get one yes between them, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Lease


def holder_name() -> str:
    """This process, as a lease names its holder: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_take(*, name: str, holder: str, seconds: float, now: datetime | None = None) -> bool:
    """Take or renew the lease; True when `holder` now holds it for `seconds`."""
    now = now or timezone.now()
    until = now + timedelta(seconds=seconds)
    free = Q(holder=holder) | Q(holder="") | Q(expires_at__lte=now)
    if Lease.objects.filter(free, name=name).update(holder=holder, expires_at=until):
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, expires_at=until)
    except IntegrityError:  # someone else holds it, or took it first
        return False
    return True


def lease_release(*, name: str, holder: str, done: datetime | None = None) -> None:
    """Give the lease up (if still held), noting when the job last finished."""
    changes: dict[str, object] = {"holder": ""}
    if done is not None:
        changes["done_at"] = done
    Lease.objects.filter(name=name, holder=holder).update(**changes)


def lease_holder(name: str, now: datetime | None = None) -> str:
    """Who holds the lease now ("" when nobody does)."""
    now = now or timezone.now()
    lease = Lease.objects.filter(name=name, expires_at__gt=now).exclude(holder="").first()
    return lease.holder if lease else ""


def last_done(name: str) -> datetime | None:
    return Lease.objects.filter(name=name).values_list("done_at", flat=True).first()


@contextmanager
def lease_held(name: str, *, seconds: float) -> Iterator[bool]:
    """Run a block holding the lease: yields False (run nothing) when another process
    holds it. A job longer than `seconds` must be given a longer lease."""
    holder = holder_name()
    held = lease_take(name=name, holder=holder, seconds=seconds)
    finished = False
    try:
        yield held
        finished = True
    finally:
        if held:
            lease_release(name=name, holder=holder, done=timezone.now() if finished else None)
