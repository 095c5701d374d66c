"""Follow-ups for low scores, and the metric rollups.

Rollups are always recomputed from the raw rows of a bucket and replaced, never
incremented, so every function here is safe to run again.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from surveys.models import Invitation, Response

from . import formulas
from .models import FollowUp, InvitationRollup, ScoreRollup

logger = logging.getLogger(__name__)

DIMENSIONS = ("kind", "agent_id", "team_id", "channel", "category")


# --- Processing an answer ------------------------------------------------------------


def response_process(*, response_id: int, now: datetime | None = None) -> Response | None:
    """Open a follow-up for a low score and refresh the metrics an answer touches."""
    now = now or timezone.now()
    response = (
        Response.objects.select_related(
            "invitation__ticket", "invitation__agent", "invitation__team"
        )
        .filter(pk=response_id)
        .first()
    )
    if response is None:
        logger.info("response %s is gone; nothing to process", response_id)
        return None
    followup = followup_flag(response=response, now=now)
    rollups_refresh(invitation=response.invitation)
    # Only this version counts as processed: a change made meanwhile runs again.
    Response.objects.filter(pk=response.pk, updated_at=response.updated_at).update(processed_at=now)
    if followup is not None:
        followup_notify(followup_id=followup.pk, now=now)
    return response


def followup_flag(*, response: Response, now: datetime) -> FollowUp | None:
    """Open the follow-up case for a low score, once per invitation."""
    invitation = response.invitation
    if not formulas.is_low(
        kind=invitation.kind, score=response.score, scale_points=invitation.scale_points
    ):
        return None
    followup, _created = FollowUp.objects.get_or_create(
        invitation=invitation,
        defaults={
            "owner": _owner_for(invitation),
            "reason": f"{invitation.kind.upper()} {response.raw_score}",
            "created_at": now,
            "updated_at": now,
        },
    )
    return followup


def _owner_for(invitation: Invitation) -> Any:
    agent = invitation.agent
    if agent is not None and agent.is_active:
        return agent
    team = invitation.team
    return team.lead if team is not None else None


def followup_notify(*, followup_id: int, now: datetime) -> bool:
    """Email the owner about a new case, once. Returns whether an email went out."""
    from surveys.emails import followup_opened_email

    claimed = (
        FollowUp.objects.filter(pk=followup_id, owner_notified_at__isnull=True, owner__isnull=False)
        .exclude(owner__email="")
        .update(owner_notified_at=now)
    )
    if not claimed:
        return False
    followup = FollowUp.objects.select_related(
        "owner", "invitation__ticket", "invitation__customer", "invitation__response"
    ).get(pk=followup_id)
    try:
        followup_opened_email(followup=followup).send()
    except Exception:
        logger.exception("could not email the owner of follow-up %s; will retry", followup_id)
        FollowUp.objects.filter(pk=followup_id).update(owner_notified_at=None)
        return False
    return True


def responses_unprocessed(*, older_than: timedelta, now: datetime) -> list[int]:
    return list(
        Response.objects.filter(processed_at__isnull=True, updated_at__lt=now - older_than)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:1000]
    )


def followups_unnotified(*, older_than: timedelta, now: datetime) -> list[int]:
    return list(
        FollowUp.objects.filter(
            owner_notified_at__isnull=True, owner__isnull=False, created_at__lt=now - older_than
        ).values_list("pk", flat=True)[:1000]
    )


def followups_open(*, status: str | None = None) -> QuerySet[FollowUp]:
    followups = FollowUp.objects.select_related(
        "owner", "invitation__ticket", "invitation__customer", "invitation__response"
    )
    if status == "open":
        return followups.filter(status__in=FollowUp.OPEN_STATUSES)
    if status:
        return followups.filter(status=status)
    return followups


# --- Rollups -------------------------------------------------------------------------


def _local_day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, time.min), tz)
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tz)
    return start, end


def _bucket_filter(invitation: Invitation, prefix: str = "") -> Q:
    values = {
        "kind": invitation.kind,
        "agent_id": invitation.agent_id,
        "team_id": invitation.team_id,
        "channel": invitation.channel,
        "category": invitation.category,
    }
    query = Q()
    for name, value in values.items():
        key = prefix + name
        query &= Q(**{f"{key}__isnull": True}) if value is None else Q(**{key: value})
    return query


def rollups_refresh(*, invitation: Invitation) -> None:
    """Recompute the score and invitation buckets one invitation belongs to."""
    with transaction.atomic():
        response = Response.objects.filter(invitation=invitation).only("answered_at").first()
        if response is not None:
            day = timezone.localdate(response.answered_at)
            start, end = _local_day_bounds(day)
            ScoreRollup.objects.filter(_bucket_filter(invitation), day=day).delete()
            rows = _score_rows(
                Response.objects.filter(
                    _bucket_filter(invitation, "invitation__"),
                    answered_at__gte=start,
                    answered_at__lt=end,
                )
            )
            ScoreRollup.objects.bulk_create(ScoreRollup(**row) for row in rows)
        if invitation.sent_at is not None:
            day = timezone.localdate(invitation.sent_at)
            start, end = _local_day_bounds(day)
            InvitationRollup.objects.filter(_bucket_filter(invitation), day=day).delete()
            rows = _invitation_rows(
                Invitation.objects.filter(
                    _bucket_filter(invitation), sent_at__gte=start, sent_at__lt=end
                )
            )
            InvitationRollup.objects.bulk_create(InvitationRollup(**row) for row in rows)


def _score_rows(responses: QuerySet[Response]) -> list[dict[str, Any]]:
    rows = (
        responses.annotate(day=TruncDate("answered_at"))
        .values(
            "day",
            "invitation__kind",
            "invitation__agent_id",
            "invitation__team_id",
            "invitation__channel",
            "invitation__category",
            "invitation__scale_points",
            "score",
        )
        .annotate(count=Count("pk"), commented=Count("pk", filter=~Q(comment="")))
        .order_by()
    )
    return [
        {
            "day": row["day"],
            "kind": row["invitation__kind"],
            "agent_id": row["invitation__agent_id"],
            "team_id": row["invitation__team_id"],
            "channel": row["invitation__channel"],
            "category": row["invitation__category"],
            "scale_points": row["invitation__scale_points"],
            "score": row["score"],
            "count": row["count"],
            "commented": row["commented"],
        }
        for row in rows
    ]


def _invitation_rows(invitations: QuerySet[Invitation]) -> list[dict[str, Any]]:
    rows = (
        invitations.filter(sent_at__isnull=False, bounced_at__isnull=True)
        .annotate(day=TruncDate("sent_at"))
        .values("day", *DIMENSIONS)
        .annotate(delivered=Count("pk"), answered=Count("response"))
        .order_by()
    )
    return [dict(row) for row in rows]


def rollups_rebuild() -> tuple[int, int]:
    """Recompute every rollup from the raw rows. Returns (score rows, invitation rows)."""
    with transaction.atomic():
        ScoreRollup.objects.all().delete()
        InvitationRollup.objects.all().delete()
        scores = ScoreRollup.objects.bulk_create(
            (ScoreRollup(**row) for row in _score_rows(Response.objects.all())), batch_size=2000
        )
        invitations = InvitationRollup.objects.bulk_create(
            (InvitationRollup(**row) for row in _invitation_rows(Invitation.objects.all())),
            batch_size=2000,
        )
    return len(scores), len(invitations)


def rollups_differences() -> list[str]:
    """Compare the stored rollups with a fresh computation from the raw rows."""

    def key(row: dict[str, Any], fields: tuple[str, ...]) -> tuple[Any, ...]:
        return tuple(row[f] for f in fields)

    score_key = ("day", *DIMENSIONS, "scale_points", "score")
    stored = {
        key(r, score_key): (r["count"], r["commented"])
        for r in ScoreRollup.objects.values(*score_key, "count", "commented")
    }
    fresh = {
        key(r, score_key): (r["count"], r["commented"]) for r in _score_rows(Response.objects.all())
    }
    inv_key = ("day", *DIMENSIONS)
    stored_inv = {
        key(r, inv_key): (r["delivered"], r["answered"])
        for r in InvitationRollup.objects.values(*inv_key, "delivered", "answered")
    }
    fresh_inv = {
        key(r, inv_key): (r["delivered"], r["answered"])
        for r in _invitation_rows(Invitation.objects.all())
    }
    out = []
    for name, a, b in (("scores", stored, fresh), ("invitations", stored_inv, fresh_inv)):
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k) != b.get(k):
                out.append(f"{name} {k}: stored {a.get(k)}, raw rows {b.get(k)}")
    return out


def followup_status_set(
    *, followup: FollowUp, status: str, now: datetime | None = None
) -> FollowUp:
    FollowUp.objects.filter(pk=followup.pk).update(status=status, updated_at=now or timezone.now())
    followup.refresh_from_db()
    return followup
