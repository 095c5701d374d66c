"""The follow-up cases for the low scores, with a history like a team's: most
contacted within the service level, resolved ones asked "Did we sort it out?" and
about half of those answered."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from followups.models import FollowUp, FollowUpEvent
from followups.services import answers_text, followup_due
from surveys import scoring
from surveys.models import Response, by_question_order

from .run import BATCH, DemoRun

# Follow-ups younger than this are still open; older ones have mostly been handled.
FOLLOWUP_OPEN_DAYS = 14


def followups_write(*, run: DemoRun, responses: list[Response]) -> None:
    """One case for each survey with low scores (naming all of them), after the
    responses (answers.responses_write)."""
    by_survey: dict[int, list[Response]] = {}
    every: dict[int, list[Response]] = {}
    for r in by_question_order(responses):
        every.setdefault(r.invitation.survey_id, []).append(r)
        if scoring.is_low(
            kind=r.invitation.kind, score=r.score, scale_points=r.invitation.scale_points
        ):
            by_survey.setdefault(r.invitation.survey_id, []).append(r)
    low = sorted(by_survey.values(), key=lambda rs: rs[0].processed_at or rs[0].answered_at)
    recent = run.now - timedelta(days=FOLLOWUP_OPEN_DAYS)
    cases: list[tuple[FollowUp, list[FollowUpEvent]]] = []
    for position, answers in enumerate(low):
        response = answers[0]
        opened = response.processed_at or response.answered_at
        # The newest cases are still being worked on, however small the demo.
        is_open = opened > recent or position >= len(low) - 3
        if is_open:
            status = run.rng.choice(("new", "new", "contacted", "contacted", "new"))
        else:
            status = run.rng.choices(("resolved", "no_action", "contacted"), (65, 30, 5))[0]
        invitation = response.invitation
        reason, seen = answers_text(answers), answers_text(every[invitation.survey_id])
        case = FollowUp(
            survey=invitation.survey,
            owner=invitation.survey.agent,
            status=status,
            reason=reason,
            answers_seen=seen,
            created_at=opened,
            updated_at=opened,
            owner_notified_at=opened,
            due_at=followup_due(survey=invitation.survey, opened=opened),
        )
        events = [FollowUpEvent(kind=FollowUpEvent.Kind.OPENED, at=opened, new=case.reason)]
        if status != "new":
            contacted = min(opened + run.lognormal_minutes(10 * 60, 1.0), run.now)
            case.first_contacted_at = case.updated_at = contacted
            agent = invitation.survey.agent
            events.append(_event("status", agent, contacted, "new", "contacted"))
        if status in ("resolved", "no_action"):
            closed = min(case.updated_at + run.lognormal_minutes(6 * 60, 1.0), run.now)
            case.updated_at = closed
            events.append(_event("status", invitation.survey.agent, closed, "contacted", status))
        if status == "resolved":
            _recovery(run, case, events)
        cases.append((case, events))
    FollowUp.objects.bulk_create([case for case, _events in cases], batch_size=BATCH)
    for case, events in cases:
        for event in events:
            event.followup = case
    FollowUpEvent.objects.bulk_create(
        [event for _case, events in cases for event in events], batch_size=BATCH
    )


def _event(kind: str, actor: Any, at: datetime, old: str, new: str) -> FollowUpEvent:
    return FollowUpEvent(kind=kind, actor=actor, at=at, old=old, new=new)


def _recovery(run: DemoRun, case: FollowUp, events: list[FollowUpEvent]) -> None:
    """The customer is asked once the case is resolved; about half answer, most of
    them that it was sorted out."""
    asked = case.updated_at
    case.recovery_sent_at = asked
    events.append(
        FollowUpEvent(
            kind=FollowUpEvent.Kind.RECOVERY_SENT,
            at=asked,
            new=case.survey.customer.email,
        )
    )
    answered = asked + run.lognormal_minutes(8 * 60, 1.2)
    if run.rng.random() < 0.45 or answered > run.now:
        return
    outcome = "recovered" if run.rng.random() < 0.7 else "not_recovered"
    case.recovery_answered_at, case.outcome = answered, outcome
    events.append(FollowUpEvent(kind=FollowUpEvent.Kind.RECOVERY_ANSWER, at=answered, new=outcome))
