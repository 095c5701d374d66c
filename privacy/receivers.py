"""Staff sign-ins go on the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .audit import audit_record, staff_actor
from .models import AuditEvent


@receiver(user_logged_in, dispatch_uid="privacy_signed_in")
def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    path = getattr(request, "path", "") if request is not None else ""
    audit_record(
        action=AuditEvent.Action.SIGNED_IN,
        actor=staff_actor(user),
        user=user,
        via="admin" if path.startswith("/admin/") else "sign-in page",
        detail={"staff": bool(user.is_staff)},
    )
