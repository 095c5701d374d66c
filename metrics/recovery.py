"""The "Did we sort it out?" recovery survey and the recovery report.

When a case is resolved the customer is asked once, in their language, with a
one-click Yes and No; the answer sets the case's outcome. The report counts cases
opened, the share first contacted by the due time, the median time to first
contact and the recovery rate.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from surveys.models import SurveyPolicy
from surveys.rules import SUPPORTED_LANGUAGES
from surveys.tokens import token_hash, token_new

from . import formulas
from .followups import _event, _loaded
from .models import FollowUp, FollowUpEvent
from .selectors import ReportFilters

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


def recovery_enqueue(followup_id: int) -> None:
    """Queue the recovery survey of a case (its sweep sends it if the broker is away)."""
    from .tasks import recovery_send

    recovery_send.delay(followup_id)


def _recovery_askable() -> QuerySet[FollowUp]:
    """Resolved cases not yet asked whose customer still takes survey emails."""
    return FollowUp.objects.filter(
        status=FollowUp.Status.RESOLVED,
        recovery_sent_at__isnull=True,
        invitation__customer__opted_out_at__isnull=True,
        invitation__customer__suppressed_at__isnull=True,
    ).exclude(invitation__customer__email="")


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


def recovery_language(followup: FollowUp) -> str:
    """The language the customer of a case is asked in: theirs if Kundpuls speaks it,
    else English."""
    locale = followup.invitation.customer.locale
    return locale if locale in SUPPORTED_LANGUAGES else "en"


def recovery_email(
    *, followup: FollowUp, token: str, policy: SurveyPolicy
) -> EmailMultiAlternatives:
    """The recovery question with a one-click Yes and No, in the customer's language."""
    from surveys.emails import absolute, brand_context, unsubscribe_url

    invitation = followup.invitation
    customer = invitation.customer
    url = absolute(reverse("metrics:recovery", args=[token]))
    context = {
        **brand_context(policy),
        "customer_name": customer.name.split(" ")[0] if customer.name else "",
        "subject": invitation.ticket.subject or str(invitation.ticket),
        "recovery_url": url,
        "yes_url": f"{url}?answer=yes",
        "no_url": f"{url}?answer=no",
        "unsubscribe_url": unsubscribe_url(customer),
    }
    with translation.override(recovery_language(followup)):
        subject = " ".join(render_to_string("emails/recovery-subject.txt", context).split())
        text = render_to_string("emails/recovery-body.txt", context)
        html = render_to_string("emails/recovery-body.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[customer.email])
    message.attach_alternative(html, "text/html")
    message.extra_headers = {
        "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "X-Kundpuls-Followup": str(followup.pk),
    }
    return message


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
        new=followup.invitation.customer.email,
    )
    return True


def followup_for_recovery_token(*, token: str) -> FollowUp | None:
    if not token or len(token) > 100:
        return None
    return (
        FollowUp.objects.select_related("invitation__ticket", "invitation__customer")
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


# --- Recovery report -----------------------------------------------------------------


def recovery_row(name: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Cases opened, % first contacted by the due time, median time to first contact,
    and the recovery rate: customers who answered "Did we sort it out?" with yes, of
    those who answered (their latest answer; an outcome set by hand does not count).
    Pure: takes FollowUp values with their "recovery_answer"."""
    contacted = [c for c in cases if c["first_contacted_at"] is not None]
    in_time = [
        c for c in contacted if c["due_at"] is None or c["first_contacted_at"] <= c["due_at"]
    ]
    waits = [(c["first_contacted_at"] - c["created_at"]).total_seconds() for c in contacted]
    answered = [c for c in cases if c["recovery_answer"]]
    recovered = [c for c in answered if c["recovery_answer"] == FollowUp.Outcome.RECOVERED]
    return {
        "name": name,
        "opened": len(cases),
        "in_time_count": len(in_time),
        "in_time": formulas.percent(len(in_time), len(cases)),
        "median_wait": timedelta(seconds=median(waits)) if waits else None,
        "answered": len(answered),
        "recovered": len(recovered),
        "recovery_rate": formulas.percent(len(recovered), len(answered)),
    }


def recovery_cases(*, start: datetime, end: datetime, **dimensions: Any) -> list[dict[str, Any]]:
    """The values recovery_row needs, of the cases opened from start up to (not
    including) end; dimensions filter FollowUp (e.g. invitation__team_id=3)."""
    latest_answer = FollowUpEvent.objects.filter(
        followup=OuterRef("pk"), kind=FollowUpEvent.Kind.RECOVERY_ANSWER
    ).order_by("-at", "-pk")
    return list(
        FollowUp.objects.filter(created_at__gte=start, created_at__lt=end, **dimensions)
        .annotate(recovery_answer=Subquery(latest_answer.values("new")[:1]))
        .values(
            "created_at",
            "due_at",
            "first_contacted_at",
            "recovery_answer",
            "owner__email",
            "owner__first_name",
            "owner__last_name",
            "invitation__team__name",
        )
    )


def recovery_figures(*, filters: ReportFilters) -> dict[str, Any]:
    """recovery_row of every case opened in the filters' days, for the dashboard:
    narrowed like its other figures (the ticket's team, agent, channel and category)."""
    start, end = filters.bounds()
    cases = recovery_cases(start=start, end=end, **filters.lookups("invitation__"))
    return recovery_row("All", cases)


def recovery_report(*, start: datetime, end: datetime) -> dict[str, list[dict[str, Any]]]:
    """The recovery figures per agent (case owner) and per team, for cases opened
    from start up to (not including) end."""
    cases = recovery_cases(start=start, end=end)
    report: dict[str, list[dict[str, Any]]] = {}
    for label, name_of in (("agents", _owner_name), ("teams", _team_name)):
        groups: dict[str, list[dict[str, Any]]] = {}
        for case in cases:
            groups.setdefault(name_of(case), []).append(case)
        report[label] = [
            recovery_row(name, rows) for name, rows in sorted(groups.items(), key=_by_name)
        ]
    report["total"] = [recovery_row("All", cases)]
    return report


def _owner_name(case: dict[str, Any]) -> str:
    name = f"{case['owner__first_name']} {case['owner__last_name']}".strip()
    return name or case["owner__email"] or "(no owner)"


def _team_name(case: dict[str, Any]) -> str:
    return case["invitation__team__name"] or "(no team)"


def _by_name(item: tuple[str, Any]) -> str:
    return item[0].lower()
