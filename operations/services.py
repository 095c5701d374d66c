"""The health checks: is every part of Kundpuls doing its work? Each check says what
is wrong in a sentence an operator can act on, with a link to the rows behind it.

Used by the staff health page, GET /healthz (200 or 503 for a load balancer or a
monitor) and `manage.py health` (exits 1 when something is wrong)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min
from django.urls import reverse
from django.utils import timezone

from integrations.models import InboundDelivery, WebhookDelivery
from surveys.models import Survey

from .models import Heartbeat

# A due survey not sent this long after it was due, or a send claimed this long ago and
# not finished, means the sending is stuck (a send takes seconds).
SEND_LATE = timedelta(minutes=5)
SEND_STUCK = timedelta(minutes=2)
# A helpdesk delivery not processed this long after it came.
DELIVERY_LATE = timedelta(minutes=5)
RECENT = timedelta(hours=24)
# Heartbeats are written at most this often by one process.
HEARTBEAT_EVERY = 10.0
_last_written: dict[str, float] = {}


def heartbeat(name: str) -> None:
    """Record that the process `name` ("beat", "worker") is at work, now."""
    now = time.monotonic()
    if now - _last_written.get(name, -HEARTBEAT_EVERY) < HEARTBEAT_EVERY:
        return
    Heartbeat.objects.update_or_create(name=name, defaults={"at": timezone.now()})
    _last_written[name] = now


@dataclass
class Check:
    name: str
    ok: bool
    summary: str
    details: list[str] = field(default_factory=list)
    link: str = ""

    def as_json(self) -> dict:
        return {"ok": self.ok, "summary": self.summary, "details": self.details}


def _admin(name: str, query: str = "") -> str:
    return reverse(f"admin:{name}") + (f"?{query}" if query else "")


def database_check() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure is the answer
        return Check("database", False, f"The database does not answer: {exc}")
    return Check("database", True, "The database answers.")


def broker_check() -> Check:
    import redis

    try:
        redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1
        ).ping()
    except (redis.RedisError, OSError) as exc:
        return Check(
            "broker",
            False,
            f"Redis (the queue) does not answer: {exc}. Work waits in the database and "
            "goes out when it is back.",
        )
    return Check("broker", True, "Redis (the queue) answers.")


def worker_check() -> Check:
    from celery import current_app

    try:
        replies = current_app.control.ping(timeout=settings.HEALTH_WORKER_SECONDS)
    except Exception as exc:  # the broker is away: the broker check says so too
        return Check("worker", False, f"No worker could be asked: {exc}")
    if not replies:
        return Check(
            "worker",
            False,
            f"No Celery worker answered within {settings.HEALTH_WORKER_SECONDS:g} s: survey "
            "emails, answers' follow-ups and webhooks wait. Start `celery -A config worker`.",
        )
    return Check("worker", True, f"{len(replies)} worker(s) answered.")


def beat_check(now: datetime) -> Check:
    beat = Heartbeat.objects.filter(name="beat").first()
    # Beat queues sweeps every SURVEY_SWEEP_SECONDS; missing one and a half of them, and
    # a little more for heartbeats written at most every 10 s, means it is gone.
    sweep = settings.SURVEY_SWEEP_SECONDS
    allowed = timedelta(seconds=1.5 * sweep + HEARTBEAT_EVERY + 5)
    if beat is None:
        return Check("beat", False, "Celery beat has never queued a sweep. Start it.")
    if now - beat.at > allowed:
        return Check(
            "beat",
            False,
            f"Celery beat last queued a sweep at {timezone.localtime(beat.at):%Y-%m-%d %H:%M:%S}"
            f" ({_ago(now - beat.at)} ago): nothing due is being picked up.",
        )
    return Check("beat", True, f"Beat queued a sweep {_ago(now - beat.at)} ago.")


def sending_check(now: datetime) -> Check:
    late = Survey.objects.filter(state=Survey.State.SCHEDULED, send_after__lt=now - SEND_LATE)
    stuck = Survey.objects.filter(state=Survey.State.SENDING, claimed_at__lt=now - SEND_STUCK)
    details = []
    oldest = late.aggregate(oldest=Min("send_after"))["oldest"]
    if oldest is not None:
        details.append(
            f"{late.count()} survey email(s) due and not sent; the oldest was due "
            f"{_ago(now - oldest)} ago."
        )
    stuck_count = stuck.count()
    if stuck_count:
        details.append(f"{stuck_count} survey email(s) stuck in sending for over 2 minutes.")
    if details:
        return Check(
            "sending",
            False,
            " ".join(details),
            link=_admin("surveys_survey_changelist", "state__exact=scheduled"),
        )
    return Check("sending", True, "Every due survey email has gone out.")


def failed_sends_check(now: datetime) -> Check:
    """Sends that failed for good in the last 24 hours; a problem while none has gone
    out since the last failure (a send that works again clears it)."""
    failed = Survey.objects.filter(state=Survey.State.FAILED, claimed_at__gte=now - RECENT)
    count = failed.count()
    if not count:
        return Check("failed_sends", True, "No survey email failed in the last 24 hours.")
    reasons = failed.values("reason").annotate(n=Count("pk")).order_by("-n", "reason")[:5]
    last_sent = Survey.objects.aggregate(last=Max("sent_at"))["last"]
    last_failed = failed.aggregate(last=Max("claimed_at"))["last"]
    working_again = last_sent is not None and last_failed is not None and last_sent > last_failed
    since = "; emails have gone out since." if working_again else ", and none has gone out since."
    return Check(
        "failed_sends",
        working_again,
        f"{count} survey email(s) failed for good in the last 24 hours{since}",
        details=[f"{row['reason'] or '(no reason)'}: {row['n']}" for row in reasons],
        link=_admin("surveys_survey_changelist", "state__exact=failed"),
    )


def helpdesk_check(now: datetime) -> Check:
    """Helpdesk deliveries not processed after 5 minutes, and ones that failed (a body
    that does not map, say a date that is not one) since the last that went through."""
    late = InboundDelivery.objects.filter(
        processed_at__isnull=True, received_at__lt=now - DELIVERY_LATE
    ).count()
    failed = InboundDelivery.objects.filter(received_at__gte=now - RECENT).exclude(error="")
    last_good = InboundDelivery.objects.filter(processed_at__isnull=False, error="").aggregate(
        last=Max("received_at")
    )["last"]
    failing = failed.filter(received_at__gt=last_good) if last_good else failed
    failed_count, failing_count = failed.count(), failing.count()
    if not (late or failed_count):
        return Check("helpdesk", True, "Every helpdesk delivery was processed.")
    parts = []
    if late:
        parts.append(f"{late} helpdesk delivery(ies) not processed after 5 minutes.")
    if failed_count:
        parts.append(
            f"{failed_count} helpdesk delivery(ies) with an error in 24 hours"
            + (", none processed since." if failing_count else "; others went through since.")
        )
    return Check(
        "helpdesk",
        not (late or failing_count),
        " ".join(parts),
        details=list(failed.values_list("error", flat=True)[:5]),
        link=_admin("integrations_inbounddelivery_changelist"),
    )


def webhooks_check(now: datetime) -> Check:
    failed = WebhookDelivery.objects.filter(
        state=WebhookDelivery.State.FAILED, next_attempt_at__gte=now - RECENT
    )
    count = failed.count()
    if not count:
        return Check("webhooks", True, "No outbound webhook delivery failed in 24 hours.")
    return Check(
        "webhooks",
        False,
        f"{count} outbound webhook delivery(ies) failed for good in the last 24 hours.",
        link=_admin("integrations_webhookdelivery_changelist", "state__exact=failed"),
    )


def health_checks(
    *, live: bool = True, web_only: bool = False, now: datetime | None = None
) -> list[Check]:
    """Every check; live=False leaves out those that ask Redis and the workers (for
    the banner on staff pages, which must stay fast when they are away); web_only
    keeps only the database (whether this web process can serve pages)."""
    now = now or timezone.now()
    checks = [database_check()]
    if web_only:
        return checks
    if live:
        checks += [broker_check(), worker_check()]
    if checks[0].ok:
        checks += [
            beat_check(now),
            sending_check(now),
            failed_sends_check(now),
            helpdesk_check(now),
            webhooks_check(now),
        ]
    return checks


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
