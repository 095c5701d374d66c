"""How follow-ups react to the core's events (surveys/signals.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from surveys import signals
from surveys.models import Response, Survey

from .services import followup_discarded, followup_flag, followup_notify


@receiver(signals.answer_counted, dispatch_uid="followups_answer_counted")
@receiver(signals.answer_held, dispatch_uid="followups_answer_held")
def answer_processed(sender: Any, response: Response, now: datetime, **kwargs: Any) -> None:
    """Open the one case of the answer's survey when its answers are low (held ones
    too, marked as held), or note a changed answer on it; email its owner once."""
    followup = followup_flag(survey=response.invitation.survey, now=now)
    if followup is not None:
        followup_notify(followup_id=followup.pk, now=now)


@receiver(signals.answers_discarded, dispatch_uid="followups_answers_discarded")
def answers_discarded(sender: Any, surveys: list[Survey], now: datetime, **kwargs: Any) -> None:
    """Held answers an admin judged automated are gone: their cases say so."""
    for survey in surveys:
        followup_discarded(survey=survey, now=now)
