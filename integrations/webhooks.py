"""Inbound helpdesk webhooks: verify, keep the raw delivery, ingest it in a worker.

The view only verifies and stores, so the helpdesk gets its answer at once; a task
(and, when the broker was away, the beat sweep) maps the delivery onto the ticket
event and calls ticket_ingest.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from surveys import services
from surveys.api import TicketEventSerializer
from surveys.models import ApiKey
from surveys.queue import enqueue, not_queued
from surveys.untrusted import UntrustedJSONError, json_read

from . import embedding, helpdesks
from .forms import WriteBackForm
from .models import (
    HelpdeskConnection,
    HelpdeskProvider,
    InboundDelivery,
    WebhookSubscription,
)
from .writeback import writeback_credentials_saved, writeback_status

logger = logging.getLogger(__name__)

# A delivery that failed this often (a bug, not a bad body) is left for an admin.
MAX_ATTEMPTS = 5
# The sweep leaves fresh deliveries to the task queued when they arrived.
SWEEP_GRACE = timedelta(minutes=1)


def hubspot_map(payload: dict[str, Any], *, key: helpdesks.DeliveryKey) -> dict[str, Any]:
    """Read the ticket, its first contact and its owner through HubSpot's CRM API.
    A ticket or contact that is gone raises DeliveryError; a transport error is
    raised as is, so the sweep tries again."""
    ticket = _hubspot_get(
        f"/crm/v3/objects/tickets/{quote(key.ticket_id)}",
        properties="subject,hs_pipeline_stage,createdate,hubspot_owner_id,"
        "hs_ticket_category,source_type,first_agent_reply_date",
        associations="contacts",
    )
    contacts = ((ticket.get("associations") or {}).get("contacts") or {}).get("results") or []
    if not contacts:
        raise helpdesks.DeliveryError("The HubSpot ticket has no contact to survey.")
    contact = _hubspot_get(
        f"/crm/v3/objects/contacts/{quote(str(contacts[0]['id']))}",
        properties="email,firstname,lastname,hs_language",
    )
    owner_id = str((ticket.get("properties") or {}).get("hubspot_owner_id") or "")
    owner = _hubspot_get(f"/crm/v3/owners/{quote(owner_id)}") if owner_id.isdigit() else None
    return helpdesks.hubspot_event(
        ticket, contact, owner, key=key, closed_stages=settings.HUBSPOT_CLOSED_STAGES
    )


def _hubspot_get(path: str, **params: str) -> dict[str, Any]:
    connection = HelpdeskConnection.objects.filter(provider=HelpdeskProvider.HUBSPOT).first()
    token = (connection.api_token if connection else "") or settings.HUBSPOT_ACCESS_TOKEN
    url = settings.HUBSPOT_API_BASE.rstrip("/") + path
    if params:
        url += "?" + urlencode(params)
    try:
        return _api_get(url, f"Bearer {token}")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise helpdesks.DeliveryError(f"HubSpot has no {path}.") from exc
        raise


def _api_get(url: str, authorization: str) -> Any:
    """GET a helpdesk API's JSON (at most a megabyte, read as untrusted)."""
    request = urllib.request.Request(  # noqa: S310 -- the admin's helpdesk URL
        url, headers={"Authorization": authorization, "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json_read(response.read(1_000_001))


def zendesk_map(payload: dict[str, Any], *, key: helpdesks.DeliveryKey) -> dict[str, Any]:
    """The Zendesk body, with the ticket's metrics from Zendesk's API when the
    connection has an API token (the trigger's placeholders offer none)."""
    event = helpdesks.zendesk_event(payload, key=key)
    if event["status"] not in ("solved", "closed"):
        return event
    connection = _api_connection(HelpdeskProvider.ZENDESK)
    if connection is None:
        return event
    base = settings.ZENDESK_API_BASE or f"https://{key.account}.zendesk.com"
    auth = _basic(f"{connection.api_user}/token:{connection.api_token}")
    metric = _metrics_get(
        f"{base.rstrip('/')}/api/v2/tickets/{quote(key.ticket_id)}/metrics.json", auth
    )
    if isinstance(metric, dict):
        metrics = metric.get("ticket_metric") or {}
        created_at = datetime.fromisoformat(event["created_at"])
        event |= helpdesks.zendesk_metrics(metrics, created_at=created_at)
    return event


def freshdesk_map(payload: dict[str, Any], *, key: helpdesks.DeliveryKey) -> dict[str, Any]:
    """The Freshdesk body, with the ticket's stats and replies from Freshdesk's API
    when the connection has an API key."""
    event = helpdesks.freshdesk_event(payload, key=key)
    if event["status"] not in ("solved", "closed"):
        return event
    connection = _api_connection(HelpdeskProvider.FRESHDESK)
    if connection is None:
        return event
    base = (settings.FRESHDESK_API_BASE or f"https://{key.account}").rstrip("/")
    auth = _basic(f"{connection.api_token}:X")
    ticket_url = f"{base}/api/v2/tickets/{quote(key.ticket_id)}"
    ticket = _metrics_get(f"{ticket_url}?include=stats", auth)
    conversations = _metrics_get(f"{ticket_url}/conversations", auth)
    if isinstance(ticket, dict) and isinstance(conversations, list):
        event |= helpdesks.freshdesk_metrics(ticket, conversations, key=key)
    return event


def _api_connection(provider: str) -> HelpdeskConnection | None:
    return (
        HelpdeskConnection.objects.filter(provider=provider, active=True)
        .exclude(api_token="")
        .first()
    )


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def _metrics_get(url: str, authorization: str) -> Any:
    """GET a helpdesk API's JSON; None (logged) when it cannot be read: the survey
    goes out without the service metrics rather than wait for them."""
    try:
        return _api_get(url, authorization)
    except (OSError, http.client.HTTPException, UntrustedJSONError) as exc:
        logger.warning("could not read ticket metrics from %s: %s", url.split("?")[0], exc)
        return None


Mapper = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Helpdesk:
    """What Kundpuls needs to know of one helpdesk's deliveries."""

    key: Callable[..., helpdesks.DeliveryKey]  # what tells one solve from another
    event: Mapper  # the delivery as the generic ticket event
    secret_setting: str  # the environment's secret, used when the admin set none
    body: str = ""  # the JSON body to paste into the helpdesk, for those that take one


HELPDESKS: dict[str, Helpdesk] = {
    HelpdeskProvider.ZENDESK: Helpdesk(
        helpdesks.zendesk_key,
        zendesk_map,
        "ZENDESK_WEBHOOK_SECRET",
        helpdesks.ZENDESK_BODY,
    ),
    HelpdeskProvider.FRESHDESK: Helpdesk(
        helpdesks.freshdesk_key,
        freshdesk_map,
        "FRESHDESK_WEBHOOK_TOKEN",
        helpdesks.FRESHDESK_BODY,
    ),
    HelpdeskProvider.HUBSPOT: Helpdesk(helpdesks.hubspot_key, hubspot_map, "HUBSPOT_CLIENT_SECRET"),
    HelpdeskProvider.HELPSCOUT: Helpdesk(
        helpdesks.helpscout_key, helpdesks.helpscout_event, "HELPSCOUT_WEBHOOK_SECRET"
    ),
    HelpdeskProvider.INTERCOM: Helpdesk(
        helpdesks.intercom_key, helpdesks.intercom_event, "INTERCOM_CLIENT_SECRET"
    ),
}


def helpdesk_secrets() -> dict[str, str]:
    """Every helpdesk's secret: the admin's (Helpdesk connections), else the environment's."""
    admin = dict(HelpdeskConnection.objects.filter(active=True).values_list("provider", "secret"))
    return {
        provider: admin[provider] if provider in admin else getattr(settings, desk.secret_setting)
        for provider, desk in HELPDESKS.items()
    }


def helpdesk_secret(provider: str) -> str:
    return helpdesk_secrets()[provider]


# --- Services --------------------------------------------------------------------------


def inbound_delivery_record(
    *, provider: str, payload: dict[str, Any], body: str = "", now: datetime | None = None
) -> tuple[InboundDelivery, bool]:
    """Keep a verified delivery (`body` as received, else the payload) and queue its
    processing. Returns (delivery, created); a retry of a delivery already kept is
    not queued again."""
    now = now or timezone.now()
    key = HELPDESKS[provider].key(payload, received_at=now)
    fields = {
        "provider": provider,
        "account": key.account,
        "ticket_id": key.ticket_id,
        "solved_at": key.solved_at,
    }
    try:
        with transaction.atomic():
            delivery = InboundDelivery.objects.create(
                **fields, body=body or json.dumps(payload), received_at=now
            )
            enqueue("integrations.tasks.inbound_delivery_process", delivery.pk)
    except IntegrityError:
        return InboundDelivery.objects.get(**fields), False
    return delivery, True


def inbound_delivery_process(
    *, delivery_id: int, now: datetime | None = None
) -> InboundDelivery | None:
    """Map and ingest one delivery. Safe to run twice: a processed delivery is skipped,
    and ticket_ingest is an upsert. A body that does not map is marked processed with
    the error; any other exception leaves it to the sweep."""
    now = now or timezone.now()
    claimed = InboundDelivery.objects.filter(
        pk=delivery_id, processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not claimed:
        return None
    delivery = InboundDelivery.objects.get(pk=delivery_id)
    event, error = _event_for(delivery)  # may call the helpdesk: outside the transaction
    with transaction.atomic():
        delivery = (
            InboundDelivery.objects.select_for_update()
            .filter(pk=delivery_id, processed_at__isnull=True)
            .first()
        )
        if delivery is None:
            return None  # another worker finished it meanwhile
        if event is not None:
            embedded = embedding.embedded_connection(delivery.provider)
            result = services.ticket_ingest(
                event=event, now=now, embedded=embedded.embedded if embedded else ""
            )
            if embedded is not None:
                embedding.ticket_heard_of(
                    connection=embedded,
                    ticket_id=result.ticket.external_id,
                    created=result.created,
                    now=now,
                )
        delivery.error, delivery.processed_at = error, now
        delivery.save(update_fields=["error", "processed_at"])
    return delivery


def _event_for(delivery: InboundDelivery) -> tuple[dict[str, Any] | None, str]:
    """The validated ticket event of a delivery, or why there is none."""

    key = helpdesks.DeliveryKey(delivery.account, delivery.ticket_id, delivery.solved_at)
    try:
        event = HELPDESKS[delivery.provider].event(json.loads(delivery.body), key=key)
    except (helpdesks.DeliveryError, json.JSONDecodeError) as exc:
        return None, str(exc)
    serializer = TicketEventSerializer(data=event)
    if not serializer.is_valid():
        return None, f"Not a valid ticket: {json.dumps(serializer.errors)}"
    return serializer.validated_data, ""


def inbound_deliveries_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Deliveries whose queued task never ran (broker down) or failed midway, and
    that a sweep has not queued already."""
    pks = (
        InboundDelivery.objects.filter(
            not_queued(now),
            processed_at__isnull=True,
            attempts__lt=MAX_ATTEMPTS,
            received_at__lte=now - SWEEP_GRACE,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    return list(pks)


# --- Views -----------------------------------------------------------------------------


def _error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _receive(provider: str, body: bytes) -> JsonResponse:
    try:
        payload = helpdesks.payload_read(body)
    except helpdesks.DeliveryError as exc:
        return _error(400, str(exc))
    return _kept(provider, payload, body.decode(errors="replace"))


def _kept(provider: str, payload: dict[str, Any], body: str = "") -> JsonResponse:
    """Keep a verified delivery: 202 when new, 200 for a retry of one already kept."""
    delivery, created = inbound_delivery_record(provider=provider, payload=payload, body=body)
    return JsonResponse(
        {"id": delivery.pk, "duplicate": not created}, status=202 if created else 200
    )


@csrf_exempt
@require_POST
def zendesk(request: HttpRequest) -> JsonResponse:
    """A Zendesk webhook call: 202 when kept, 200 for a retry, 401 when not signed."""
    try:
        helpdesks.zendesk_verify(
            secret=helpdesk_secret(HelpdeskProvider.ZENDESK),
            signature=request.headers.get("X-Zendesk-Webhook-Signature", ""),
            timestamp=request.headers.get("X-Zendesk-Webhook-Signature-Timestamp", ""),
            body=request.body,
            now=timezone.now(),
            tolerance=timedelta(seconds=settings.HELPDESK_WEBHOOK_TOLERANCE),
        )
    except helpdesks.SignatureError as exc:
        return _error(401, str(exc))
    return _receive(HelpdeskProvider.ZENDESK, request.body)


@csrf_exempt
@require_POST
def freshdesk(request: HttpRequest) -> JsonResponse:
    """A Freshdesk automation call: 202 when kept, 200 for a retry, 401 without the token."""
    try:
        helpdesks.freshdesk_verify(
            secret=helpdesk_secret(HelpdeskProvider.FRESHDESK),
            token=request.headers.get("X-Kundpuls-Token", ""),
        )
    except helpdesks.SignatureError as exc:
        return _error(401, str(exc))
    return _receive(HelpdeskProvider.FRESHDESK, request.body)


@csrf_exempt
@require_POST
def hubspot(request: HttpRequest) -> JsonResponse:
    """A HubSpot batch of events: each ticket change is kept as its own delivery."""
    try:
        helpdesks.hubspot_verify(
            secret=helpdesk_secret(HelpdeskProvider.HUBSPOT),
            signature=request.headers.get("X-HubSpot-Signature-v3", ""),
            method=request.method or "POST",
            # HubSpot signs the public URL it called, not the one behind the proxy.
            uri=settings.SITE_URL + request.get_full_path(),
            body=request.body,
            timestamp=request.headers.get("X-HubSpot-Request-Timestamp", ""),
            now=timezone.now(),
            tolerance=timedelta(seconds=settings.HELPDESK_WEBHOOK_TOLERANCE),
        )
        events = helpdesks.hubspot_events(request.body)
    except helpdesks.SignatureError as exc:
        return _error(401, str(exc))
    except helpdesks.DeliveryError as exc:
        return _error(400, str(exc))
    created = [inbound_delivery_record(provider="hubspot", payload=e)[1] for e in events]
    return JsonResponse({"received": created.count(True), "duplicates": created.count(False)})


@csrf_exempt
@require_POST
def helpscout(request: HttpRequest) -> JsonResponse:
    """A Help Scout status change: kept (202, or 200 for a retry), so a close surveys
    and a reopen cancels; other events are acknowledged and ignored."""
    try:
        helpdesks.helpscout_verify(
            secret=helpdesk_secret(HelpdeskProvider.HELPSCOUT),
            signature=request.headers.get("X-HelpScout-Signature", ""),
            body=request.body,
        )
    except helpdesks.SignatureError as exc:
        return _error(401, str(exc))
    event = request.headers.get("X-HelpScout-Event", "")
    if event != "convo.status":
        return JsonResponse({"ignored": event})
    return _receive(HelpdeskProvider.HELPSCOUT, request.body)


@csrf_exempt
@require_POST
def intercom(request: HttpRequest) -> JsonResponse:
    """An Intercom notification: conversation.admin.closed is kept (202, or 200 for a
    retry); other topics, the ping included, are acknowledged and ignored."""
    try:
        notification = helpdesks.intercom_verify(
            secret=helpdesk_secret(HelpdeskProvider.INTERCOM),
            signature=request.headers.get("X-Hub-Signature", ""),
            body=request.body,
            now=timezone.now(),
            tolerance=timedelta(seconds=settings.HELPDESK_WEBHOOK_TOLERANCE),
        )
        conversation = helpdesks.intercom_conversation(notification)
    except helpdesks.SignatureError as exc:
        return _error(401, str(exc))
    except helpdesks.DeliveryError as exc:
        return _error(400, str(exc))
    if conversation is None:
        return JsonResponse({"ignored": str(notification.get("topic") or "")})
    return _kept(HelpdeskProvider.INTERCOM, conversation)


@dataclass(frozen=True)
class HelpdeskStatus:
    provider: str
    label: str
    configured: bool
    last_received_at: datetime | None
    received_week: int
    failed_week: int
    # Write-back: on, its stop (a refused token), writes done this week, waiting, failed.
    writeback: dict[str, Any] | None = None


def helpdesks_status(*, now: datetime) -> list[HelpdeskStatus]:
    """Each helpdesk: is a secret set, when did it last call, how many calls in the
    last 7 days and how many of those could not be read as a ticket."""
    week = now - timedelta(days=7)
    rows = {
        row["provider"]: row
        for row in InboundDelivery.objects.values("provider").annotate(
            last=Max("received_at"),
            week=Count("pk", filter=Q(received_at__gte=week)),
            failed=Count("pk", filter=Q(received_at__gte=week) & ~Q(error="")),
        )
    }
    secrets = helpdesk_secrets()
    writebacks = writeback_status(now=now)
    return [
        HelpdeskStatus(
            provider=provider,
            label=label,
            configured=bool(secrets[provider]),
            last_received_at=rows.get(provider, {}).get("last"),
            received_week=rows.get(provider, {}).get("week", 0),
            failed_week=rows.get(provider, {}).get("failed", 0),
            writeback=writebacks.get(provider),
        )
        for provider, label in HelpdeskProvider.choices
    ]


@staff_member_required
def integrations(request: HttpRequest) -> HttpResponse:
    """Every way in and out of Kundpuls, with what is set up and working."""
    context = {
        "helpdesks": helpdesks_status(now=timezone.now()),
        "email_provider": settings.EMAIL_PROVIDER,
        "email_backend": settings.EMAIL_BACKEND.rsplit(".", 2)[-2],
        "subscriptions": WebhookSubscription.objects.order_by("pk"),
        "api_keys": ApiKey.objects.filter(revoked_at__isnull=True).count(),
        "nav": "integrations",
    }
    return render(request, "integrations/integrations.html", context)


@staff_member_required
def setup(request: HttpRequest, provider: str) -> HttpResponse:
    """The URL, the secret and the steps to connect one helpdesk, and its write-back
    settings (a form that saves the connection)."""
    if provider not in HELPDESKS:
        return _error(404, "Unknown helpdesk.")
    connection = HelpdeskConnection.objects.filter(provider=provider).first()
    if connection is None:
        # The environment's secret goes on receiving the webhooks.
        connection = HelpdeskConnection(provider=provider, secret=helpdesk_secret(provider))
    form = WriteBackForm(request.POST or None, instance=connection, provider=provider)
    if request.method == "POST":
        if form.is_valid():
            connection = form.save()
            writeback_credentials_saved(connection=connection)
            messages.success(request, _("Write-back settings saved."))
            return redirect(request.path)
        status = 400
    else:
        status = 200
    context = {
        "form": form,
        "connection": connection,
        "url": settings.SITE_URL + reverse(f"integrations:hooks_{provider}"),
        "secret": helpdesk_secret(provider),
        "body": HELPDESKS[provider].body,
        "connection_admin": reverse("admin:integrations_helpdeskconnection_changelist"),
        "tolerance_minutes": settings.HELPDESK_WEBHOOK_TOLERANCE // 60,
        "snippet": embedding.snippet(connection),
        "embeddable": provider in embedding.EMBEDDABLE,
    }
    return render(request, f"integrations/setup_{provider}.html", context, status=status)
