"""Write-back: a survey's answers go into its ticket in the helpdesk the agents work in.

When an answer counts (recorded, changed, or approved after it was held), the worker
queues one WriteBack row for the survey's ticket, if the ticket came from a helpdesk
connection with write-back switched on. Sending it puts on the ticket an internal
note (the scores, the comment, the reasons, a link to the case), the tags
(kundpuls-csat-2, kundpuls-low ...) and, where the helpdesk has one, the score field.
A later change is one more write: the fields updated and one note saying what
changed. Answers recorded while a write waits are written by that write.

Like outbound webhooks, the database carries the work: a write is claimed with a
conditional UPDATE, each step it has done is kept (a retry never repeats a note), a
5xx or a timeout is tried again with backoff through the sweep, and a refused token
stops writing for that connection (shown on the integrations page) until an admin
saves its credentials again, so a bad token costs one refused call, not one per
answer.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from followups.models import FollowUp
from surveys import signals
from surveys.models import Response, Survey, SurveyKind
from surveys.queue import enqueue, not_queued
from surveys.reasons import reason_labels
from surveys.scoring import is_low
from surveys.untrusted import UntrustedJSONError, json_read

from .models import (
    HelpdeskConnection,
    HelpdeskProvider,
    HelpdeskWrite,
    InboundDelivery,
    WriteBack,
)

logger = logging.getLogger(__name__)

State = WriteBack.State
TAG_PREFIX = "kundpuls-"
LOW_TAG = "kundpuls-low"
# Wait before the 2nd, 3rd ... try; then every 30 minutes, for up to three days: a
# helpdesk down for an hour gets its writes within half an hour of coming back.
BACKOFF = [
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
]
GIVE_UP_AFTER = timedelta(days=3)
SENDING_TIMEOUT = timedelta(minutes=5)
# A write waits this long while an earlier write of its survey is under way.
WAIT = timedelta(seconds=5)
TIMEOUT_SECONDS = 10
# HubSpot's association type for a note on a ticket (HUBSPOT_DEFINED, note to ticket).
HUBSPOT_NOTE_TO_TICKET = 228


class WriteFailed(Exception):
    """A helpdesk call that did not succeed: status None for a network failure."""

    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    @property
    def lasting(self) -> bool:
        """A 4xx other than a timeout or rate limit: trying again will not help."""
        return (
            self.status is not None and 400 <= self.status < 500 and self.status not in (408, 429)
        )

    @property
    def refused(self) -> bool:
        """The credentials were refused: no write of this connection can succeed."""
        return self.status in (401, 403)


# --- Queueing ----------------------------------------------------------------------------


def writeback_connection(provider: str) -> HelpdeskConnection | None:
    """The connection that writes answers back to this helpdesk, if one does."""
    return (
        HelpdeskConnection.objects.filter(provider=provider, active=True, writeback=True)
        .exclude(api_token="")
        .first()
    )


def writeback_queue(*, survey: Survey, now: datetime) -> WriteBack | None:
    """Queue a write of the survey's answers to its ticket. None when its helpdesk is
    not written back to, or a write not yet started will carry this answer too."""
    if survey.ticket.source not in HelpdeskProvider.values:
        return None
    connection = writeback_connection(survey.ticket.source)
    if connection is None:
        return None
    waiting = WriteBack.objects.filter(
        connection=connection, survey=survey, state=State.PENDING, written__isnull=True
    )
    if waiting.exists():
        return None
    try:
        with transaction.atomic():
            write = WriteBack.objects.create(
                connection=connection,
                survey=survey,
                ticket_id=survey.ticket.external_id,
                next_attempt_at=now,
                created_at=now,
            )
    except IntegrityError:
        return None  # another worker queued it just now
    enqueue("integrations.tasks.writeback_send", write.pk)
    return write


@receiver(signals.answer_counted, dispatch_uid="writeback_answer_counted")
def _answer_counted(sender: Any, response: Response, now: datetime, **kwargs: Any) -> None:
    """An answer that counts goes to its ticket; a history import does not."""
    if signals.is_history():
        return
    try:
        writeback_queue(survey=response.invitation.survey, now=now)
    except Exception:  # the answer is processed whatever happens to its write-back
        logger.exception("could not queue the write-back of answer %s", response.pk)


def writes_due(
    model: type[HelpdeskWrite], *, now: datetime, limit: int = 500, **connection: Any
) -> list[int]:
    """Writes (write-backs, token writes) due a try and not waiting in the broker, for
    connections not stopped by a refused token (and matching `connection`, e.g.
    writeback=True); writes whose worker died are put back first."""
    model.objects.filter(state=State.SENDING, claimed_at__lt=now - SENDING_TIMEOUT).update(
        state=State.PENDING
    )
    pks = (
        model.objects.filter(
            not_queued(now, due_field="next_attempt_at"),
            state=State.PENDING,
            next_attempt_at__lte=now,
            connection__active=True,
            connection__writeback_error="",
            **{f"connection__{name}": value for name, value in connection.items()},
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return list(pks)


def writebacks_due(*, now: datetime, limit: int = 500) -> list[int]:
    return writes_due(WriteBack, now=now, limit=limit, writeback=True)


def write_claim(model: type[HelpdeskWrite], pk: int, now: datetime) -> bool:
    """Claim a due write for this worker (a conditional UPDATE): False when it is not
    due, its connection is stopped by a refused token, or another worker has it."""
    claimed = model.objects.filter(
        pk=pk, state=State.PENDING, next_attempt_at__lte=now, connection__writeback_error=""
    ).update(state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    return bool(claimed)


def writeback_credentials_saved(*, connection: HelpdeskConnection) -> int:
    """The credentials were saved: clear the stop, and queue the writes a refused
    token failed or held back. Returns the writes queued."""
    now = timezone.now()
    HelpdeskConnection.objects.filter(pk=connection.pk).update(
        writeback_error="", writeback_error_at=None
    )
    connection.writeback_error, connection.writeback_error_at = "", None
    WriteBack.objects.filter(
        connection=connection, state=State.FAILED, last_status__in=[401, 403]
    ).update(state=State.PENDING, next_attempt_at=now, attempts=0, queued_at=None)
    waiting = WriteBack.objects.filter(
        connection=connection, state=State.PENDING, next_attempt_at__lte=now
    ).values_list("pk", flat=True)
    ids = list(waiting)
    for writeback_id in ids:
        enqueue("integrations.tasks.writeback_send", writeback_id)
    return len(ids)


# --- Sending -----------------------------------------------------------------------------


def writeback_send(*, writeback_id: int, now: datetime | None = None) -> WriteBack | None:
    """Try one due write once. Returns it, or None when it was not due, its
    connection is stopped, or another worker has claimed it."""
    now = now or timezone.now()
    if not write_claim(WriteBack, writeback_id, now):
        return None
    write = WriteBack.objects.select_related("connection", "survey__ticket").get(pk=writeback_id)
    wait_until = _wait_until(write, now)
    if wait_until is not None:
        write.state, write.next_attempt_at = State.PENDING, wait_until
        write.attempts -= 1
        write.save(update_fields=["state", "next_attempt_at", "attempts"])
        return write
    previous = _previous(write)
    if write.written is None:
        write.written = answers_written(write.survey)
        write.save(update_fields=["written"])
    if not write.written["scores"] or write.written == previous:
        write_done(write, now, status=None)  # nothing new to say
        return write
    api = api_for(write.connection, write.ticket_id)
    try:
        for name, step in STEPS[write.connection.provider]:
            if name in write.steps_done:
                continue
            step(api, write, previous)
            write.steps_done = [*write.steps_done, name]
            write.save(update_fields=["steps_done"])
    except WriteFailed as failure:
        write_failed(write, failure, now)
    else:
        write_done(write, now, status=api.last_status)
    return write


def _wait_until(write: WriteBack, now: datetime) -> datetime | None:
    """While an earlier write of the survey is under way (this one says what changed
    since), when to try again: just after the earlier one's next try."""
    earlier = (
        WriteBack.objects.filter(
            connection=write.connection_id,
            survey=write.survey_id,
            pk__lt=write.pk,
            state__in=[State.PENDING, State.SENDING],
        )
        .order_by("-next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return None if earlier is None else max(earlier, now) + WAIT


def _previous(write: WriteBack) -> dict[str, Any] | None:
    """What the ticket was last told about this survey."""
    last = (
        WriteBack.objects.filter(
            connection=write.connection_id,
            survey=write.survey_id,
            pk__lt=write.pk,
            state=State.DONE,
        )
        .exclude(written__isnull=True)
        .order_by("-pk")
        .values_list("written", flat=True)
        .first()
    )
    return last


def write_done(write: Any, now: datetime, *, status: int | None) -> None:
    """A write (or a ticket token write) made."""
    write.state, write.done_at, write.last_status, write.last_error = State.DONE, now, status, ""
    write.save(update_fields=["state", "done_at", "last_status", "last_error"])


def write_failed(write: Any, failure: WriteFailed, now: datetime) -> None:
    """A try failed: again after the backoff, or failed for good (a lasting 4xx, or
    days of trying); a refused token stops the connection's writes."""
    wait = BACKOFF[min(write.attempts - 1, len(BACKOFF) - 1)]
    give_up = failure.lasting or now + wait > write.created_at + GIVE_UP_AFTER
    write.state = State.FAILED if give_up else State.PENDING
    write.next_attempt_at = now + wait
    write.last_status, write.last_error = failure.status, failure.detail[:500]
    write.save(update_fields=["state", "next_attempt_at", "last_status", "last_error"])
    if failure.refused:
        error = _("%(helpdesk)s refused the API token (HTTP %(status)s).") % {
            "helpdesk": write.connection.get_provider_display(),
            "status": failure.status,
        }
        HelpdeskConnection.objects.filter(pk=write.connection_id).update(
            writeback_error=error, writeback_error_at=now
        )
        logger.error("write-back to %s stopped: %s", write.connection, failure.detail)
    else:
        logger.warning("write-back %s to %s failed: %s", write.pk, write.connection, failure)


# --- What is written -----------------------------------------------------------------------


def answers_written(survey: Survey) -> dict[str, Any]:
    """The survey's answers that count, as the ticket is to show them."""
    responses = list(
        Response.objects.counted()
        .filter(invitation__survey=survey)
        .select_related("invitation")
        .order_by("invitation__pk")
    )
    scores = [
        {
            "kind": r.kind,
            "score": r.raw_score,
            "of": _scale_top(r),
            "low": is_low(kind=r.kind, score=r.score, scale_points=r.scale_points),
        }
        for r in responses
    ]
    comments = [r.comment for r in responses if r.comment]
    case = FollowUp.objects.filter(survey=survey).values_list("pk", flat=True).first()
    # The reasons in the staff's language, as the note is written in it.
    labels = reason_labels([r.pk for r in responses], language=settings.LANGUAGE_CODE)
    reasons = [label for r in responses for label in labels.get(r.pk, [])]
    return {
        "scores": scores,
        "comment": "\n\n".join(comments),
        "reasons": reasons,
        "case_url": settings.SITE_URL + reverse("followups:followup_detail", args=[case])
        if case
        else "",
    }


def _scale_top(response: Response) -> int:
    return 10 if response.kind == SurveyKind.NPS else response.scale_points


def tags(written: dict[str, Any] | None) -> list[str]:
    """The ticket's Kundpuls tags for what was written: one per score, and one when
    any score is low."""
    if not written:
        return []
    names = [f"{TAG_PREFIX}{s['kind']}-{s['score']}" for s in written["scores"]]
    if any(s["low"] for s in written["scores"]):
        names.append(LOW_TAG)
    return names


def score_value(written: dict[str, Any]) -> int | None:
    """The score field's value: the CSAT score, else the first score."""
    scores = written["scores"]
    chosen = next(
        (s for s in scores if s["kind"] == SurveyKind.CSAT), scores[0] if scores else None
    )
    return chosen["score"] if chosen else None


KIND_NAMES = {SurveyKind.CSAT: "CSAT", SurveyKind.CES: "CES", SurveyKind.NPS: "NPS"}


def note_lines(written: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    """The note's lines in the staff's language: the answer, or what changed."""
    with translation.override(settings.LANGUAGE_CODE):
        return _note_lines(written, previous)


def _note_lines(written: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    before = {s["kind"]: s for s in (previous or {}).get("scores", [])}
    if previous is None:
        lines = [_("Kundpuls: the customer answered the survey.")]
    else:
        lines = [_("Kundpuls: the customer changed the answer.")]
    for score in written["scores"]:
        name = KIND_NAMES.get(score["kind"], score["kind"].upper())
        old = before.get(score["kind"])
        low = " " + _("(low)") if score["low"] else ""
        if old is not None and old["score"] != score["score"]:
            lines.append(
                _("%(kind)s: %(old)s → %(new)s of %(top)s")
                % {"kind": name, "old": old["score"], "new": score["score"], "top": score["of"]}
                + low
            )
        else:
            lines.append(
                _("%(kind)s: %(score)s of %(top)s")
                % {"kind": name, "score": score["score"], "top": score["of"]}
                + low
            )
    if written["comment"] and written["comment"] != (previous or {}).get("comment"):
        label = _("Comment") if previous is None else _("New comment")
        lines.append(f"{label}: {written['comment']}")
    if written["reasons"] and written["reasons"] != (previous or {}).get("reasons"):
        lines.append(_("Reasons: %(reasons)s") % {"reasons": ", ".join(written["reasons"])})
    if written["case_url"]:
        lines.append(_("Case: %(url)s") % {"url": written["case_url"]})
    return lines


def note_text(written: dict[str, Any], previous: dict[str, Any] | None) -> str:
    return "\n".join(note_lines(written, previous))


def note_html(written: dict[str, Any], previous: dict[str, Any] | None) -> str:
    return "".join(f"<p>{escape(line)}</p>" for line in note_lines(written, previous))


# --- The helpdesks' APIs ---------------------------------------------------------------------


@dataclass
class Api:
    """One helpdesk's API for one ticket: its base URL, authorization and headers."""

    base: str
    authorization: str
    ticket_id: str
    extra_headers: dict[str, str]
    last_status: int | None = None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Make one call; its JSON answer (None when empty). Raises WriteFailed."""
        headers = {
            "Authorization": self.authorization,
            "Accept": "application/json",
            "User-Agent": "Kundpuls-WriteBack",
            **self.extra_headers,
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 -- the admin's helpdesk address
            self.base.rstrip("/") + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
                self.last_status = answer.status
                raw = answer.read(1_000_001)
        except urllib.error.HTTPError as exc:
            raise WriteFailed(exc.code, f"HTTP {exc.code} on {method} {path}") from exc
        except (OSError, ValueError) as exc:
            raise WriteFailed(None, f"{method} {path}: {exc}"[:500]) from exc
        if not raw.strip():
            return None
        try:
            return json_read(raw)
        except UntrustedJSONError:
            return None

    @property
    def ticket(self) -> str:
        return urllib.parse.quote(self.ticket_id, safe="")


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def _account_base(connection: HelpdeskConnection, ticket_id: str) -> str:
    """Zendesk's and Freshdesk's address: the connection's, the environment's, or the
    account the ticket's webhook came from."""
    if connection.api_base:
        return connection.api_base
    setting = {
        HelpdeskProvider.ZENDESK: settings.ZENDESK_API_BASE,
        HelpdeskProvider.FRESHDESK: settings.FRESHDESK_API_BASE,
    }[connection.provider]
    if setting:
        return setting
    account = (
        InboundDelivery.objects.filter(provider=connection.provider, ticket_id=ticket_id)
        .exclude(account="")
        .order_by("-received_at")
        .values_list("account", flat=True)
        .first()
    ) or ""
    if connection.provider == HelpdeskProvider.ZENDESK:
        return f"https://{account}.zendesk.com"
    return f"https://{account}"


def api_for(connection: HelpdeskConnection, ticket_id: str) -> Api:
    """The helpdesk's API for one of its tickets, with the connection's credentials."""
    provider, token = connection.provider, connection.api_token
    if provider == HelpdeskProvider.ZENDESK:
        auth = _basic(f"{connection.api_user}/token:{token}")
        return Api(_account_base(connection, ticket_id), auth, ticket_id, {})
    if provider == HelpdeskProvider.FRESHDESK:
        return Api(_account_base(connection, ticket_id), _basic(f"{token}:X"), ticket_id, {})
    if provider == HelpdeskProvider.HUBSPOT:
        base = connection.api_base or settings.HUBSPOT_API_BASE
        return Api(base, f"Bearer {token}", ticket_id, {})
    if provider == HelpdeskProvider.HELPSCOUT:
        base = connection.api_base or "https://api.helpscout.net"
        return Api(base, f"Bearer {token}", ticket_id, {})
    base = connection.api_base or "https://api.intercom.io"
    return Api(base, f"Bearer {token}", ticket_id, {"Intercom-Version": "2.11"})


def _tags_after(current: list[str], write: WriteBack, previous: dict[str, Any] | None) -> list[str]:
    """The ticket's tags with Kundpuls's old ones replaced by the new ones; the
    team's own tags stay."""
    old, new = set(tags(previous)), tags(write.written)
    kept = [t for t in current if t not in old and t not in new]
    return kept + new


Step = Callable[[Api, WriteBack, dict[str, Any] | None], None]


# Zendesk, Tickets API, "Update Ticket" (developer.zendesk.com/api-reference/ticketing/
# tickets/tickets/#update-ticket): PUT /api/v2/tickets/{id}.json; a comment with
# "public": false is an internal note; additional_tags and remove_tags change only the
# tags named; custom_fields takes [{"id", "value"}]. One call: note, tags and field.
def _zendesk_update(api: Api, write: WriteBack, previous: dict[str, Any] | None) -> None:
    ticket: dict[str, Any] = {
        "comment": {"body": note_text(write.written, previous), "public": False},
        "additional_tags": tags(write.written),
    }
    stale = sorted(set(tags(previous)) - set(tags(write.written)))
    if stale:
        ticket["remove_tags"] = stale
    value = score_value(write.written)
    if write.connection.score_field.isdigit() and value is not None:
        ticket["custom_fields"] = [{"id": int(write.connection.score_field), "value": value}]
    api.call("PUT", f"/api/v2/tickets/{api.ticket}.json", {"ticket": ticket})


# Freshdesk API v2 (developers.freshdesk.com/api/): "Create a Note" POST
# /api/v2/tickets/{id}/notes with {"body": HTML, "private": true}; "Update a Ticket"
# PUT /api/v2/tickets/{id}, whose "tags" replace the ticket's tags (so they are read
# first, "View a Ticket") and "custom_fields" takes {"cf_name": value}.
def _freshdesk_note(api: Api, write: WriteBack, previous: dict[str, Any] | None) -> None:
    body = {"body": note_html(write.written, previous), "private": True}
    api.call("POST", f"/api/v2/tickets/{api.ticket}/notes", body)


def _freshdesk_fields(api: Api, write: WriteBack, previous: dict[str, Any] | None) -> None:
    ticket = api.call("GET", f"/api/v2/tickets/{api.ticket}") or {}
    current = [str(t) for t in ticket.get("tags") or []] if isinstance(ticket, dict) else []
    update: dict[str, Any] = {"tags": _tags_after(current, write, previous)}
    value = score_value(write.written)
    if write.connection.score_field and value is not None:
        update["custom_fields"] = {write.connection.score_field: value}
    api.call("PUT", f"/api/v2/tickets/{api.ticket}", update)


# HubSpot CRM API v3: "Update" PATCH /crm/v3/objects/tickets/{id} with
# {"properties": {...}} (developers.hubspot.com/docs/api/crm/tickets); "Create a
# note" POST /crm/v3/objects/notes with hs_timestamp and hs_note_body, associated to
# the ticket (association type 228, HUBSPOT_DEFINED) (developers.hubspot.com/docs/api/
# crm/notes). HubSpot tickets have no tags.
def _hubspot_fields(api: Api, write: WriteBack, previous: dict[str, Any] | None) -> None:
    value = score_value(write.written)
    if not write.connection.score_field or value is None:
        return
    properties = {write.connection.score_field: str(value)}
    api.call("PATCH", f"/crm/v3/objects/tickets/{api.ticket}", {"properties": properties})


def _hubspot_note(api: Api, write: WriteBack, previous: dict[str, Any] | None) -> None:
    body = {
        "properties": {
            "hs_timestamp": timezone.now().isoformat(timespec="milliseconds"),
            "hs_note_body": note_html(write.written, previous),
        },
        "associations": [
            {
                "to": {"id": api.ticket_id},
                "types": [
                    {
                        "associationCategory": "HUBSPOT_DEFINED",
                        "associationTypeId": HUBSPOT_NOTE_TO_TICKET,
                    }
                ],
            }
        ],
    }
    api.call("POST", "/crm/v3/objects/notes", body)


# Help Scout Mailbox API 2.0 (developer.helpscout.com/mailbox-api/): "Create Note"
# POST /v2/conversations/{id}/notes with {"text": HTML}; "Update Tags" PUT
# /v2/conversations/{id}/tags with {"tags": [names]} replaces the tags, so they are
# read first from "Get Conversation" (its "tags": [{"id", "tag"}]).
def _helpscout_note(api: Api, write: WriteBack, previous: dict[str, Any] | None) -> None:
    body = {"text": note_html(write.written, previous)}
    api.call("POST", f"/v2/conversations/{api.ticket}/notes", body)


def _helpscout_tags(api: Api, write: WriteBack, previous: dict[str, Any] | None) -> None:
    conversation = api.call("GET", f"/v2/conversations/{api.ticket}") or {}
    listed = conversation.get("tags") or [] if isinstance(conversation, dict) else []
    current = [str(t.get("tag", "")) for t in listed if isinstance(t, dict)]
    body = {"tags": _tags_after(current, write, previous)}
    api.call("PUT", f"/v2/conversations/{api.ticket}/tags", body)


# Intercom REST API 2.11, "Reply to a conversation" (developers.intercom.com/docs/
# references/rest-api/api.intercom.io/conversations/replyconversation): POST
# /conversations/{id}/reply with message_type "note", type "admin", the admin's id
# (the connection's API user) and an HTML body. Intercom's tags need tag ids: none.
def _intercom_note(api: Api, write: WriteBack, previous: dict[str, Any] | None) -> None:
    body = {
        "message_type": "note",
        "type": "admin",
        "admin_id": write.connection.api_user,
        "body": note_html(write.written, previous),
    }
    api.call("POST", f"/conversations/{api.ticket}/reply", body)


# Each helpdesk's steps, in order; a step done is not done again on a retry.
STEPS: dict[str, list[tuple[str, Step]]] = {
    HelpdeskProvider.ZENDESK: [("update", _zendesk_update)],
    HelpdeskProvider.FRESHDESK: [("note", _freshdesk_note), ("fields", _freshdesk_fields)],
    HelpdeskProvider.HUBSPOT: [("fields", _hubspot_fields), ("note", _hubspot_note)],
    HelpdeskProvider.HELPSCOUT: [("note", _helpscout_note), ("tags", _helpscout_tags)],
    HelpdeskProvider.INTERCOM: [("note", _intercom_note)],
}


def writeback_status(*, now: datetime) -> dict[str, dict[str, Any]]:
    """Per helpdesk: write-back on or off, the stop (a refused token), and the
    writes done in the last 7 days, waiting and failed (one query)."""
    week = now - timedelta(days=7)
    waiting = [State.PENDING, State.SENDING]
    connections = HelpdeskConnection.objects.annotate(
        done_week=Count(
            "writebacks", filter=Q(writebacks__state=State.DONE, writebacks__done_at__gte=week)
        ),
        waiting=Count("writebacks", filter=Q(writebacks__state__in=waiting)),
        failed=Count("writebacks", filter=Q(writebacks__state=State.FAILED)),
    )
    return {
        c.provider: {
            "on": c.writeback and c.active and bool(c.api_token),
            "error": c.writeback_error,
            "done_week": c.done_week,
            "waiting": c.waiting,
            "failed": c.failed,
        }
        for c in connections
    }
