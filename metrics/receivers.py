"""How the metrics react to the core's events (surveys/signals.py): every change to
what a rollup counts refreshes the buckets it touches, in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from surveys import signals
from surveys.models import Invitation, Response

from .rollups import rollups_refresh


@receiver(signals.answer_counted, dispatch_uid="metrics_answer_counted")
def answer_counted(sender: Any, response: Response, **kwargs: Any) -> None:
    rollups_refresh(invitation=response.invitation)


@receiver(signals.invitation_changed, dispatch_uid="metrics_invitation_changed")
def invitation_changed(
    sender: Any, invitation: Invitation, answered_at: datetime | None, **kwargs: Any
) -> None:
    rollups_refresh(invitation=invitation, answered_at=answered_at)
