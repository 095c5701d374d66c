"""Helpdesk webhooks: signatures, the bodies to paste into each helpdesk, and the
mapping of those bodies onto the generic ticket event. Pure: no ORM, no clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from django.utils.dateparse import parse_datetime

from surveys.untrusted import UntrustedJSONError, json_read

# The JSON body of the Zendesk trigger action "Notify active webhook". Zendesk
# renders the placeholders; Kundpuls reads only these keys.
ZENDESK_BODY = """{
  "account": "{{ticket.account}}",
  "id": "{{ticket.id}}",
  "subject": "{{ticket.title}}",
  "status": "{{ticket.status}}",
  "via": "{{ticket.via}}",
  "tags": "{{ticket.tags}}",
  "url": "{{ticket.link}}",
  "group": "{{ticket.group.name}}",
  "requester": {
    "email": "{{ticket.requester.email}}",
    "name": "{{ticket.requester.name}}",
    "language": "{{ticket.requester.language}}"
  },
  "assignee": {
    "email": "{{ticket.assignee.email}}",
    "name": "{{ticket.assignee.name}}"
  },
  "created_at": "{{ticket.created_at_with_timestamp}}",
  "solved_at": "{{ticket.updated_at_with_timestamp}}"
}"""

# The JSON body of the Freshdesk automation action "Trigger webhook". Freshdesk has
# no placeholder for the time a ticket was resolved: the time it arrives is used.
FRESHDESK_BODY = """{
  "id": "{{ticket.id}}",
  "subject": "{{ticket.subject}}",
  "status": "{{ticket.status}}",
  "source": "{{ticket.source}}",
  "tags": "{{ticket.tags}}",
  "url": "{{ticket.url}}",
  "group": "{{ticket.group.name}}",
  "requester": {
    "email": "{{ticket.requester.email}}",
    "name": "{{ticket.requester.name}}"
  },
  "agent": {
    "email": "{{ticket.agent.email}}",
    "name": "{{ticket.agent.name}}"
  }
}"""

ZENDESK_STATUSES = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "pending",
    "on-hold": "pending",
    "solved": "solved",
    "closed": "closed",
}
FRESHDESK_STATUSES = {
    "open": "open",
    "pending": "pending",
    "waiting on customer": "pending",
    "waiting on third party": "pending",
    "resolved": "solved",
    "closed": "closed",
}
# What {{ticket.via}} and {{ticket.source}} render, as Kundpuls channels.
CHANNELS = {
    "mail": "email",
    "email": "email",
    "web form": "web",
    "web service": "api",
    "api": "api",
    "portal": "web",
    "chat": "chat",
    "messaging": "chat",
    "phone": "phone",
    "phone call": "phone",
    "voicemail": "phone",
    "twitter": "social",
    "facebook": "social",
    "feedback widget": "web",
}
# {{ticket.requester.language}} renders the language's name, not its code.
LANGUAGE_NAMES = {
    "english": "en",
    "swedish": "sv",
    "svenska": "sv",
    "norwegian": "nb",
    "norsk": "nb",
    "danish": "da",
    "dansk": "da",
    "finnish": "fi",
    "suomi": "fi",
    "frisian": "fy",
    "frysk": "fy",
}


class SignatureError(Exception):
    """The delivery is not from the helpdesk, or is a replay: answer 401."""


class DeliveryError(ValueError):
    """The body cannot be read as a ticket: answer 400."""


@dataclass(frozen=True)
class DeliveryKey:
    """What tells one solve of a ticket from another: retries share it."""

    account: str
    ticket_id: str
    solved_at: datetime


def zendesk_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def zendesk_verify(
    *,
    secret: str,
    signature: str,
    timestamp: str,
    body: bytes,
    now: datetime,
    tolerance: timedelta,
) -> None:
    """Raise SignatureError unless Zendesk signed this body within the tolerance."""
    if not secret:
        raise SignatureError("No Zendesk signing secret is configured.")
    expected = zendesk_signature(secret=secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("Invalid signature.")
    signed_at = _parse_time(timestamp)
    if signed_at is None or abs(now - signed_at) > tolerance:
        raise SignatureError("Timestamp outside the replay window.")


def hubspot_signature(*, secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot's v3 signature: base64 HMAC-SHA256 of method + URI + body + timestamp."""
    signed = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def hubspot_verify(
    *,
    secret: str,
    signature: str,
    method: str,
    uri: str,
    body: bytes,
    timestamp: str,
    now: datetime,
    tolerance: timedelta,
) -> None:
    """Raise SignatureError unless HubSpot signed this call within the tolerance.
    The timestamp is milliseconds since the epoch."""
    if not secret:
        raise SignatureError("No HubSpot client secret is configured.")
    expected = hubspot_signature(
        secret=secret, method=method, uri=unquote(uri), body=body, timestamp=timestamp
    )
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("Invalid signature.")
    if not timestamp.isdigit() or abs(now.timestamp() * 1000 - int(timestamp)) > (
        tolerance.total_seconds() * 1000
    ):
        raise SignatureError("Timestamp outside the replay window.")


