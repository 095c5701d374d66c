"""The health checks: is every part of Kundpuls doing its work? Each check says what
is wrong in a sentence an operator can act on, with a link to the rows behind it.

Used by the staff health page, GET /healthz (200 or 503 for a load balancer or a
monitor) and `manage.py health` (exits 1 when something is wrong). The JSON and the
command keep the English sentences (a monitor may read them); the page shows them in
the reader's language."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, ngettext_lazy, pgettext_lazy

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


class Message:
    """A sentence of a check. str() gives it in the active language (the health page,
    at the time it is shown, so a cached check reads right in every language);
    .english gives the English that /healthz and `manage.py health` keep."""

    def __init__(self, text: str | Promise, **params: Any) -> None:
        self.text = text
        self.params = params

    def __str__(self) -> str:
        return self._render(english=False)

    @property
    def english(self) -> str:
        return self._render(english=True)

    def _render(self, *, english: bool) -> str:
        if english:
            # No catalogue at all: the msgid (or msgid_plural) exactly as written here.
            with translation.override(None):
                text = str(self.text)
        else:
            text = str(self.text)
        if not self.params:
            return text
        return text % {name: _said(value, english=english) for name, value in self.params.items()}


def _said(value: Any, *, english: bool) -> Any:
    if isinstance(value, Message):
        return value.english if english else str(value)
    if isinstance(value, Promise):
        return _said(Message(value), english=english)
    return value


# The checks' names as the page shows them; the JSON keys stay the names.
TITLES = {
    "database": pgettext_lazy("health check", "database"),
    "broker": pgettext_lazy("health check", "broker"),
    "worker": pgettext_lazy("health check", "worker"),
    "beat": pgettext_lazy("health check", "beat"),
    "sending": pgettext_lazy("health check", "sending"),
    "failed_sends": pgettext_lazy("health check", "failed_sends"),
    "helpdesk": pgettext_lazy("health check", "helpdesk"),
    "webhooks": pgettext_lazy("health check", "webhooks"),
}


@dataclass
class Check:
    name: str
    ok: bool
    message: Message | list[Message]
    notes: list[Message | str] = field(default_factory=list)
    link: str = ""

    @property
    def _parts(self) -> list[Message]:
        return self.message if isinstance(self.message, list) else [self.message]

    @property
    def summary(self) -> str:
        """In English, for the JSON and the command line."""
        return " ".join(part.english for part in self._parts)

    @property
    def details(self) -> list[str]:
        """In English, for the JSON and the command line."""
        return [str(_said(note, english=True)) for note in self.notes]

    @property
    def title(self) -> str:
        """The check's name in the active language, for the page."""
        return str(TITLES.get(self.name, self.name))

    @property
    def text(self) -> str:
        """The summary in the active language, for the page."""
        return " ".join(str(part) for part in self._parts)

    @property
    def text_details(self) -> list[str]:
        """The details in the active language, for the page."""
        return [str(_said(note, english=False)) for note in self.notes]

    def as_json(self) -> dict:
        return {"ok": self.ok, "summary": self.summary, "details": self.details}


def _admin(name: str, query: str = "") -> str:
    return reverse(f"admin:{name}") + (f"?{query}" if query else "")


def database_check() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure is the answer
        return Check(
            "database",
            False,
            Message(gettext_lazy("The database does not answer: %(error)s"), error=str(exc)),
        )
    return Check("database", True, Message(gettext_lazy("The database answers.")))


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
            Message(
                gettext_lazy(
                    "Redis (the queue) does not answer: %(error)s. Work waits in the database "
                    "and goes out when it is back."
                ),
                error=str(exc),
            ),
        )
    return Check("broker", True, Message(gettext_lazy("Redis (the queue) answers.")))


def worker_check() -> Check:
    from celery import current_app

    try:
        replies = current_app.control.ping(timeout=settings.HEALTH_WORKER_SECONDS)
    except Exception as exc:  # the broker is away: the broker check says so too
        return Check(
            "worker",
            False,
            Message(gettext_lazy("No worker could be asked: %(error)s"), error=str(exc)),
        )
    if not replies:
        return Check(
            "worker",
            False,
            Message(
                gettext_lazy(
                    "No Celery worker answered within %(seconds)s s: survey emails, answers' "
                    "follow-ups and webhooks wait. Start %(command)s."
                ),
                seconds=f"{settings.HEALTH_WORKER_SECONDS:g}",
                command="`celery -A config worker`",
            ),
        )
    count = len(replies)
    # The English says "worker(s)" for any number; other languages take their plural forms.
    answered = ngettext_lazy(
        "%(count)d worker(s) answered.", "%(count)d worker(s) answered.", count
    )
    return Check("worker", True, Message(answered, count=count))


def beat_check(now: datetime) -> Check:
    beat = Heartbeat.objects.filter(name="beat").first()
    # Beat queues sweeps every SURVEY_SWEEP_SECONDS; missing one and a half of them, and
    # a little more for heartbeats written at most every 10 s, means it is gone.
    sweep = settings.SURVEY_SWEEP_SECONDS
    allowed = timedelta(seconds=1.5 * sweep + HEARTBEAT_EVERY + 5)
    if beat is None:
        return Check(
            "beat", False, Message(gettext_lazy("Celery beat has never queued a sweep. Start it."))
        )
    if now - beat.at > allowed:
        return Check(
            "beat",
            False,
            Message(
                gettext_lazy(
                    "Celery beat last queued a sweep at %(time)s (%(ago)s ago): nothing due "
                    "is being picked up."
                ),
                time=f"{timezone.localtime(beat.at):%Y-%m-%d %H:%M:%S}",
                ago=_ago(now - beat.at),
            ),
        )
    return Check(
        "beat",
        True,
        Message(gettext_lazy("Beat queued a sweep %(ago)s ago."), ago=_ago(now - beat.at)),
    )


