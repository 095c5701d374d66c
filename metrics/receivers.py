"""How the metrics react to the core's events (surveys/signals.py): every change to
what a rollup counts refreshes the buckets it touches, in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from surveys import signals
from surveys.models import Invitation, Response, Survey

from .rollups import funnel_bucket, rollups_refresh


@receiver(signals.answer_counted, dispatch_uid="metrics_answer_counted")
def answer_counted(sender: Any, response: Response, **kwargs: Any) -> None:
    invitation = response.invitation
    rollups_refresh(survey=invitation.survey, invitation=invitation)


@receiver(signals.survey_changed, dispatch_uid="metrics_survey_changed")
def survey_changed(
    sender: Any,
    survey: Survey,
    invitation: Invitation | None,
    answered_at: datetime | None,
    **kwargs: Any,
) -> None:
    rollups_refresh(survey=survey, invitation=invitation, answered_at=answered_at)


@receiver(signals.surveys_sent, dispatch_uid="metrics_surveys_sent")
def surveys_sent(sender: Any, surveys: list[Survey], **kwargs: Any) -> None:
    """A batch of emails went out: each funnel bucket they are in is recomputed once
    (a bucket is a day and the agent, team, channel and category)."""
    buckets = {funnel_bucket(survey): survey for survey in surveys}
    for survey in buckets.values():
        rollups_refresh(survey=survey)
