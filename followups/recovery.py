"""The "Did we sort it out?" recovery survey.

When a case is resolved the customer is asked once, in their language, with a
one-click Yes and No; the answer sets the case's outcome. The report of these
answers is metrics/followup_report.py.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from surveys.models import SurveyPolicy
from surveys.tokens import token_hash, token_new

from .emails import recovery_email
from .models import FollowUp, FollowUpEvent
from .services import _event, _loaded

logger = logging.getLogger(__name__)

# "Did we sort it out?": the link works this long after it was sent, and the customer
# may change the answer this long after first giving it.
RECOVERY_LINK_DAYS = 30
RECOVERY_EDIT_DAYS = 7
# The sweep re-creates the sends of cases resolved this recently, never older ones (say,
# cases resolved while the recovery survey was switched off).
RECOVERY_SWEEP_WINDOW = timedelta(days=1)


# --- Recovery survey ------------------------------------------------------------------


class RecoveryClosed(Exception):
    """The recovery link expired, or the time to change the answer has passed."""


def recovery_link_state(
    *, sent_at: datetime | None, answered_at: datetime | None, now: datetime
) -> str:
    """Whether a recovery link is "open", "expired" (RECOVERY_LINK_DAYS after it was
    sent) or "closed" (answered more than RECOVERY_EDIT_DAYS ago)."""
    if sent_at is None or now >= sent_at + timedelta(days=RECOVERY_LINK_DAYS):
        return "expired"
    if answered_at is not None and now >= answered_at + timedelta(days=RECOVERY_EDIT_DAYS):
        return "closed"
    return "open"


def _recovery_askable() -> QuerySet[FollowUp]:
    """Resolved cases not yet asked whose customer still takes survey emails."""
    return FollowUp.objects.filter(
        status=FollowUp.Status.RESOLVED,
        recovery_sent_at__isnull=True,
        survey__customer__opted_out_at__isnull=True,
        survey__customer__suppressed_at__isnull=True,
    ).exclude(survey__customer__email="")


def recovery_unsent(*, older_than: timedelta, now: datetime) -> list[int]:
    """Cases resolved within RECOVERY_SWEEP_WINDOW (and longer than older_than ago)
    whose customer was not asked yet: their task was lost, or the send failed."""
    if not SurveyPolicy.load().recovery_survey:
        return []
    resolved = FollowUpEvent.objects.filter(
        kind=FollowUpEvent.Kind.STATUS,
        new=FollowUp.Status.RESOLVED,
        at__gte=now - RECOVERY_SWEEP_WINDOW,
        at__lt=now - older_than,
    )
    return list(
        _recovery_askable()
        .filter(pk__in=resolved.values("followup_id"))
        .values_list("pk", flat=True)[:1000]
    )


def recovery_send(*, followup_id: int, now: datetime) -> bool:
    """Ask the customer of a resolved case "Did we sort it out?", once: the case is
    claimed with a conditional UPDATE, so running this again (or the sweep) sends
    nothing. Returns whether an email went out; a failed send is released for the
    sweep to retry. Nothing goes out when the survey policy has it switched off, or
    the customer opted out or bounces."""
    policy = SurveyPolicy.load()
    if not policy.recovery_survey or not _recovery_askable().filter(pk=followup_id).exists():
        return False
    token, hashed = token_new()
    # Claimed on the case's own row: folded into the check above, the filter crosses
    # relations and Django writes UPDATE ... WHERE id IN (SELECT ...), whose "not sent
    # yet" PostgreSQL does not recheck, so two claims at once could both win.
    claimed = FollowUp.objects.filter(
        pk=followup_id, status=FollowUp.Status.RESOLVED, recovery_sent_at__isnull=True
    ).update(recovery_sent_at=now, recovery_token_hash=hashed)
    if not claimed:
        return False
    followup = _loaded(followup_id)
    try:
        recovery_email(followup=followup, token=token, policy=policy).send()
    except Exception:
        logger.exception(
            "could not send the recovery survey of follow-up %s; will retry", followup_id
        )
        FollowUp.objects.filter(pk=followup_id, recovery_token_hash=hashed).update(
            recovery_sent_at=None, recovery_token_hash=""
        )
        return False
    _event(
        followup,
        FollowUpEvent.Kind.RECOVERY_SENT,
        None,
        now,
        new=followup.survey.customer.email,
    )
    return True


def followup_for_recovery_token(*, token: str) -> FollowUp | None:
    if not token or len(token) > 100:
        return None
    return (
        FollowUp.objects.select_related("survey__ticket", "survey__customer")
        .filter(recovery_token_hash=token_hash(token))
        .exclude(recovery_token_hash="")
        .first()
    )


def recovery_answer_record(
    *, followup_id: int, recovered: bool, comment: str, now: datetime
) -> FollowUp:
    """The customer's answer sets the outcome; each answer (a change too) goes on the
    history with the comment. Raises RecoveryClosed once the link expired or the time
    to change the answer has passed."""
    with transaction.atomic():
        followup = FollowUp.objects.select_for_update().get(pk=followup_id)
        state = recovery_link_state(
            sent_at=followup.recovery_sent_at, answered_at=followup.recovery_answered_at, now=now
        )
        if state != "open":
            raise RecoveryClosed(state)
        outcome = FollowUp.Outcome.RECOVERED if recovered else FollowUp.Outcome.NOT_RECOVERED
        kind = FollowUpEvent.Kind.RECOVERY_ANSWER
        _event(followup, kind, None, now, old=followup.outcome, new=outcome, text=comment)
        changes: dict[str, Any] = {"outcome": outcome, "updated_at": now}
        if followup.recovery_answered_at is None:
            changes["recovery_answered_at"] = now
        FollowUp.objects.filter(pk=followup.pk).update(**changes)
    followup.refresh_from_db()
    return followup


def recovery_answer_of(followup: FollowUp) -> str:
    """The customer's latest answer ("recovered", "not_recovered"), "" before one."""
    event = followup.events.filter(kind=FollowUpEvent.Kind.RECOVERY_ANSWER).last()
    return event.new if event else ""
