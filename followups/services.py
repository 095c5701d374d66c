"""Follow-up cases: opening, due times, who sees what, the case actions, and the
escalation and digest sweeps. Services write; selectors (followups_*) read. The
recovery survey is in followups/recovery.py, the follow-up report in
metrics/followup_report.py."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, When
from django.template.loader import render_to_string
from django.utils import timezone, translation

from surveys import scoring
from surveys.models import Agent, Response, Survey
from surveys.queue import enqueue

from .emails import followup_digest_email, followup_escalated_email, followup_opened_email
from .models import (
    FollowUp,
    FollowUpDigest,
    FollowUpEvent,
    FollowUpThreshold,
    FollowUpWord,
    TeamServiceLevel,
)

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_LEVEL = TeamServiceLevel(hours=8, start=time(8), end=time(16), weekdays="12345")

# --- Pure rules ----------------------------------------------------------------------


def due_time(
    *,
    opened: datetime,
    hours: int,
    day_start: time,
    day_end: time,
    weekdays: frozenset[int],
    zone: ZoneInfo,
) -> datetime:
    """The moment `hours` working hours after `opened`, counting only the hours between
    day_start and day_end on the ISO weekdays given (in the zone's local time)."""
    if not weekdays or day_end <= day_start:
        return opened + timedelta(hours=hours)
    cursor = opened.astimezone(zone).replace(tzinfo=None)
    remaining = timedelta(hours=hours)
    while True:
        if cursor.isoweekday() in weekdays:
            window_start = datetime.combine(cursor.date(), day_start)
            window_end = datetime.combine(cursor.date(), day_end)
            cursor = max(cursor, window_start)
            if cursor < window_end:
                if remaining <= window_end - cursor:
                    return (cursor + remaining).replace(tzinfo=zone)
                remaining -= window_end - cursor
        cursor = datetime.combine(cursor.date() + timedelta(days=1), time(0))


def score_text(*, kind: str, raw_score: int, scale_points: int) -> str:
    """ "CSAT 1 of 5", "CES 2 of 7", "NPS 0": a score as the case shows it."""
    if kind == "nps":
        return f"NPS {raw_score}"
    return f"{kind.upper()} {raw_score} of {scale_points}"


def case_reason(
    *, scores: list[tuple[str, int, int, int, int]], comment: str, words: list[str]
) -> str | None:
    """Why a survey's answers open a case, or None. scores: (kind, raw score, scale
    points, normalised score, low up to) per answer in question order. Names every low
    score ("CSAT 1 of 5, CES 1 of 7, NPS 0"), then a listed word in the comment."""
    parts = [
        score_text(kind=kind, raw_score=raw, scale_points=points)
        for kind, raw, points, score, low in scores
        if score <= low
    ]
    lowered = comment.lower()
    word = next((w.strip() for w in words if w.strip() and w.strip().lower() in lowered), None)
    if word:
        if not parts and scores:
            kind, raw, points, _score, _low = scores[0]
            parts.append(score_text(kind=kind, raw_score=raw, scale_points=points))
        parts[-1] += f", comment mentions “{word}”"
    return ", ".join(parts)[:200] if parts else None


# --- Opening a case ------------------------------------------------------------------


def low_up_to(*, kind: str, scale_points: int) -> int:
    threshold = FollowUpThreshold.objects.filter(kind=kind, scale_points=scale_points).first()
    if threshold is not None:
        return threshold.low_up_to
    return scoring.low_up_to(kind=kind, scale_points=scale_points)


def followup_due(*, survey: Survey, opened: datetime) -> datetime:
    level = DEFAULT_SERVICE_LEVEL
    if survey.team_id is not None:
        level = TeamServiceLevel.objects.filter(team_id=survey.team_id).first() or level
    return due_time(
        opened=opened,
        hours=level.hours,
        day_start=level.start,
        day_end=level.end,
        weekdays=level.weekday_numbers,
        zone=ZoneInfo(settings.TIME_ZONE),
    )


def answers_case_reason(answers: list[Response]) -> str | None:
    """Why these answers of one survey open a case (low scores, or a listed word in
    the comment), or None."""
    scores = []
    for answer in answers:
        invitation = answer.invitation
        low = low_up_to(kind=invitation.kind, scale_points=invitation.scale_points)
        scores.append(
            (invitation.kind, answer.raw_score, invitation.scale_points, answer.score, low)
        )
    comment = next((a.comment for a in answers if a.comment), "")
    words = list(FollowUpWord.objects.values_list("word", flat=True)) if comment else []
    return case_reason(scores=scores, comment=comment, words=words)


def response_case_reason(*, response: Response) -> str | None:
    """Why this one answer would open a case (a low score, or a listed word), or None."""
    return answers_case_reason([response])


def case_lead_answer(answers: list[Response]) -> Response | None:
    """The answer a case is first about: its first low one, else its first."""
    for answer in answers:
        invitation = answer.invitation
        if answer.score <= low_up_to(kind=invitation.kind, scale_points=invitation.scale_points):
            return answer
    return answers[0] if answers else None


def answers_text(answers: list[Response]) -> str:
    """Every score of a survey, for the case's history: "CSAT 5 of 5, CES 1 of 7"."""
    return ", ".join(
        score_text(kind=a.invitation.kind, raw_score=a.raw_score, scale_points=a.scale_points)
        for a in answers
    )[:200]


def followup_flag(*, survey: Survey, now: datetime) -> FollowUp | None:
    """Open the one case of a survey whose answers have a low score or a listed word,
    or put a change of its answers on the history of the case it has. Held answers
    count here (a fast angry customer is still called back); the case shows them as
    held. Safe to run again: nothing changes when the answers have not."""
    answers = survey.answers
    reason = answers_case_reason(answers)
    seen = answers_text(answers)
    followup = FollowUp.objects.filter(survey=survey).first()
    if followup is None:
        if reason is None:
            return None
        with transaction.atomic():
            followup, created = FollowUp.objects.get_or_create(
                survey=survey,
                defaults={
                    "owner": _owner_for(survey),
                    "reason": reason,
                    "answers_seen": seen,
                    "created_at": now,
                    "updated_at": now,
                    "due_at": followup_due(survey=survey, opened=now),
                },
            )
            if created:
                _event(followup, FollowUpEvent.Kind.OPENED, None, now, new=reason)
                return followup
    with transaction.atomic():
        changed = FollowUp.objects.filter(pk=followup.pk).exclude(answers_seen=seen)
        if changed.update(
            answers_seen=seen,
            reason=reason or followup.reason,
            updated_at=now,
        ):
            _event(
                followup, FollowUpEvent.Kind.ANSWER, None, now, old=followup.answers_seen, new=seen
            )
    followup.refresh_from_db()
    return followup


def followup_discarded(*, survey: Survey, now: datetime) -> FollowUp | None:
    """Held answers of the survey were discarded by an admin (they looked automated):
    the case says so on its history, and is closed as "no action" unless the answers
    left still open it."""
    followup = FollowUp.objects.filter(survey=survey).first()
    if followup is None:
        return None
    answers = survey.answers
    seen = answers_text(answers)
    with transaction.atomic():
        _event(
            followup,
            FollowUpEvent.Kind.DISCARDED,
            None,
            now,
            old=followup.answers_seen,
            new=seen,
            text="An admin discarded an answer held for review: it looked automated.",
        )
        FollowUp.objects.filter(pk=followup.pk).update(answers_seen=seen, updated_at=now)
        followup.refresh_from_db()
        if answers_case_reason(answers) is None and followup.is_open:
            followup = followup_status_set(
                followup=followup, status=FollowUp.Status.NO_ACTION, now=now
            )
    return followup


def _owner_for(survey: Survey) -> Any:
    agent = survey.agent
    if agent is not None and agent.is_active:
        return agent
    team = survey.team
    return team.lead if team is not None else None


def _loaded(followup_id: int) -> FollowUp:
    return FollowUp.objects.select_related(
        "owner", "survey__ticket", "survey__customer", "survey__team__lead"
    ).get(pk=followup_id)


def followup_notify(*, followup_id: int, now: datetime) -> bool:
    """Email the owner about a new case, once. Returns whether an email went out."""
    if FollowUp.objects.filter(pk=followup_id, owner__email="").exists():
        return False  # nobody to email (yet)
    # The claim filters on the case's own columns only: with a join, Django writes
    # UPDATE ... WHERE id IN (SELECT ...), whose "not notified yet" PostgreSQL does not
    # recheck, so two workers notifying at once could both win and email twice.
    claimed = FollowUp.objects.filter(
        pk=followup_id, owner_notified_at__isnull=True, owner__isnull=False
    ).update(owner_notified_at=now)
    if not claimed:
        return False
    try:
        followup_opened_email(followup=_loaded(followup_id)).send()
    except Exception:
        logger.exception("could not email the owner of follow-up %s; will retry", followup_id)
        FollowUp.objects.filter(pk=followup_id).update(owner_notified_at=None)
        return False
    return True


# --- Selectors -----------------------------------------------------------------------


def followups_unnotified(*, older_than: timedelta, now: datetime) -> list[int]:
    return list(
        FollowUp.objects.filter(
            owner_notified_at__isnull=True, owner__isnull=False, created_at__lt=now - older_than
        ).values_list("pk", flat=True)[:1000]
    )


def followups_open(*, status: str | None = None) -> QuerySet[FollowUp]:
    followups = FollowUp.objects.select_related(
        "owner", "survey__ticket", "survey__customer"
    ).prefetch_related("survey__invitations__response")
    if status == "open":
        return followups.filter(status__in=FollowUp.OPEN_STATUSES)
    if status:
        return followups.filter(status=status)
    return followups


def followups_visible(*, user: Any) -> QuerySet[FollowUp]:
    """Admins see every case, a team lead the team's cases, an agent their own."""
    followups = followups_open()
    if user.is_staff:
        return followups
    return followups.filter(Q(owner=user) | Q(survey__team__lead=user))


def followups_inbox(*, user: Any, scope: str = "mine") -> QuerySet[FollowUp]:
    """Open cases, overdue first (the longest overdue at the top), then by due time;
    scope "mine" or "all" (all visible)."""
    followups = followups_visible(user=user).filter(status__in=FollowUp.OPEN_STATUSES)
    if scope == "mine":
        followups = followups.filter(owner=user)
    overdue = Case(When(FollowUp.overdue_q(timezone.now()), then=0), default=1)
    return followups.order_by(overdue, F("due_at").asc(nulls_last=True), "created_at")


def followup_can_reassign(*, user: Any, followup: FollowUp) -> bool:
    team = followup.survey.team
    return bool(user.is_staff or (team is not None and team.lead_id == user.pk))


def followup_owner_choices(*, user: Any, followup: FollowUp) -> QuerySet[Any]:
    """Who a case may go to: anyone active for an admin, the team for its lead."""
    users = get_user_model().objects.filter(is_active=True)
    if user.is_staff:
        return users.order_by("email")
    team_id = followup.survey.team_id
    member_ids = Agent.objects.filter(team_id=team_id).values_list("user_id", flat=True)
    return users.filter(Q(pk__in=member_ids) | Q(pk=user.pk)).order_by("email")


def customer_history(*, followup: FollowUp) -> dict[str, Any]:
    """The customer's earlier answers and cases (of other surveys), newest first."""
    customer_id = followup.survey.customer_id
    responses = (
        Response.objects.filter(invitation__survey__customer_id=customer_id)
        .exclude(invitation__survey__ticket_id=followup.survey.ticket_id)
        .select_related("invitation__survey__ticket")
        .order_by("-answered_at")[:20]
    )
    cases = (
        FollowUp.objects.filter(survey__customer_id=customer_id)
        .exclude(survey_id=followup.survey_id)
        .select_related("survey__ticket")
        .order_by("-created_at")[:20]
    )
    return {"earlier_responses": list(responses), "earlier_cases": list(cases)}


# --- Case actions --------------------------------------------------------------------


def _event(followup: FollowUp, kind: str, actor: Any, now: datetime, **fields: Any) -> None:
    FollowUpEvent.objects.create(followup=followup, kind=kind, actor=actor, at=now, **fields)


@transaction.atomic
def followup_note_add(*, followup: FollowUp, actor: Any, text: str, now: datetime) -> FollowUp:
    _event(followup, FollowUpEvent.Kind.NOTE, actor, now, text=text)
    FollowUp.objects.filter(pk=followup.pk).update(updated_at=now)
    return followup


@transaction.atomic
def followup_status_set(
    *,
    followup: FollowUp,
    status: str,
    outcome: str | None = None,
    actor: Any = None,
    now: datetime | None = None,
) -> FollowUp:
    """Change the status (and the outcome, when given); each change is recorded."""
    now = now or timezone.now()
    changes: dict[str, Any] = {"updated_at": now}
    if status != followup.status:
        _event(followup, FollowUpEvent.Kind.STATUS, actor, now, old=followup.status, new=status)
        changes["status"] = status
        if status == FollowUp.Status.CONTACTED and followup.first_contacted_at is None:
            changes["first_contacted_at"] = now
    if outcome is not None and outcome != followup.outcome:
        _event(followup, FollowUpEvent.Kind.OUTCOME, actor, now, old=followup.outcome, new=outcome)
        changes["outcome"] = outcome
    FollowUp.objects.filter(pk=followup.pk).update(**changes)
    if changes.get("status") == FollowUp.Status.RESOLVED:
        # A broker that is down does not undo the change; the recovery sweep sends later.
        enqueue("followups.tasks.recovery_send", followup.pk)
    followup.refresh_from_db()
    return followup


@transaction.atomic
def followup_reassign(*, followup: FollowUp, owner: Any, actor: Any, now: datetime) -> FollowUp:
    """Give the case to someone else; they are emailed about it after commit."""
    if owner.pk == followup.owner_id:
        return followup
    old = followup.owner.email if followup.owner else ""
    _event(followup, FollowUpEvent.Kind.OWNER, actor, now, old=old, new=owner.email)
    FollowUp.objects.filter(pk=followup.pk).update(
        owner=owner, owner_notified_at=None, updated_at=now
    )
    transaction.on_commit(lambda: followup_notify(followup_id=followup.pk, now=now))
    followup.refresh_from_db()
    return followup


def customer_reply_draft(*, followup: FollowUp, sender: Any = None) -> dict[str, str]:
    """The subject and body of an email to the customer, in the customer's language,
    signed by the person who sends it (else the case's owner)."""
    customer = followup.survey.customer
    signer = sender if sender is not None and sender.is_authenticated else followup.owner
    context = {
        "customer_name": customer.name.split(" ")[0] if customer.name else "",
        "agent_name": (signer.get_full_name() or signer.email) if signer else "",
        "ticket": followup.survey.ticket,
    }
    with translation.override(customer.locale or followup.survey.locale):
        subject = render_to_string("emails/customer-reply-subject.txt", context)
        body = render_to_string("emails/customer-reply-body.txt", context)
    return {"subject": " ".join(subject.split()), "body": body.strip() + "\n"}


def customer_reply_send(
    *, followup: FollowUp, actor: Any, subject: str, body: str, now: datetime
) -> FollowUp:
    """Email the customer (replies go to the sender), record it, and mark the case
    contacted. Raises what the mail backend raises; nothing is recorded then."""
    reply_to = [actor.email] if getattr(actor, "email", "") else []
    message = EmailMessage(
        subject=subject,
        body=body,
        to=[followup.survey.customer.email],
        reply_to=reply_to,
    )
    message.extra_headers = {"X-Kundpuls-Followup": str(followup.pk)}
    message.send()
    with transaction.atomic():
        _event(followup, FollowUpEvent.Kind.EMAIL, actor, now, new=subject[:200], text=body)
        if followup.status == FollowUp.Status.NEW:
            followup = followup_status_set(
                followup=followup, status=FollowUp.Status.CONTACTED, actor=actor, now=now
            )
        elif followup.first_contacted_at is None:
            FollowUp.objects.filter(pk=followup.pk).update(first_contacted_at=now)
    followup.refresh_from_db()
    return followup


# --- Escalation and digest -----------------------------------------------------------


def followups_overdue(*, now: datetime) -> list[int]:
    return list(
        FollowUp.objects.filter(FollowUp.overdue_q(now), escalated_at__isnull=True).values_list(
            "pk", flat=True
        )[:1000]
    )


def followup_escalate(*, followup_id: int, now: datetime) -> bool:
    """Tell the team lead a case is past its due time, once (claimed with a conditional
    UPDATE). A case without a lead is claimed and recorded, but nobody is emailed."""
    claimed = FollowUp.objects.filter(
        pk=followup_id, escalated_at__isnull=True, status=FollowUp.Status.NEW
    ).update(escalated_at=now)
    if not claimed:
        return False
    followup = _loaded(followup_id)
    team = followup.survey.team
    lead = team.lead if team is not None else None
    if lead is not None and lead.email:
        try:
            followup_escalated_email(followup=followup, to=lead.email, recipient=lead).send()
        except Exception:
            logger.exception("could not escalate follow-up %s; will retry", followup_id)
            FollowUp.objects.filter(pk=followup_id).update(escalated_at=None)
            return False
    _event(followup, FollowUpEvent.Kind.ESCALATED, None, now, new=lead.email if lead else "")
    return True


def digest_owners(*, now: datetime) -> list[int]:
    """Owners of open cases due a digest today (none before the local hour
    settings.FOLLOWUP_DIGEST_HOUR)."""
    local = timezone.localtime(now)
    if local.hour < settings.FOLLOWUP_DIGEST_HOUR:
        return []
    done = FollowUpDigest.objects.filter(day=local.date(), sent_at__isnull=False)
    return list(
        FollowUp.objects.filter(status__in=FollowUp.OPEN_STATUSES, owner__isnull=False)
        .exclude(owner__email="")
        .exclude(owner_id__in=done.values("owner_id"))
        .values_list("owner_id", flat=True)
        .distinct()
    )


def digest_send(*, owner_id: int, day: date, now: datetime) -> bool:
    """Email one owner their open cases, once per day (the FollowUpDigest row)."""
    digest, _created = FollowUpDigest.objects.get_or_create(owner_id=owner_id, day=day)
    if not FollowUpDigest.objects.filter(pk=digest.pk, sent_at__isnull=True).update(sent_at=now):
        return False
    owner = get_user_model().objects.get(pk=owner_id)
    followups = list(followups_inbox(user=owner))
    if not followups:
        return False
    try:
        followup_digest_email(followups=followups, to=owner.email, now=now, recipient=owner).send()
    except Exception:
        logger.exception("could not send the digest to user %s; will retry", owner_id)
        FollowUpDigest.objects.filter(pk=digest.pk).update(sent_at=None)
        return False
    return True


def followups_sees_others(*, user: Any) -> bool:
    """Whether the user sees cases besides their own (an admin or a team lead)."""
    return bool(user.is_staff or user.led_teams.exists())
