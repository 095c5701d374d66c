"""Import past survey answers (e.g. Zendesk or Nicereply CSAT history) from CSV rows.

For each line the needed Ticket, Customer, Survey, Invitation (question) and Response
rows are created; the lines of one ticket are the questions of one survey. No email is
ever sent for them (the survey is stored answered, sent when it was answered) and no
follow-up is opened for an old low score. Idempotent on (source, ticket, kind): a line
whose ticket's survey already has a question of that kind is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from surveys import scoring, signals
from surveys.models import (
    Customer,
    Invitation,
    Response,
    ResponseRevision,
    Survey,
    Team,
    Ticket,
)
from surveys.services import agent_upsert, category_ensure

from .rebuild import rollups_rebuild
from .rollups import rollups_refresh

DEFAULT_SOURCE = "import"
DEFAULT_SCALES = {"csat": 5, "ces": 7, "nps": 11}
ALLOWED_SCALES = {"csat": (3, 5, 7), "ces": (5, 7), "nps": (11,)}
# Above this many imported answers, one rebuild is cheaper than refreshing buckets.
REBUILD_FROM = 5000
REQUIRED = ("ticket", "kind", "score", "answered_at")
# Column names as they appear in exports, normalised (lower case, "_" for spaces).
ALIASES = {
    "ticket_external_id": "ticket",
    "ticket_id": "ticket",
    "external_id": "ticket",
    "agent": "agent_email",
    "answered": "answered_at",
    "date": "answered_at",
    "scale_points": "scale",
    "locale": "customer_locale",
    "email": "customer_email",
}


class ImportLineError(ValueError):
    """A line that cannot be imported; the message says why."""


@dataclass
class ImportResult:
    imported: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    invitations: list[Invitation] = field(default_factory=list)


def column_name(header: str) -> str:
    name = header.strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(name, name)


def _answered_at(text: str) -> datetime:
    value = parse_datetime(text)
    if value is None:
        day = parse_date(text)
        if day is None:
            raise ImportLineError(f"answered at {text!r} is not a date or time (use ISO 8601)")
        value = datetime.combine(day, time(12, 0))
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    return value


def parse_line(row: Mapping[str, str], *, default_source: str = DEFAULT_SOURCE) -> dict[str, Any]:
    """Check one CSV line and turn it into typed values; raises ImportLineError."""
    values = {column_name(k): (v or "").strip() for k, v in row.items() if k is not None}
    missing = [name for name in REQUIRED if not values.get(name)]
    if missing:
        raise ImportLineError(f"missing {', '.join(missing)}")
    kind = values["kind"].lower()
    if kind not in DEFAULT_SCALES:
        raise ImportLineError(f"kind {values['kind']!r} is not csat, ces or nps")
    try:
        score = int(values["score"])
        scale = int(values.get("scale") or DEFAULT_SCALES[kind])
    except ValueError as exc:
        raise ImportLineError(f"score {values['score']!r} is not a whole number") from exc
    if scale not in ALLOWED_SCALES[kind]:
        raise ImportLineError(f"a {kind} scale of {scale} points is not supported")
    low, high = scoring.score_range(kind=kind, scale_points=scale)
    if not low <= score <= high:
        raise ImportLineError(f"{kind} score {score} is outside {low}-{high}")
    return {
        "source": values.get("source") or default_source,
        "ticket": values["ticket"][:100],
        "kind": kind,
        "scale": scale,
        "score": score,
        "comment": values.get("comment", ""),
        "answered_at": _answered_at(values["answered_at"]),
        "agent_email": values.get("agent_email", "").lower(),
        "team": values.get("team", "")[:100],
        "channel": values.get("channel", "").lower()[:30],
        "category": values.get("category", ""),
        "customer_email": values.get("customer_email", "").lower(),
        "customer_locale": values.get("customer_locale", "") or "en",
    }


def _customer(line: dict[str, Any], now: datetime) -> Customer:
    email = line["customer_email"] or f"import-{line['source']}@customers.invalid"
    # A stand-in customer is opted out, so nothing is ever sent to it.
    stand_in = not line["customer_email"]
    customer, _created = Customer.objects.get_or_create(
        email=email,
        defaults={
            "locale": line["customer_locale"],
            "created_at": line["answered_at"],
            "opted_out_at": now if stand_in else None,
        },
    )
    return customer


def response_import(*, line: dict[str, Any], now: datetime) -> Invitation | None:
    """Create the rows of one imported answer; None when it was imported before."""
    ticket = Ticket.objects.filter(source=line["source"], external_id=line["ticket"]).first()
    if (
        ticket is not None
        and Invitation.objects.filter(survey__ticket=ticket, kind=line["kind"]).exists()
    ):
        return None
    team = Team.objects.get_or_create(name=line["team"])[0] if line["team"] else None
    agent = agent_upsert(email=line["agent_email"], team=team) if line["agent_email"] else None
    answered_at = line["answered_at"]
    category = category_ensure(line["category"])
    if ticket is None:
        ticket = Ticket.objects.create(
            source=line["source"],
            external_id=line["ticket"],
            status=Ticket.Status.CLOSED,
            channel=line["channel"],
            category=category,
            requester=_customer(line, now),
            assignee=agent,
            team=team,
            created_at=answered_at,
            solved_at=answered_at,
        )
    # The lines of one ticket (its CSAT, CES and NPS) are the questions of one survey.
    survey, _created = Survey.objects.get_or_create(
        ticket=ticket,
        defaults={
            "customer": ticket.requester,
            "state": Survey.State.ANSWERED,
            "reason": "imported",
            "agent": agent,
            "team": team,
            "channel": line["channel"],
            "category": category,
            "locale": line["customer_locale"],
            "send_after": answered_at,
            "sent_at": answered_at,
            "expires_at": answered_at,
            "created_at": answered_at,
        },
    )
    invitation = Invitation.objects.create(
        survey=survey,
        kind=line["kind"],
        scale_points=line["scale"],
        created_at=answered_at,
    )
    response = Response.objects.create(
        invitation=invitation,
        raw_score=line["score"],
        score=scoring.normalise(kind=line["kind"], raw=line["score"], scale_points=line["scale"]),
        comment=line["comment"],
        answered_at=answered_at,
        updated_at=answered_at,
        # History: no follow-up is opened for it and the sweep leaves it alone.
        processed_at=now,
    )
    ResponseRevision.objects.create(
        response=response,
        raw_score=line["score"],
        comment=line["comment"],
        submitted_at=answered_at,
    )
    return invitation


def responses_import(
    *,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    default_source: str = DEFAULT_SOURCE,
    now: datetime | None = None,
) -> ImportResult:
    """Import (line number, CSV row) pairs; a bad line is reported and the rest go on.

    Safe to run again on the same file: lines imported before are skipped. The
    rollups are refreshed afterwards, so the reports include the imported answers.
    Imported answers are history: they send no webhook, chat post or email and open
    no follow-up case.
    """
    now = now or timezone.now()
    result = ImportResult()
    for number, row in rows:
        try:
            line = parse_line(row, default_source=default_source)
            # History, not events: no webhook, chat post, email or case for it.
            with signals.history_import(), transaction.atomic():
                invitation = response_import(line=line, now=now)
        except ImportLineError as exc:
            result.errors.append((number, str(exc)))
            continue
        if invitation is None:
            result.skipped += 1
        else:
            result.imported += 1
            result.invitations.append(invitation)
    _rollups_update(result.invitations)
    return result


def _rollups_update(invitations: list[Invitation]) -> None:
    if len(invitations) >= REBUILD_FROM:
        rollups_rebuild()
        return
    buckets = {}
    for invitation in invitations:
        survey = invitation.survey
        key = (
            timezone.localdate(survey.sent_at),
            invitation.kind,
            survey.agent_id,
            survey.team_id,
            survey.channel,
            survey.category,
        )
        buckets.setdefault(key, invitation)
    for invitation in buckets.values():
        rollups_refresh(survey=invitation.survey, invitation=invitation)
