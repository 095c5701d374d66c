"""Processing an answer (follow-up, metric refresh), and the business figures."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from surveys.models import Response

from .followups import followup_flag, followup_notify
from .models import BusinessFigures
from .rollups import rollups_refresh

logger = logging.getLogger(__name__)


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


def responses_unprocessed(*, older_than: timedelta, now: datetime) -> list[int]:
    return list(
        Response.objects.filter(processed_at__isnull=True, updated_at__lt=now - older_than)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:1000]
    )


def business_figures_save(
    *, values: dict[str, Any], user: Any = None, now: datetime | None = None
) -> BusinessFigures:
    """Create or replace the business figures of one month (values["month"])."""
    month: date = values["month"].replace(day=1)
    fields = {k: v for k, v in values.items() if k != "month"}
    figures, _created = BusinessFigures.objects.update_or_create(
        month=month, defaults={**fields, "updated_at": now or timezone.now(), "updated_by": user}
    )
    return figures
