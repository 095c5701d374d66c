"""How follow-ups react to the core's events (surveys/signals.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from surveys import signals
from surveys.models import Response

from .services import followup_flag, followup_notify


@receiver(signals.answer_counted, dispatch_uid="followups_answer_counted")
def answer_counted(sender: Any, response: Response, now: datetime, **kwargs: Any) -> None:
    """Open the case of a low score (once per invitation) and email its owner (once)."""
    followup = followup_flag(response=response, now=now)
    if followup is not None:
        followup_notify(followup_id=followup.pk, now=now)