def hubspot_events(body: bytes) -> list[dict[str, Any]]:
    """The ticket property changes in a HubSpot batch; other events are dropped."""
    events = _json(body)
    if not isinstance(events, list):
        raise DeliveryError("Body must be a JSON array of events.")
    return [
        event
        for event in events
        if isinstance(event, dict)
        and event.get("subscriptionType") == "ticket.propertyChange"
        and str(event.get("objectId") or "").strip()
    ]


def hubspot_key(payload: dict[str, Any], *, received_at: datetime) -> DeliveryKey:
    return DeliveryKey(
        account=_text(payload.get("portalId"))[:100],
        ticket_id=_text(payload["objectId"])[:100],
        solved_at=_epoch(payload.get("occurredAt"), per_second=1000) or received_at,
    )


def hubspot_event(
    ticket: dict[str, Any],
    contact: dict[str, Any],
    owner: dict[str, Any] | None,
    *,
    key: DeliveryKey,
    closed_stages: list[str],
) -> dict[str, Any]:
    """The ticket event for a HubSpot ticket, its first contact and its owner, as
    the CRM API returns them."""
    props = ticket.get("properties") or {}
    person = contact.get("properties") or {}
    closed = _text(props.get("hs_pipeline_stage")) in closed_stages
    payload = {
        "subject": props.get("subject"),
        "url": "",
        "group": "",
        "requester": {
            "email": person.get("email"),
            "name": _person(person, "firstname", "lastname"),
        },
    }
    assignee = None
    if owner and owner.get("email"):
        assignee = {"email": owner["email"], "name": _person(owner, "firstName", "lastName")}
    return (
        _event(
            payload,
            source="hubspot",
            key=key,
            status="solved" if closed else "open",
            channel=_text(props.get("source_type")),
            tags=[],
            assignee=assignee,
            locale=_text(person.get("hs_language")),
            created_at=_parse_time(props.get("createdate")),
        )
        | {"category": _text(props.get("hs_ticket_category")).lower()[:100]}
        | _metrics(
            # HubSpot's own first agent reply; it keeps no count of replies or reopens.
            first_response_at=_parse_time(props.get("first_agent_reply_date")),
            replies=None,
            reopens=None,
        )
    )


def freshdesk_verify(*, secret: str, token: str) -> None:
    """Freshdesk signs nothing: the rule sends a shared token in a header."""
    if not secret:
        raise SignatureError("No Freshdesk token is configured.")
    if not hmac.compare_digest(secret.encode(), token.encode()):
        raise SignatureError("Invalid token.")


def payload_read(body: bytes) -> dict[str, Any]:
    payload = _json(body)
    if not isinstance(payload, dict) or not str(payload.get("id") or "").strip():
        raise DeliveryError("Body must be a JSON object with the ticket id.")
    return payload


def zendesk_key(payload: dict[str, Any], *, received_at: datetime) -> DeliveryKey:
    return DeliveryKey(
        account=_text(payload.get("account"))[:100],
        ticket_id=_text(payload["id"])[:100],
        solved_at=_parse_time(payload.get("solved_at")) or received_at,
    )


