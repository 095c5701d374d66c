"""The audit trail: one row per erasure, export, retention change or run, and sign-in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from .models import AuditEvent


def audit_record(
    *,
    action: str,
    actor: str,
    via: str,
    user: Any = None,
    customer_id: int | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Put one action on the audit trail. `detail` holds counts and field names only:
    never an address, a name or a comment."""
    return AuditEvent.objects.create(
        at=now or timezone.now(),
        action=action,
        user=user if user is not None and user.is_authenticated else None,
        actor=actor[:200],
        via=via,
        customer_id=customer_id,
        detail=detail or {},
    )


def staff_actor(user: Any) -> str:
    """How a staff member is named on the trail: their username."""
    return user.get_username() if user is not None and user.is_authenticated else "anonymous"
