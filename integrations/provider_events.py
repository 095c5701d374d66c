"""Email provider tracking events (django-anymail): delivered, bounced, complained.

Every event is kept as an EmailEvent row; a provider's retry of the same event finds
its row and changes nothing. An event about a survey email or its reminder marks
the invitations in that email; a hard bounce, a rejection or a spam complaint also
suppresses the customer's address, so no survey email goes to it again (both done by
the core: surveys.services.survey_email_delivered and survey_email_refused).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from surveys import sending
from surveys.models import Survey

from .models import EmailEvent

logger = logging.getLogger(__name__)

# Events that say the address must not be mailed again.
SUPPRESSING = {EventType.BOUNCED, EventType.REJECTED, EventType.COMPLAINED}
# Bounces a provider reports as temporary (a later try may arrive): never suppressing.
_SOFT_BOUNCE_TYPES = {"SoftBounce", "Transient", "DnsError", "blocked"}


def provider_key(esp_name: str) -> str:
    """anymail's provider name as EMAIL_PROVIDER spells it: "Amazon SES" -> amazon_ses."""
    return esp_name.strip().lower().replace(" ", "_")


def is_soft_bounce(event: AnymailTrackingEvent) -> bool:
    """A bounce the provider calls temporary (Postmark SoftBounce/Transient, Amazon
    SES Transient, SendGrid blocked): the address may work on the next email."""
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    kind = raw.get("Type") or raw.get("type") or ""
    if isinstance(kind, str) and kind in _SOFT_BOUNCE_TYPES:
        return True
    return (event.description or "").startswith("Transient")


def email_event_record(
    *, esp_name: str, event: AnymailTrackingEvent, now: datetime | None = None
) -> EmailEvent | None:
    """Keep one tracking event and apply it to the survey of its email.

    Safe to repeat: an event already kept (same provider and event id) returns None
    and changes nothing. An event about an unknown message is kept and ignored.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = _stored(esp_name, event, now)
        if row is None:
            return None
        survey = _survey_of(row.message_id)
        if survey is None:
            logger.info("%s %s for unknown message %r", esp_name, row.event_type, row.message_id)
            return row
        _apply(row, event, survey)
    return row


def _event_id(esp_name: str, event: AnymailTrackingEvent) -> str:
    """The provider's event id, or (for events without one, such as a Postmark
    delivery) a digest of what the event says, so its retries are one row too."""
    if event.event_id:
        return str(event.event_id)[:200]
    timestamp = event.timestamp.isoformat() if event.timestamp else ""
    said = f"{esp_name}|{event.event_type}|{event.message_id}|{event.recipient}|{timestamp}"
    return "digest:" + hashlib.sha256(said.encode()).hexdigest()


def _stored(esp_name: str, event: AnymailTrackingEvent, now: datetime) -> EmailEvent | None:
    esp = provider_key(esp_name)
    event_id = _event_id(esp_name, event)
    if EmailEvent.objects.filter(esp_name=esp, event_id=event_id).exists():
        return None
    description = event.description or event.mta_response or ""
    try:
        with transaction.atomic():
            return EmailEvent.objects.create(
                esp_name=esp,
                event_id=event_id,
                event_type=str(event.event_type)[:20],
                message_id=str(event.message_id or "")[:255],
                recipient=str(event.recipient or "")[:254],
                description=str(description)[:500],
                occurred_at=event.timestamp or now,
                received_at=now,
            )
    except IntegrityError:
        return None  # the same event, kept by a concurrent request


def _survey_of(message_id: str) -> Survey | None:
    """The survey whose email (or reminder) the provider calls message_id."""
    if not message_id:
        return None
    return (
        Survey.objects.filter(Q(message_id=message_id) | Q(reminder_message_id=message_id))
        .select_related("customer")
        .order_by("pk")
        .first()
    )


def _apply(row: EmailEvent, event: AnymailTrackingEvent, survey: Survey) -> None:
    if row.event_type == EventType.DELIVERED:
        if survey.message_id == row.message_id:
            sending.survey_email_delivered(survey=survey, at=row.occurred_at)
        return
    if row.event_type not in SUPPRESSING or is_soft_bounce(event):
        return
    sending.survey_email_refused(
        survey=survey,
        message_id=row.message_id,
        complained=row.event_type == EventType.COMPLAINED,
        reason=_reason(row),
        at=row.occurred_at,
    )


def _reason(row: EmailEvent) -> str:
    what = {
        EventType.BOUNCED: "bounced",
        EventType.REJECTED: "rejected by the provider",
        EventType.COMPLAINED: "marked as spam",
    }[row.event_type]
    detail = f" ({row.description})" if row.description else ""
    return f"{row.esp_name}: {what} on {row.occurred_at:%Y-%m-%d}{detail}"[:200]


def tracking_received(
    sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any
) -> None:
    """anymail's tracking signal: the webhook view has checked the request already."""
    if provider_key(esp_name) != settings.EMAIL_PROVIDER:
        logger.warning(
            "ignored a %s tracking event: EMAIL_PROVIDER is %r",
            esp_name,
            settings.EMAIL_PROVIDER,
        )
        return
    email_event_record(esp_name=esp_name, event=event)