def freshdesk_key(payload: dict[str, Any], *, received_at: datetime) -> DeliveryKey:
    # Without a resolved time, retries within the same minute count as one solve.
    return DeliveryKey(
        account=urlsplit(_text(payload.get("url"))).hostname or "",
        ticket_id=_text(payload["id"])[:100],
        solved_at=received_at.replace(second=0, microsecond=0),
    )


def zendesk_event(payload: dict[str, Any], *, key: DeliveryKey) -> dict[str, Any]:
    """The ticket event (TicketEventSerializer's input) for a Zendesk body."""
    created_at = _time_or_error(payload, "created_at")
    _time_or_error(payload, "solved_at")  # kept in the key; a wrong one is an error
    requester = payload.get("requester") or {}
    language = _text(requester.get("language"))
    return _event(
        payload,
        source="zendesk",
        key=key,
        status=ZENDESK_STATUSES.get(_text(payload.get("status")).lower(), "open"),
        channel=_text(payload.get("via")),
        tags=_text(payload.get("tags")).split(),
        assignee=payload.get("assignee"),
        locale=LANGUAGE_NAMES.get(language.lower(), language),
        created_at=created_at,
    )


def freshdesk_event(payload: dict[str, Any], *, key: DeliveryKey) -> dict[str, Any]:
    """The ticket event (TicketEventSerializer's input) for a Freshdesk body."""
    tags = [tag.strip() for tag in _text(payload.get("tags")).split(",")]
    return _event(
        payload,
        source="freshdesk",
        key=key,
        status=FRESHDESK_STATUSES.get(_text(payload.get("status")).lower(), "open"),
        channel=_text(payload.get("source")),
        tags=[tag for tag in tags if tag],
        assignee=payload.get("agent"),
        locale="",
        created_at=None,
    )


def _event(
    payload: dict[str, Any],
    *,
    source: str,
    key: DeliveryKey,
    status: str,
    channel: str,
    tags: list[str],
    assignee: Any,
    locale: str,
    created_at: datetime | None,
) -> dict[str, Any]:
    requester = payload.get("requester") or {}
    assignee = assignee if isinstance(assignee, dict) else {}
    solved = status in ("solved", "closed")
    created_at = min(created_at or key.solved_at, key.solved_at)
    return {
        "source": source,
        "external_id": key.ticket_id,
        "subject": _text(payload.get("subject"))[:500],
        "status": status,
        "channel": CHANNELS.get(channel.lower(), channel.lower())[:30],
        "tags": tags[:100],
        "url": _url(_text(payload.get("url"))),
        "requester": {
            "email": _text(requester.get("email")),
            "name": _text(requester.get("name"))[:200],
            "locale": locale[:35],
        },
        "assignee": (
            {"email": _text(assignee["email"]), "name": _text(assignee.get("name"))[:200]}
            if _text(assignee.get("email"))
            else None
        ),
        "team": _text(payload.get("group"))[:100],
        "created_at": created_at.isoformat(),
        "solved_at": key.solved_at.isoformat() if solved else None,
    }


def _url(value: str) -> str:
    # Zendesk's {{ticket.link}} renders without the scheme.
    return f"https://{value}" if value and "://" not in value else value[:500]


def _json(body: bytes) -> Any:
    try:
        return json_read(body)
    except UntrustedJSONError as exc:
        raise DeliveryError(str(exc)) from exc


def _epoch(value: Any, *, per_second: int = 1) -> datetime | None:
    """A time sent as seconds (per_second=1000: milliseconds) since the epoch."""
    if not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value / per_second, tz=UTC)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _time_or_error(payload: dict[str, Any], name: str) -> datetime | None:
    """A time the body gives: None when it gives none, a DeliveryError (kept on the
    delivery, shown on the health page) when it gives something that is not one, so
    a wrong date is never silently replaced by the time of arrival."""
    value = payload.get(name)
    if value in (None, ""):
        return None
    parsed = _parse_time(value)
    if parsed is None:
        raise DeliveryError(f"{name} is not a date and time with a zone: {_text(value)[:40]!r}")
    return parsed


def _parse_time(value: Any) -> datetime | None:
    try:
        parsed = parse_datetime(_text(value))
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


# --- Help Scout and Intercom -----------------------------------------------------------

