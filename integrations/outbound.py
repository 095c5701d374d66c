"""Outbound webhooks: events signed the Standard Webhooks way, retried through the DB.

An event becomes one WebhookDelivery row per subscription in the transaction that
caused it (a Slack or Microsoft Teams subscription gets it written as a chat message,
and only the events a person should act on: a low score, a new case); a task sends
it after commit, and the sweep retries failures with backoff (next_attempt_at) for
up to a day, then disables a subscription failing that long. Safe to re-run: a
delivery is claimed with a conditional UPDATE.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from followups.api import FollowUpSerializer
from followups.models import FollowUp, FollowUpEvent
from followups.services import case_lead_answer, followups_open
from surveys import signals
from surveys.api import ResponseSerializer
from surveys.models import Response, Team
from surveys.queue import enqueue, not_queued

from .chat import chat_message, low_score_message
from .emails import webhook_disabled_email
from .models import WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

EVENTS = ["response.created", "response.updated", "followup.created", "followup.updated"]
# The events a chat subscription is sent: a low score and the case it opens.
CHAT_EVENTS = ["response.created", "followup.created"]
Format = WebhookSubscription.Format
# Wait before the 2nd, 3rd ... try (the Standard Webhooks suggestion, cut at a day).
BACKOFF = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
]
GIVE_UP_AFTER = timedelta(hours=24)
SENDING_TIMEOUT = timedelta(minutes=5)
TIMEOUT_SECONDS = 10

State = WebhookDelivery.State


def secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The webhook-signature header value: v1,<base64 HMAC-SHA256>."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def subscription_create(
    *, url: str, events: list[str], format: str = Format.STANDARD, team: Team | None = None
) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        url=url, events=events, format=format, team=team, secret=secret_new()
    )


# A chat subscription's body for an event: (format) -> the message, or None to post nothing.
ChatMessage = Callable[[str], dict[str, Any] | None]


def event_publish(
    *,
    event_type: str,
    key: str,
    data: dict[str, Any],
    now: datetime,
    team_id: int | None = None,
    chat: ChatMessage | None = None,
    survey_id: int | None = None,
) -> int:
    """Queue an event for every active subscription to it. `key` names this version
    of the object: publishing the same key twice sends it once. `team_id` is the team
    of the ticket (a subscription limited to another team is skipped); `chat` writes
    the Slack or Teams message (without it, chat subscriptions get nothing);
    `survey_id` the survey it is about, whose customer's erasure empties the body.
    Returns rows made."""
    message_id = "msg_" + hashlib.sha256(f"{event_type}:{key}".encode()).hexdigest()[:32]
    bodies: dict[str, str | None] = {
        Format.STANDARD: json.dumps(
            {"type": event_type, "timestamp": now.isoformat(), "data": data},
            cls=DjangoJSONEncoder,
        )
    }
    made = 0
    for subscription in WebhookSubscription.objects.filter(active=True):
        if event_type not in subscription.events:
            continue
        if subscription.team_id is not None and subscription.team_id != team_id:
            continue
        if subscription.format not in bodies:
            message = chat(subscription.format) if chat is not None else None
            bodies[subscription.format] = json.dumps(message) if message is not None else None
        body = bodies[subscription.format]
        if body is None:
            continue
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    subscription=subscription,
                    message_id=message_id,
                    event_type=event_type,
                    survey_id=survey_id,
                    body=body,
                    next_attempt_at=now,
                    created_at=now,
                )
        except IntegrityError:
            continue  # published already
        enqueue("integrations.tasks.webhook_delivery_send", delivery.pk)
        made += 1
    return made


def webhook_delivery_send(
    *, delivery_id: int, now: datetime | None = None
) -> WebhookDelivery | None:
    """Try one due delivery once. Returns it, or None when it was not due or is
    claimed by another worker."""
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, state=State.PENDING, next_attempt_at__lte=now
    ).update(state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    status, error = _post(delivery, now)
    if 200 <= (status or 0) < 300:
        _delivered(delivery, status, now)
    else:
        _failed(delivery, status, error, now)
    return delivery


def url_refusal(url: str) -> str:
    """Why Kundpuls must not POST to this URL ("" when it may): webhook receivers are
    public hosts, so an API key cannot make Kundpuls call into the private network."""
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return ""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return f"cannot resolve {host!r}"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return f"{host} is a private, loopback or reserved address ({address})"
    return ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could lead to a private address: treat it as the receiver's answer."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(delivery: WebhookDelivery, now: datetime) -> tuple[int | None, str]:
    refusal = url_refusal(delivery.subscription.url)
    if refusal:
        return None, f"refused: {refusal}"
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Kundpuls-Webhooks",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(
            secret=delivery.subscription.secret,
            message_id=delivery.message_id,
            timestamp=timestamp,
            body=delivery.body,
        ),
    }
    request = urllib.request.Request(  # noqa: S310  (the URL is an http(s) URLField)
        delivery.subscription.url, data=delivery.body.encode(), headers=headers, method="POST"
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return None, str(exc)[:500]


def _delivered(delivery: WebhookDelivery, status: int, now: datetime) -> None:
    delivery.state, delivery.last_status, delivery.delivered_at = State.DELIVERED, status, now
    delivery.last_error = ""
    delivery.save(update_fields=["state", "last_status", "delivered_at", "last_error"])
    WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(failing_since=None)


def _failed(delivery: WebhookDelivery, status: int | None, error: str, now: datetime) -> None:
    wait = BACKOFF[min(delivery.attempts - 1, len(BACKOFF) - 1)]
    give_up = now + wait > delivery.created_at + GIVE_UP_AFTER
    delivery.state = State.FAILED if give_up else State.PENDING
    delivery.next_attempt_at = now + wait
    delivery.last_status, delivery.last_error = status, error
    delivery.save(update_fields=["state", "next_attempt_at", "last_status", "last_error"])
    subscription = WebhookSubscription.objects.filter(pk=delivery.subscription_id)
    subscription.filter(failing_since__isnull=True).update(failing_since=now)
    if subscription.filter(failing_since__lte=now - GIVE_UP_AFTER, active=True).update(
        active=False
    ):
        _disabled(delivery.subscription, error)


def _disabled(subscription: WebhookSubscription, error: str) -> None:
    """Tell the admins (superusers) a subscription was switched off; the log stays."""
    from django.contrib.auth import get_user_model

    logger.error("webhook subscription %s switched off after a day of failures", subscription)
    admins = get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(email="")
    recipients = sorted(admins.values_list("email", flat=True))
    if not recipients:
        return
    try:
        webhook_disabled_email(subscription=subscription, error=error, to=recipients).send()
    except Exception:
        logger.exception("could not tell the admins that %s was switched off", subscription)


def webhook_deliveries_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Deliveries due a try and not already waiting in the broker; sends whose worker
    died are put back first."""
    WebhookDelivery.objects.filter(
        state=State.SENDING, claimed_at__lt=now - SENDING_TIMEOUT
    ).update(state=State.PENDING)
    pks = (
        WebhookDelivery.objects.filter(
            not_queued(now, due_field="next_attempt_at"),
            Q(state=State.PENDING, next_attempt_at__lte=now),
            subscription__active=True,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return list(pks)


# --- Events ----------------------------------------------------------------------------
# Answers are published when processed (signals.answer_counted), every version. Follow-up
# cases are created with a save but changed with queryset updates; every change also
# writes a FollowUpEvent to the case history, so that row's save is followup.updated.


def _publish_safely(
    event_type: str,
    key: str,
    data: Any,
    team: Callable[[], int | None] = lambda: None,
    chat: ChatMessage | None = None,
    survey: Callable[[], int | None] = lambda: None,
) -> None:
    """Publish without ever failing the save that caused the event. `data` and `team`
    (the ticket's team id) are read only when there is a subscription. History (a
    history import) is not published."""
    if signals.is_history() or not WebhookSubscription.objects.filter(active=True).exists():
        return
    try:
        with transaction.atomic():
            event_publish(
                event_type=event_type,
                key=key,
                data=data(),
                now=timezone.now(),
                team_id=team(),
                chat=chat,
                survey_id=survey(),
            )
    except Exception:
        logger.exception("could not publish %s %s", event_type, key)


@receiver(signals.answer_counted, dispatch_uid="outbound_answer_counted")
def _answer_counted(sender: Any, response: Response, **kwargs: Any) -> None:
    """An answer that counts is published by the worker that processes it: new (its
    first version, or one an admin just approved after it was held for review) or
    changed. One held for review is not, until approved. Processing the same
    version again publishes nothing new (the key names the version)."""
    created = response.updated_at in (response.answered_at, response.released_at)
    _response_publish(response, "response.created" if created else "response.updated")


def _response_publish(response: Response, event_type: str) -> None:
    _publish_safely(
        event_type,
        f"{response.pk}:{response.updated_at.isoformat()}",
        lambda: ResponseSerializer(response).data,
        team=lambda: response.invitation.survey.team_id,
        chat=(lambda fmt: low_score_message(response, fmt))
        if event_type == "response.created"
        else None,
        survey=lambda: response.invitation.survey_id,
    )


def _followup_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        _publish_safely(
            "followup.created",
            str(instance.pk),
            lambda: FollowUpSerializer(instance).data,
            team=lambda: instance.survey.team_id,
            chat=lambda fmt: chat_message(
                response=case_lead_answer(instance.answers), followup=instance, format=fmt
            ),
            survey=lambda: instance.survey_id,
        )


def _followup_changed(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created or instance.kind == FollowUpEvent.Kind.OPENED:
        return

    def data() -> Any:
        # Loaded with its answers, as the API loads it: the serializer reads them often.
        return FollowUpSerializer(followups_open().get(pk=instance.followup_id)).data

    # After commit: the case row is updated after its history row in the same transaction.
    # One action (say status and outcome together) writes rows with one time: one event.
    key = f"{instance.followup_id}:{instance.at.isoformat()}"

    def team() -> int | None:
        return (
            FollowUp.objects.filter(pk=instance.followup_id)
            .values_list("survey__team_id", flat=True)
            .first()
        )

    def survey() -> int | None:
        return (
            FollowUp.objects.filter(pk=instance.followup_id)
            .values_list("survey_id", flat=True)
            .first()
        )

    transaction.on_commit(
        lambda: _publish_safely("followup.updated", key, data, team, survey=survey)
    )


post_save.connect(_followup_saved, sender=FollowUp, dispatch_uid="outbound_followup")
post_save.connect(_followup_changed, sender=FollowUpEvent, dispatch_uid="outbound_followup_changed")


# --- API -------------------------------------------------------------------------------


class SubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENTS), min_length=1, max_length=len(EVENTS)
    )
    format = serializers.ChoiceField(
        choices=Format.choices,
        default=Format.STANDARD,
        help_text="standard: the signed JSON event; slack or teams: a chat message for "
        "an incoming webhook (events response.created, for low scores, and followup.created).",
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Only events about this team's tickets (its id); none: every team's.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "format", "team", "events", "secret", "active", "created_at"]
        read_only_fields = ["id", "secret", "active", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("format", Format.STANDARD) != Format.STANDARD:
            others = sorted(set(attrs["events"]) - set(CHAT_EVENTS))
            if others:
                raise serializers.ValidationError(
                    {
                        "events": [
                            f"A {attrs['format']} subscription is sent "
                            f"{' and '.join(CHAT_EVENTS)} only, not {', '.join(others)}."
                        ]
                    }
                )
        return attrs

    def validate_url(self, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise serializers.ValidationError("Must be an http or https URL.")
        refusal = url_refusal(value)
        if refusal:
            raise serializers.ValidationError(f"Must be a public address: {refusal}.")
        return value


@api_view(["POST"])
def subscriptions(request: Request) -> ApiResponse:
    """Subscribe a URL to events. The signing secret is in this answer only."""
    serializer = SubscriptionSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    subscription = subscription_create(
        url=serializer.validated_data["url"],
        events=sorted(set(serializer.validated_data["events"])),
        format=serializer.validated_data["format"],
        team=serializer.validated_data["team"],
    )
    return ApiResponse(SubscriptionSerializer(subscription).data, status=201)