def sending_check(now: datetime) -> Check:
    late = Survey.objects.filter(state=Survey.State.SCHEDULED, send_after__lt=now - SEND_LATE)
    stuck = Survey.objects.filter(state=Survey.State.SENDING, claimed_at__lt=now - SEND_STUCK)
    parts = []
    oldest = late.aggregate(oldest=Min("send_after"))["oldest"]
    if oldest is not None:
        late_count = late.count()
        # The English says "email(s)" for any number; other languages take their plural forms.
        due = ngettext_lazy(
            "%(count)d survey email(s) due and not sent; the oldest was due %(ago)s ago.",
            "%(count)d survey email(s) due and not sent; the oldest was due %(ago)s ago.",
            late_count,
        )
        parts.append(Message(due, count=late_count, ago=_ago(now - oldest)))
    stuck_count = stuck.count()
    if stuck_count:
        stuck_text = ngettext_lazy(
            "%(count)d survey email(s) stuck in sending for over 2 minutes.",
            "%(count)d survey email(s) stuck in sending for over 2 minutes.",
            stuck_count,
        )
        parts.append(Message(stuck_text, count=stuck_count))
    if parts:
        return Check(
            "sending",
            False,
            parts,
            link=_admin("surveys_survey_changelist", "state__exact=scheduled"),
        )
    return Check("sending", True, Message(gettext_lazy("Every due survey email has gone out.")))


def failed_sends_check(now: datetime) -> Check:
    """Sends that failed for good in the last 24 hours; a problem while none has gone
    out since the last failure (a send that works again clears it)."""
    failed = Survey.objects.filter(state=Survey.State.FAILED, claimed_at__gte=now - RECENT)
    count = failed.count()
    if not count:
        return Check(
            "failed_sends",
            True,
            Message(gettext_lazy("No survey email failed in the last 24 hours.")),
        )
    reasons = failed.values("reason").annotate(n=Count("pk")).order_by("-n", "reason")[:5]
    last_sent = Survey.objects.aggregate(last=Max("sent_at"))["last"]
    last_failed = failed.aggregate(last=Max("claimed_at"))["last"]
    working_again = last_sent is not None and last_failed is not None and last_sent > last_failed
    # The English says "email(s)" for any number; other languages take their plural forms.
    if working_again:
        text = ngettext_lazy(
            "%(count)d survey email(s) failed for good in the last 24 hours; emails have "
            "gone out since.",
            "%(count)d survey email(s) failed for good in the last 24 hours; emails have "
            "gone out since.",
            count,
        )
    else:
        text = ngettext_lazy(
            "%(count)d survey email(s) failed for good in the last 24 hours, and none has "
            "gone out since.",
            "%(count)d survey email(s) failed for good in the last 24 hours, and none has "
            "gone out since.",
            count,
        )
    no_reason = gettext_lazy("(no reason)")
    return Check(
        "failed_sends",
        working_again,
        Message(text, count=count),
        # The reasons are the mail servers' own words: only "(no reason)" is translated.
        notes=[
            Message("%(reason)s: %(count)s", reason=row["reason"] or no_reason, count=row["n"])
            for row in reasons
        ],
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
        return Check(
            "helpdesk", True, Message(gettext_lazy("Every helpdesk delivery was processed."))
        )
    parts = []
    # The English says "delivery(ies)" for any number; other languages take their plural forms.
    if late:
        late_text = ngettext_lazy(
            "%(count)d helpdesk delivery(ies) not processed after 5 minutes.",
            "%(count)d helpdesk delivery(ies) not processed after 5 minutes.",
            late,
        )
        parts.append(Message(late_text, count=late))
    if failed_count:
        if failing_count:
            failed_text = ngettext_lazy(
                "%(count)d helpdesk delivery(ies) with an error in 24 hours, none processed since.",
                "%(count)d helpdesk delivery(ies) with an error in 24 hours, none processed since.",
                failed_count,
            )
        else:
            failed_text = ngettext_lazy(
                "%(count)d helpdesk delivery(ies) with an error in 24 hours; others went "
                "through since.",
                "%(count)d helpdesk delivery(ies) with an error in 24 hours; others went "
                "through since.",
                failed_count,
            )
        parts.append(Message(failed_text, count=failed_count))
    return Check(
        "helpdesk",
        not (late or failing_count),
        parts,
        # The errors are kept as the delivery recorded them.
        notes=list(failed.values_list("error", flat=True)[:5]),
        link=_admin("integrations_inbounddelivery_changelist"),
    )


def webhooks_check(now: datetime) -> Check:
    failed = WebhookDelivery.objects.filter(
        state=WebhookDelivery.State.FAILED, next_attempt_at__gte=now - RECENT
    )
    count = failed.count()
    if not count:
        return Check(
            "webhooks",
            True,
            Message(gettext_lazy("No outbound webhook delivery failed in 24 hours.")),
        )
    # The English says "delivery(ies)" for any number; other languages take their plural forms.
    text = ngettext_lazy(
        "%(count)d outbound webhook delivery(ies) failed for good in the last 24 hours.",
        "%(count)d outbound webhook delivery(ies) failed for good in the last 24 hours.",
        count,
    )
    return Check(
        "webhooks",
        False,
        Message(text, count=count),
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


def _ago(delta: timedelta) -> Message:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return Message(pgettext_lazy("time ago", "%(n)d s"), n=seconds)
    if seconds < 7200:
        return Message(pgettext_lazy("time ago", "%(n)d min"), n=seconds // 60)
    return Message(pgettext_lazy("time ago", "%(n)d h"), n=seconds // 3600)