# Help Scout conversation types and Intercom conversation sources, as Kundpuls channels.
HELPSCOUT_CHANNELS = {"email": "email", "chat": "chat", "phone": "phone", "beacon-v2": "web"}
INTERCOM_CHANNELS = {
    "conversation": "chat",
    "email": "email",
    "phone_call": "phone",
    "facebook": "social",
    "twitter": "social",
    "instagram": "social",
    "whatsapp": "social",
    "sms": "phone",
}


def helpscout_signature(*, secret: str, body: bytes) -> str:
    """Help Scout's signature: base64 HMAC-SHA1 of the body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()


def helpscout_verify(*, secret: str, signature: str, body: bytes) -> None:
    """Raise SignatureError unless Help Scout signed this body. Help Scout signs no
    time: a replayed call is caught by the deduplication on the conversation's
    close time instead."""
    if not secret:
        raise SignatureError("No Help Scout webhook secret is configured.")
    expected = helpscout_signature(secret=secret, body=body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("Invalid signature.")


def helpscout_key(payload: dict[str, Any], *, received_at: datetime) -> DeliveryKey:
    # A reopened conversation may still carry its last closedAt: only a close uses it.
    closed = _text(payload.get("status")).lower() == "closed"
    return DeliveryKey(
        account=_text(payload.get("mailboxId"))[:100],
        ticket_id=_text(payload["id"])[:100],
        solved_at=(closed and _parse_time(payload.get("closedAt"))) or received_at,
    )


def helpscout_event(payload: dict[str, Any], *, key: DeliveryKey) -> dict[str, Any]:
    """The ticket event for a Help Scout conversation object (webhook version 2)."""
    customer = payload.get("primaryCustomer") or payload.get("customer") or {}
    assignee = payload.get("assignee") or {}
    links = payload.get("_links") or {}
    body = {
        "subject": payload.get("subject"),
        "url": _text((links.get("web") or {}).get("href")),
        "group": "",
        "requester": {"email": customer.get("email"), "name": _person(customer, "first", "last")},
    }
    tags = [_text(t.get("tag") if isinstance(t, dict) else t) for t in payload.get("tags") or []]
    return _event(
        body,
        source="helpscout",
        key=key,
        status="solved" if _text(payload.get("status")).lower() == "closed" else "open",
        channel=HELPSCOUT_CHANNELS.get(_text(payload.get("type")).lower(), ""),
        tags=[tag for tag in tags if tag],
        assignee={"email": assignee.get("email"), "name": _person(assignee, "first", "last")},
        locale="",
        created_at=_parse_time(payload.get("createdAt")),
    )


def intercom_signature(*, secret: str, body: bytes) -> str:
    """Intercom's X-Hub-Signature: sha1= and the hex HMAC-SHA1 of the body."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def intercom_verify(
    *, secret: str, signature: str, body: bytes, now: datetime, tolerance: timedelta
) -> dict[str, Any]:
    """The notification, if Intercom signed it within the tolerance (its signed
    created_at is the time); raise SignatureError otherwise."""
    if not secret:
        raise SignatureError("No Intercom client secret is configured.")
    expected = intercom_signature(secret=secret, body=body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("Invalid signature.")
    notification = _json(body)
    if not isinstance(notification, dict):
        raise DeliveryError("Body must be a JSON object.")
    created = notification.get("created_at")
    if not isinstance(created, int | float) or abs(now.timestamp() - created) > (
        tolerance.total_seconds()
    ):
        raise SignatureError("Timestamp outside the replay window.")
    return notification


def intercom_conversation(notification: dict[str, Any]) -> dict[str, Any] | None:
    """The closed conversation of a conversation.admin.closed notification, with the
    app id and the close time beside it; None for any other topic (the ping too)."""
    if notification.get("topic") != "conversation.admin.closed":
        return None
    item = (notification.get("data") or {}).get("item")
    if not isinstance(item, dict) or not _text(item.get("id")):
        raise DeliveryError("The notification carries no conversation.")
    closed = (item.get("statistics") or {}).get("last_close_at") or notification.get("created_at")
    return item | {"app_id": _text(notification.get("app_id")), "closed_at": closed}


def intercom_key(payload: dict[str, Any], *, received_at: datetime) -> DeliveryKey:
    return DeliveryKey(
        account=_text(payload.get("app_id"))[:100],
        ticket_id=_text(payload["id"])[:100],
        solved_at=_epoch(payload.get("closed_at")) or received_at,
    )


def intercom_event(payload: dict[str, Any], *, key: DeliveryKey) -> dict[str, Any]:
    """The ticket event for a closed Intercom conversation: the customer is the
    author of its first message, the agent the admin who closed it."""
    source = payload.get("source") or {}
    author = source.get("author") or {}
    if _text(author.get("type")) not in ("user", "lead", "contact"):
        author = {}
    closer = {}
    parts = (payload.get("conversation_parts") or {}).get("conversation_parts") or []
    for part in parts:
        if isinstance(part, dict) and part.get("part_type") == "close":
            closer = part.get("author") or {}
    app_id = payload.get("app_id") or ""
    body = {
        "subject": payload.get("title") or _plain(source.get("subject")),
        "url": (
            f"https://app.intercom.com/a/apps/{app_id}/inbox/inbox/conversation/{key.ticket_id}"
            if app_id
            else ""
        ),
        "group": "",
        "requester": {"email": author.get("email"), "name": author.get("name")},
    }
    tags = [_text(t.get("name")) for t in (payload.get("tags") or {}).get("tags") or []]
    return _event(
        body,
        source="intercom",
        key=key,
        status="solved",
        channel=INTERCOM_CHANNELS.get(_text(source.get("type")).lower(), ""),
        tags=[tag for tag in tags if tag],
        assignee=closer if _text(closer.get("type")) == "admin" else None,
        locale="",
        created_at=_epoch(payload.get("created_at")),
    )


def _person(person: dict[str, Any], *names: str) -> str:
    return " ".join(_text(person.get(name)) for name in names if person.get(name))


def _plain(value: Any) -> str:
    """Intercom subjects are HTML: the text only."""
    return re.sub(r"<[^>]+>", "", _text(value))


# --- Ticket metrics read from a helpdesk's API (the webhook bodies carry none) ---------


def zendesk_metrics(metric: dict[str, Any], *, created_at: datetime) -> dict[str, Any]:
    """The event's service fields from Zendesk's ticket_metric object
    (GET /api/v2/tickets/{id}/metrics.json): first reply, replies, reopens."""
    reply = metric.get("reply_time_in_minutes") or {}
    minutes = reply.get("calendar") if isinstance(reply, dict) else None
    return _metrics(
        first_response_at=(
            created_at + timedelta(minutes=minutes) if isinstance(minutes, int | float) else None
        ),
        replies=metric.get("replies"),
        reopens=metric.get("reopens"),
    )


def freshdesk_metrics(
    ticket: dict[str, Any], conversations: list[dict[str, Any]], *, key: DeliveryKey
) -> dict[str, Any]:
    """The event's service fields from a Freshdesk ticket read with ?include=stats and
    its conversations: the first response, public replies by agents, and whether the
    ticket was reopened (Freshdesk keeps the last reopen's time, not a count)."""
    stats = ticket.get("stats") or {}
    public = [c for c in conversations if isinstance(c, dict) and not c.get("private")]
    metrics = _metrics(
        first_response_at=_parse_time(stats.get("first_responded_at")),
        replies=sum(1 for c in public if not c.get("incoming")),
        reopens=1 if stats.get("reopened_at") else 0,
    )
    # The webhook body has no creation time; the API has (never after the solve).
    created_at = _parse_time(ticket.get("created_at"))
    if created_at is not None:
        metrics["created_at"] = min(created_at, key.solved_at).isoformat()
    return metrics


def _metrics(*, first_response_at: datetime | None, replies: Any, reopens: Any) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    if first_response_at is not None:
        metrics["first_response_at"] = first_response_at.isoformat()
    if isinstance(replies, int) and 0 <= replies <= 100000:
        metrics["agent_replies"] = replies
    if isinstance(reopens, int) and 0 <= reopens <= 100000:
        metrics["reopens"] = reopens
    return metrics
