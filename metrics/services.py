"""The business figures an admin enters for each month."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils import timezone

from .models import BusinessFigures


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
